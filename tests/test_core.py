"""The core: seed cleaning, sentence splitting, incremental index, answers and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ARTICLE, ROOT

from assistant import Answer, Assistant, Citation, Settings, answer, build_index
from assistant.answering.langchain_retriever import HybridRetriever
from assistant.errors import BadQuestionError, NoSeedsError
from assistant.ingest.cleaning import parse_document
from assistant.ingest.passages import split_sentences
from assistant.ingest.seeds import load_seeds


def test_public_api_is_small_and_lazy() -> None:
    code = (
        "import assistant, sys; print(sorted(assistant.__all__)); "
        "print('torch' in sys.modules, 'chromadb' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'Answer', 'Assistant', 'Citation'" in out and "'answer', 'build_index'" in out
    assert out.strip().endswith("False False")  # importing the package loads no heavy library


def test_article_boilerplate_is_left_out_but_title_and_date_are_kept() -> None:
    docs, problems = load_seeds(ARTICLE.parent, 2**24)
    doc = next(d for d in docs if d.source == ARTICLE.name)
    assert problems == []
    assert "Missile Sales Drive Intense Rivalry Between Two Koreas" in doc.title
    assert doc.date == "Updated 11:29 AM EDT, Tue, Jun 16, 2020"
    body = " ".join(doc.text[s:e] for s, e in doc.body)
    for junk in ("Make CT Your Homepage", "Like Us on Facebook", "Real Time Analytics", "Photo : Reuters"):
        assert junk not in body
    assert "136 PAC-3 missiles" in body
    assert doc.text[doc.date_span[0] : doc.date_span[1]] == doc.date


def test_cleaning_rules_are_general() -> None:
    page = (
        "Share this article\n\nCity Council Approves New Park Budget\n\nPublished March 3, 2021\n\n"
        "(Photo: Jane Doe/Getty Images)\n\nThe council voted 7-2 on Monday to fund the park.\n\n"
        "Follow us on Twitter\n\nThe park will open in 2023, officials said.\n"
    )
    doc = parse_document("park.txt", page, "x")
    assert doc.title == "City Council Approves New Park Budget"
    assert doc.date == "Published March 3, 2021"
    body = [page[s:e] for s, e in doc.body]
    assert body == [
        "The council voted 7-2 on Monday to fund the park.",
        "The park will open in 2023, officials said.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The U.S. Army paid $1.405 billion. It was late.",
            ["The U.S. Army paid $1.405 billion.", "It was late."],
        ),
        ("Mr. J. K. Rowling spoke. She left.", ["Mr. J. K. Rowling spoke.", "She left."]),
        ('He said "it is done." Then he left.', ['He said "it is done."', "Then he left."]),
        ("It moved to the U.S. The next day it rained.", ["It moved to the U.S.", "The next day it rained."]),
        (
            "Costs\u00a0rose 5.5% in Jan. 2020 to a record. Prices fell.",
            ["Costs\u00a0rose 5.5% in Jan. 2020 to a record.", "Prices fell."],
        ),
    ],
)
def test_sentence_splitter(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in split_sentences(text, (0, len(text)))] == expected


def test_lower_case_text_splits_too() -> None:
    text = "the deal was worth $3.5m. it was signed by mr. blair on monday. he left."
    got = [text[a:b] for a, b in split_sentences(text, (0, len(text)), lower_case=True)]
    assert got == ["the deal was worth $3.5m.", "it was signed by mr. blair on monday.", "he left."]


def test_build_is_incremental(make_settings) -> None:
    settings = make_settings(
        {
            "a.txt": "Alpha Report\n\nThe alpha plant makes 40 tonnes of steel a day.\n",
            "b.md": "# Beta Report\n\nThe beta mine closed in 1998 after a flood.\n",
        }
    )
    first = build_index(settings)
    assert (first.added, first.updated, first.removed, first.unchanged) == (2, 0, 0, 0)
    assert first.chunks >= 2
    again = build_index(settings)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 2)
    assert not again.changed
    (settings.seeds_dir / "a.txt").write_text("Alpha Report\n\nThe alpha plant now makes 55 tonnes a day.\n")
    (settings.seeds_dir / "b.md").unlink()
    (settings.seeds_dir / "c.txt").write_text("Gamma Report\n\nThe gamma port handled 3 million boxes.\n")
    third = build_index(settings)
    assert (third.added, third.updated, third.removed, third.unchanged) == (1, 1, 1, 0)
    result = answer("How many tonnes does the alpha plant make a day?", settings=settings)
    assert "55 tonnes" in result.text and not result.abstained
    assert all(
        c.source != "b.md" for c in answer("When did the beta mine close?", settings=settings).citations
    )


def test_model_or_splitter_change_rebuilds_from_scratch(make_settings) -> None:
    settings = make_settings({"a.txt": "Alpha Report\n\nThe alpha plant makes 40 tonnes of steel a day.\n"})
    build_index(settings)
    report = build_index(settings.model_copy(update={"passage_chars": 300}))
    assert report.rebuilt and report.updated == 1


def test_answer_shape_and_citations(article_settings: Settings) -> None:
    result = answer("How much is the sale worth?", settings=article_settings)
    assert isinstance(result, Answer) and isinstance(result.citations[0], Citation)
    assert "$1.405 billion" in result.text and "[1]" in result.text
    c = result.citations[0]
    source = (article_settings.seeds_dir / c.source).read_text(encoding="utf-8")
    assert source[c.start : c.end] == c.quote
    assert c.title.endswith("Rivalry Between Two Koreas") and c.date
    with pytest.raises(AttributeError):
        result.text = "changed"  # type: ignore[misc]
    assert json.loads(json.dumps(result.to_dict()))["citations"][0]["quote"] == c.quote


def test_follow_up_uses_history(article_settings: Settings) -> None:
    history = [
        {"role": "user", "content": "How many missiles were approved?"},
        {"role": "assistant", "content": "136 PAC-3 missiles. [1]"},
    ]
    assert (
        "$1.405 billion"
        in answer("How much are they worth?", history=history, settings=article_settings).text
    )


@pytest.mark.parametrize("question", ["", "   ", "\x00\x07\x1b", "?!", "x" * 100_000])
def test_bad_questions_get_a_clear_message(question: str, article_settings: Settings) -> None:
    with pytest.raises(BadQuestionError) as err:
        answer(question, settings=article_settings)
    assert "question" in str(err.value).lower()


def test_control_characters_inside_a_question_are_ignored(article_settings: Settings) -> None:
    assert "136" in answer("How many\x00 missiles\x1b were approved?\x07", settings=article_settings).text


def test_bad_seeds_are_skipped_by_name(make_settings) -> None:
    settings = make_settings(
        {
            "good.txt": "Good News\n\nThe good bridge opened in May with four lanes.\n",
            "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR",
            "noise.txt": bytes(range(0x80, 0xE4)),  # no NUL, yet no encoding fits (Latin-1 would be read)
            "empty.md": "  \n",
        }
    )
    report = build_index(settings)
    assert report.added == 1
    reasons = "\n".join(report.skipped)
    assert (
        "binary.txt: binary" in reasons
        and "noise.txt: not valid UTF-8" in reasons
        and "empty.md: empty" in reasons
    )


def test_no_seeds_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NoSeedsError, match="assistant index"):
        build_index(Settings(seeds_dir=tmp_path / "nothing", index_dir=tmp_path / "index"))


def test_retriever_serves_langchain_chains(article_settings: Settings) -> None:
    retriever = HybridRetriever(searcher=Assistant(article_settings).searcher, k=3)
    docs = retriever.invoke("Mark Lippert naval officer")
    assert len(docs) == 3 and any("Iraq" in d.page_content for d in docs)
    assert docs[0].metadata["source"].endswith(".txt")


def test_cli_ask_json_and_clean_errors(article_settings: Settings) -> None:
    cli = [sys.executable, "-m", "assistant.cli"]
    opts = ["--seeds", str(article_settings.seeds_dir), "--index", str(article_settings.index_dir)]
    out = subprocess.run(
        [*cli, "ask", "--json", *opts, "How many missiles were approved?"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert "136" in json.loads(out.stdout)["text"]
    bad = subprocess.run([*cli, "ask", *opts, ""], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "empty" in bad.stderr
    rebuilt = subprocess.run([*cli, "index", "--quiet", *opts], capture_output=True, text=True, cwd=ROOT)
    assert rebuilt.returncode == 0 and "1 unchanged" in rebuilt.stdout


def test_questions_about_the_article_itself(article_settings: Settings) -> None:
    gist = answer("What is this article about?", settings=article_settings)
    assert not gist.abstained and "Rivalry Between Two Koreas" in gist.text and "approved" in gist.text
    assert "Jun 16, 2020" in answer("When was it published?", settings=article_settings).text


def test_an_answer_is_not_padded_with_the_headline_or_the_date(make_settings) -> None:
    settings = make_settings(
        {
            "library.txt": "Riverside Library Reopens After Flood Repairs\n\nMarch 2, 2022\n\n"
            "The Riverside library reopened on Monday after flood repairs that cost $2.3 million. "
            "The ground floor was rebuilt with a new children's room. Volunteers moved 40,000 books "
            "back onto the shelves over the weekend.\n",
        }
    )
    reply = answer("How much did the flood repairs cost?", settings=settings)
    assert "$2.3 million" in reply.text
    quotes = [c.quote for c in reply.citations]
    assert "Riverside Library Reopens After Flood Repairs" not in quotes, quotes
    assert "March 2, 2022" not in quotes, quotes
    # Asked for, the headline and the date are still the answer.
    assert "March 2, 2022" in answer("When was it published?", settings=settings).text


def test_when_something_in_the_story_was_published_is_not_the_story_s_own_date(make_settings) -> None:
    """ "When did the council publish its report?" asks about the report the story tells of: its date is
    in the body, not the dateline (which answers "When was the article published?")."""
    settings = make_settings(
        {
            "bridge.txt": "Council Backs Kelburn Bridge Repairs\n\nMarch 2, 2022\n\n"
            "The city council voted on Monday to repair the Kelburn Bridge. Its engineers first published "
            "their survey of the bridge in 2019, warning that the deck was failing. The band Harbour Lights "
            "released an album about the bridge in 2015.\n",
        }
    )
    for question in (
        "In what year did the engineers publish their survey?",
        "When was the album about the bridge released?",
    ):
        reply = answer(question, settings=settings)
        assert "March 2, 2022" not in reply.text, (question, reply.text)
    for question in (
        "When was the article published?",
        "When was it last updated?",
        "What year was it published?",
    ):
        assert "March 2, 2022" in answer(question, settings=settings).text, question


def test_the_dateline_is_not_read_as_the_answer_to_a_question_about_the_news(make_settings) -> None:
    """A question for a date or a period the story never gives is not answered with the dateline or
    the headline (they answer questions about the document: "When was it published?")."""
    settings = make_settings(
        {
            "library.txt": "Riverside Library Reopens After Flood Repairs\n\nMarch 2, 2022\n\n"
            "The Riverside library reopened on Monday after flood repairs that cost $2.3 million. "
            "The ground floor was rebuilt with a new children's room.\n",
        }
    )
    for question in ("Over what period will the bond be repaid?", "When will the second floor reopen?"):
        reply = answer(question, settings=settings)
        quotes = [c.quote for c in reply.citations]
        assert "March 2, 2022" not in quotes and "March 2, 2022" not in reply.text, (question, reply.text)
        assert "Riverside Library Reopens After Flood Repairs" not in quotes, (question, quotes)
    assert "March 2, 2022" in answer("What date is on the article?", settings=settings).text


def test_an_answer_quotes_one_story_not_another_storys_lines_beside_it(make_settings) -> None:
    settings = make_settings(
        {
            "fares.txt": "Ferry fares to rise\n\nSingle tickets on the island ferry will rise by 5 euros "
            "from June, the operator said on Friday. The operator blamed the rising cost of fuel.\n",
            "harbour.txt": "Harbour to close\n\nFishing boats will move to the north quay while the "
            "harbour is repaired. Ferries will keep their usual timetable from the passenger terminal, "
            "the authority said. The repairs will take six weeks.\n",
        }
    )
    reply = answer("How much will ferry fares rise?", settings=settings)
    assert "5 euros" in reply.text
    assert {c.source for c in reply.citations} == {"fares.txt"}, reply.text


def test_a_fact_in_a_markdown_table_is_answered_and_read_without_pipes(make_settings) -> None:
    settings = make_settings(
        {
            "hoddle.md": "# Hoddle named Wolves manager\n\n"
            "Glenn Hoddle was named Wolves manager on Wednesday, "
            "the club said, ending months of talks.\n\n## Career\n\n| Club | Role | Notes |\n|---|---|---|\n"
            "| Swindon | Player-manager | His first managerial job, from 1991 |\n"
            "| Chelsea | Manager | Reached the 1994 FA Cup final |\n"
        }
    )
    reply = answer("Where did Hoddle get his first managerial job?", settings=settings)
    assert "Swindon · Player-manager · His first managerial job, from 1991" in reply.text, reply.text
    row = next(c for c in reply.citations if "Swindon" in c.quote)
    assert row.quote == "| Swindon | Player-manager | His first managerial job, from 1991 |"  # exact source


def test_the_precision_follows_the_cpu_and_the_setting(tmp_path: Path) -> None:
    """bf16 only where the CPU computes it natively, for batches; a question's embedding in fp32."""
    import numpy as np

    from assistant.environment import cpu_flags, native_bf16, resolve_precision
    from assistant.indexing.embedding import BF16_MIN_BATCH, Embedder

    flags = tmp_path / "cpuinfo"
    flags.write_text("flags\t\t: fpu sse avx512f avx512_bf16 amx_bf16\n")
    assert {"avx512_bf16", "amx_bf16"} <= cpu_flags(flags)
    assert resolve_precision("auto") == ("bf16" if native_bf16() else "fp32")
    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    auto, fp32 = Embedder(precision="auto"), Embedder(precision="fp32")
    assert auto.path(1) == "fp32" and fp32.path(BF16_MIN_BATCH) == "fp32"
    assert auto.path(BF16_MIN_BATCH) == resolve_precision("auto")
    texts = [f"Sentence number {i} of a news story about the harbour." for i in range(BF16_MIN_BATCH)]
    a, b = auto.encode(texts), fp32.encode(texts)
    assert a.dtype == np.float32 and float((a * b).sum(axis=1).min()) >= 0.999
