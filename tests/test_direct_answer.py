"""The extractive answer's direct answer, the neighbour sentence it leans on, and related reading."""

from __future__ import annotations

from conftest import ARTICLE

from assistant import Settings, answer

AMBASSADOR = (
    "Envoy named for the northern coast\n\n"
    "The newly installed ambassador comes from a defense background and is believed to know the "
    "region well. Laura Benitez served as chief of staff to the defence minister before her posting. "
    "The embassy reopened last spring after two years of repairs.\n"
)


def test_a_figure_is_given_first_and_marked_inside_its_quote(article_settings: Settings) -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    for question, phrase in (("How much is the sale worth?", "$1.405 billion"),
                             ("How many missiles were approved?", "136")):  # fmt: skip
        result = answer(question, settings=article_settings)
        assert result.short_answer == phrase, (question, result.short_answer)
        marked = [c for c in result.citations if c.answer_start is not None]
        assert len(marked) == 1 and text[marked[0].answer_start : marked[0].answer_end] == phrase
        assert marked[0].start <= marked[0].answer_start < marked[0].answer_end <= marked[0].end


def test_no_direct_answer_where_the_question_asks_for_no_figure(article_settings: Settings) -> None:
    result = answer("Why did South Korea choose the PAC-3?", settings=article_settings)
    assert result.short_answer is None and all(c.answer_start is None for c in result.citations)


def test_an_abstention_points_to_related_reading_not_evidence(article_settings: Settings) -> None:
    result = answer("Who won the 2018 World Cup?", settings=article_settings)
    assert result.abstained and result.citations == () and result.short_answer is None
    assert result.related and all(r.quote for r in result.related)


def test_a_quote_that_only_describes_someone_brings_the_sentence_that_names_them(make_settings) -> None:
    settings = make_settings({"envoy.txt": AMBASSADOR})
    result = answer("Who is the new ambassador?", settings=settings)
    assert "Laura Benitez" in result.text and "defense background" in result.text
