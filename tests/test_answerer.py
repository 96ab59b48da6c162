"""The learned extractive answerer: shipped parameters, ranking, confidence and the abstention setting."""

from __future__ import annotations

import json

import pytest

from assistant import Settings, answer
from assistant.answering.extractive import CONFIDENCE_FEATURES
from assistant.answering.features import SENTENCE_FEATURES
from assistant.answering.scorer import PARAMETERS, load_parameters, sigmoid


def test_shipped_parameters_load_and_match_the_feature_code() -> None:
    params = load_parameters()
    assert params.sentence.features == SENTENCE_FEATURES
    assert params.confidence.features == CONFIDENCE_FEATURES
    assert 0.0 < params.min_confidence < 1.0
    # The file carries the out-of-fold figures it was judged on; the threshold keeps the budget.
    held_out = json.loads(PARAMETERS.read_text(encoding="utf-8"))["held_out"]
    assert held_out["all"]["false_abstention"] <= 0.05


def test_the_sentence_model_prefers_a_sentence_that_covers_the_question() -> None:
    """A known case: one sentence covers the question's words and meaning and holds the kind of
    answer asked for; the other does none of that."""
    model = load_parameters().sentence
    good = dict.fromkeys(SENTENCE_FEATURES, 0.0) | {
        "dense": 0.7, "passage_dense": 0.6, "words": 1.0, "passage_words": 1.0, "soft": 1.0, "soft_min": 1.0,
        "near_soft": 0.5, "type_found": 1.0, "rank": 1.0,
    }  # fmt: skip
    bad = good | {
        "dense": 0.1,
        "words": 0.0,
        "soft": 0.3,
        "soft_min": 0.1,
        "type_found": 0.0,
        "type_missing": 1.0,
    }
    assert sigmoid(model.logit(list(good.values()))) > 0.5 > sigmoid(model.logit(list(bad.values())))


def test_a_broken_parameters_file_names_itself_and_the_fix(tmp_path) -> None:
    from assistant.errors import AssistantError

    broken = tmp_path / "answerer.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(AssistantError, match=r"answerer\.json.*python -m training\.train_answerer"):
        load_parameters(broken)


def test_answers_carry_a_confidence_and_abstentions_fall_below_the_threshold(
    article_settings: Settings,
) -> None:
    sure = answer("How many PAC-3 missiles is South Korea buying?", settings=article_settings)
    assert not sure.abstained and "136" in sure.text
    assert sure.confidence is not None and sure.confidence >= load_parameters().min_confidence
    # Below the threshold the same question abstains, the closest passage only as related reading.
    stricter = article_settings.model_copy(update={"min_confidence": min(1.0, sure.confidence + 0.01)})
    unsure = answer("How many PAC-3 missiles is South Korea buying?", settings=stricter)
    assert unsure.abstained and unsure.citations == () and "[" not in unsure.text
    assert unsure.confidence == sure.confidence
    assert len(unsure.related) == 1 and "136" in unsure.related[0].quote


@pytest.mark.parametrize("threshold, abstains", [(0.0, False), (1.0, True)])
def test_min_confidence_is_the_abstention_setting(article_settings: Settings, threshold, abstains) -> None:
    settings = article_settings.model_copy(update={"min_confidence": threshold})
    assert answer("Which missiles did South Korea choose?", settings=settings).abstained is abstains


MARKDOWN_NOTE = """# Reuters and the AI companies

Reuters
[became a publisher partner for Microsoft's Copilot in October 2024](https://example.com/platforms/ai-deals/#h-reuters)
, meaning the product can pull from its content to give a daily news summary.

The agency has focused its licensing deals on its text archive, Steve Hasker told a summit in London.
"""


def test_a_markdown_link_reads_as_its_text_while_the_citation_stays_exact(make_settings) -> None:
    """Readers see a link's words, not its address: the answer shows "in October 2024, meaning"
    (no URL eating the length budget or gluing "2024](https" into one word), and the citation
    still quotes the file's exact text at its offsets."""
    settings = make_settings({"note.md": MARKDOWN_NOTE})
    result = answer("When did Reuters become a partner for Microsoft's Copilot?", settings=settings)
    assert not result.abstained
    assert "in October 2024, meaning the product" in result.text
    assert "https://" not in result.text and "](" not in result.text
    source = (settings.seeds_dir / "note.md").read_bytes().decode("utf-8")
    first = result.citations[0]
    assert source[first.start : first.end] == first.quote
    assert "](https://example.com" in first.quote


def test_readable_text_keeps_a_dot_that_starts_a_word() -> None:
    from assistant.answering.compose import readable

    assert readable("Microsoft's .NET platform and a .45-calibre gun , he said .") == (
        "Microsoft's .NET platform and a .45-calibre gun, he said."
    )
    assert (
        readable('See [the report](https://example.com/r "Report") for more.') == "See the report for more."
    )
