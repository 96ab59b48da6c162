"""Tests of `assistant eval`: loaders, metrics, formatting, and one real end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import AssistantError
from assistant.eval import evaluate
from assistant.eval.evaluate import (
    EvalQuestion,
    QuestionResult,
    contains_answer,
    format_misses,
    format_table,
    in_split,
    load_questions,
    normalize_answer,
    percentile,
    run_eval,
    score,
    summarise,
)
from assistant.results import Answer, Citation
from assistant.settings import Settings

ZORBANIA = [
    "The capital of Zorbania is Veltmark. Veltmark sits on the river Osk and has about 40,000 people.",
    "Zorbania's national dish is roasted turnip stew, served every winter at the Frost Fair.",
]


def squad(*articles: tuple[str, list[str], list[dict[str, Any]]]) -> dict[str, Any]:
    """A SQuAD v2.0 document; each article's questions are attached to its first paragraph."""
    data = []
    for title, contexts, qas in articles:
        paragraphs = [{"context": c, "qas": qas if i == 0 else []} for i, c in enumerate(contexts)]
        data.append({"title": title, "paragraphs": paragraphs})
    return {"version": "v2.0", "data": data}


def qa(question: str, *answers: str) -> dict[str, Any]:
    return {
        "question": question,
        "id": question[:8],
        "answers": [{"text": a, "answer_start": 0} for a in answers],
        "is_impossible": not answers,
    }


def write(path: Path, content: str | dict[str, Any]) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def citation(source: str, quote: str, start: int, number: int = 1) -> Citation:
    return Citation(number, source, "T", quote, start, start + len(quote), 0.9)


def reply(text: str, *citations: Citation, abstained: bool = False) -> Answer:
    return Answer("q?", text, tuple(citations), abstained)


# --- loaders -----------------------------------------------------------------------------------


def test_load_jsonl(tmp_path: Path) -> None:
    lines = [
        {"question": "Who sold what?", "answers": ["the US", "United States"]},
        {"question": "What colour is the sky on Mars?", "unanswerable": True},
        {
            "question": "How much was it worth?",
            "answers": ["$1 billion"],
            "history": [
                {"role": "user", "content": "Who sold?"},
                {"role": "assistant", "content": "The US."},
            ],
        },
    ]
    path = write(tmp_path / "q.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    loaded = load_questions(path)
    assert loaded.format == "jsonl" and loaded.documents == {}
    assert [q.question for q in loaded.questions] == [x["question"] for x in lines]
    assert loaded.questions[0].answers == ("the US", "United States")
    assert loaded.questions[1].answers == ()
    assert loaded.questions[2].history[1] == {"role": "assistant", "content": "The US."}


def test_load_squad_makes_one_seed_per_article(tmp_path: Path) -> None:
    doc = squad(
        ("Zorbania_Facts", ZORBANIA, [qa("Capital?", "Veltmark", "Veltmark", "veltmark"), qa("King?")]),
        ("Other", ["One paragraph."], [qa("What?", "One")]),
        ("Other", ["Same title, another article."], []),
    )
    loaded = load_questions(write(tmp_path / "dev.json", doc))
    assert loaded.format == "squad"
    assert sorted(loaded.documents) == ["other-2.txt", "other.txt", "zorbania-facts.txt"]
    text = loaded.documents["zorbania-facts.txt"]
    # Title first (underscores become spaces), a blank line, then paragraphs separated by blank lines.
    assert text == f"Zorbania Facts\n\n{ZORBANIA[0]}\n\n{ZORBANIA[1]}\n"
    assert [q.answers for q in loaded.questions] == [("Veltmark", "veltmark"), (), ("One",)]


def test_format_is_detected_by_content_not_extension(tmp_path: Path) -> None:
    assert (
        load_questions(write(tmp_path / "a.jsonl", squad(("T", ["C."], [qa("Q?", "C")])))).format == "squad"
    )
    one_line = write(tmp_path / "b.json", json.dumps({"question": "Q?", "answers": ["A"]}))
    assert load_questions(one_line).format == "jsonl"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "empty"),
        ('{"question": "Q?", "answers": ["A"]}\nnot json\n', "line 2 is not JSON"),
        ('{"answers": ["A"]}\n', '"question"'),
        ('{"question": "Q?"}\n', "unanswerable"),
        ('{"question": "Q?", "answers": ["A"], "unanswerable": true}\n', "either"),
        ('{"question": "Q?", "answers": "A"}\n', '"answers": Input should be a valid array'),
        ('{"question": "Q?", "answers": [" "]}\n', '"answers": answers must be non-empty strings'),
        ('{"question": "Q?", "unanswerable": true, "history": [{"role": "bot", "content": "x"}]}', "history"),
        ('{"question": "Q?", "unanswerable": true, "history": [{"role": "user", "content": 3}]}', "history"),
        ('{"question": "Q?", "unanswerable": true, "history": "hi"}', "history"),
        ('["Q?"]\n', '"question"'),
        ('{"data": [{"title": "T"}]}', "SQuAD"),
        ('{"data": [{"title": "T", "paragraphs": []}]}', "no qas"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path: Path, content: str, says: str) -> None:
    path = write(tmp_path / "bad-set.jsonl", content)
    with pytest.raises(AssistantError) as caught:
        load_questions(path)
    assert str(path) in str(caught.value) and says in str(caught.value)
    assert "}}" not in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AssistantError, match=r"nope\.jsonl"):
        load_questions(tmp_path / "nope.jsonl")


# --- metrics -----------------------------------------------------------------------------------


def test_normalisation_follows_squad() -> None:
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("U.S. $1,000") == "us 1000"


def test_contains_answer_matches_whole_words_and_ignores_markers() -> None:
    assert contains_answer("It was sold to the Koreans [1].", "Koreans")
    assert contains_answer("In the 10th and 11th centuries [2]", "10th and 11th centuries")
    assert not contains_answer("About 100 people [1].", "10")
    assert not contains_answer("It happened in 1990 [1].", "1")  # a marker's number is not an answer
    assert not contains_answer("Anything at all.", "the")  # empty after normalisation never matches
    # Typographic quotes and dashes are punctuation; a dash or slash splits words.
    assert contains_answer("A spokesperson said: “We do not comment.” [1]", "We do not comment")
    assert contains_answer("A backer of British Columbia-based Carbon Engineering [1]", "British Columbia")
    assert contains_answer("It is the 175-year-old news agency [1]", "175-year-old")
    assert contains_answer("Ransomware for Android/iOS [1]", "Android")
    assert not contains_answer("An early backer of British Columbia-based firms [1]", "Columbia-based firm")


def test_score_hit_supported_and_integrity(tmp_path: Path) -> None:
    text = "Headline\n\nThe capital of Zorbania is Veltmark.\r\nIt rains.\n"
    (tmp_path / "z.txt").write_bytes(text.encode("utf-8"))
    (tmp_path / "page.html").write_text("<p>whatever</p>", encoding="utf-8")
    start = text.index("The capital")
    good = citation("z.txt", "The capital of Zorbania is Veltmark.", start)
    crlf = citation("z.txt", "Veltmark.\r\nIt", text.index("Veltmark."), 2)  # offsets count \r too
    shifted = citation("z.txt", "The capital of Zorbania is Veltmark.", start + 1, 3)
    missing = citation("gone.txt", "x", 0, 4)
    html = citation("page.html", "not in the page", 0, 5)  # checked against the extracted text
    question = EvalQuestion("Capital?", ("Veltmark", "Veltmark city"))

    result = score(question, reply("Veltmark [1].", good, crlf, shifted, missing, html), tmp_path, 0.5)
    assert result.hit and result.supported and result.correct
    assert (result.citations_checked, result.citations_intact) == (5, 2)
    assert result.seconds == 0.5

    # In the text but in no cited quote: a hit, not a supported hit.
    other = citation("z.txt", "It rains.", text.index("It rains."))
    unsupported = score(question, reply("Veltmark [1].", other), tmp_path)
    assert unsupported.hit and not unsupported.supported
    # Supported means the same gold answer is in the text and in a quote, not one in each.
    mixed = EvalQuestion("Where?", ("Veltmark", "It rains"))
    assert not score(mixed, reply("Veltmark [1].", other), tmp_path).supported

    # An abstention never hits, even when its text happens to contain the answer.
    abstained = score(question, reply("I cannot tell if Veltmark...", abstained=True), tmp_path)
    assert not abstained.hit and not abstained.correct
    assert score(EvalQuestion("King?"), reply("No idea.", abstained=True), tmp_path).correct


def result(answers: tuple[str, ...], *, text: str = "", seconds: float = 0.1, **flags: Any) -> QuestionResult:
    """A hand-made result; ``flags`` are hit, supported, abstained, checked and intact."""
    hit, supported, abstained = (bool(flags.get(k)) for k in ("hit", "supported", "abstained"))
    checked, intact = flags.get("checked", 0), flags.get("intact", 0)
    return QuestionResult(
        "Q?", answers, text, abstained, hit, supported, (), checked, intact, seconds,
        uncertain=bool(flags.get("uncertain")),
    )  # fmt: skip


def test_summarise_rates() -> None:
    results = [
        result(("a",), hit=True, supported=True, text="x" * 10, checked=2, intact=2, seconds=0.1),
        result(("a",), hit=True, text="x" * 30, checked=1, intact=0, seconds=0.2),
        result(("a",), abstained=True, text="n/a", seconds=0.3),
        result(("a",), text="x" * 20, seconds=0.4),
        result((), abstained=True, text="n/a", seconds=0.5),
        result((), text="x" * 40, checked=1, intact=1, seconds=0.6),
    ]
    report = summarise(results, source="s.jsonl", format="jsonl")
    assert (report.questions, report.answerable, report.unanswerable) == (6, 4, 2)
    assert report.answer_hit_rate == 0.5 and report.supported_hit_rate == 0.25
    assert report.false_abstention_rate == 0.25 and report.unanswerable_abstention_rate == 0.5
    assert report.mean_answer_chars == 25  # (10 + 30 + 20 + 40) / 4 answered
    assert report.citation_integrity == 0.75
    assert report.latency_p50 == pytest.approx(0.35) and report.latency_p95 == pytest.approx(0.575)
    assert json.loads(json.dumps(report.to_dict()))["results"][0]["answers"] == ["a"]

    empty = summarise([result((), abstained=True)])
    assert (
        empty.answer_hit_rate is None and empty.citation_integrity is None and empty.mean_answer_chars is None
    )
    assert "n/a" in format_table(empty)


def test_answers_given_as_sure_and_as_uncertain_are_counted_apart() -> None:
    report = summarise(
        [
            result(("a",), hit=True),
            result(("a",)),  # answered, wrong
            result(()),  # an unanswerable question answered as sure: wrong
            result(("a",), hit=True, uncertain=True),
            result((), uncertain=True),
            result(("a",), abstained=True),  # neither
        ]
    )
    assert (report.sure_answers, report.sure_hits) == (3, 1)
    assert (report.uncertain_answers, report.uncertain_hits) == (2, 1)
    table = format_table(report)
    assert "right, of answers given as sure" in table and "33.3%  (1/3)" in table
    assert "right, of answers given as uncertain" in table and "50.0%  (1/2)" in table
    assert "uncertain" not in format_table(summarise([result(("a",), hit=True)]))


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5


def test_split_is_stable_and_about_half() -> None:
    questions = [f"Question number {i}?" for i in range(400)]
    tune = {q for q in questions if in_split(q, "tune")}
    holdout = {q for q in questions if in_split(q, "holdout")}
    assert tune.isdisjoint(holdout) and tune | holdout == set(questions)
    assert 160 < len(tune) < 240
    assert all(in_split(q, "all") for q in questions)
    assert in_split(" Question number 7? ", "tune") == in_split("Question number 7?", "tune")
    # Pinned: reports on the holdout half are only comparable if the split never changes.
    assert in_split("In what country is Normandy located?", "tune")
    assert in_split("When were the Normans in Normandy?", "holdout")
    assert in_split("Who was the Norse leader?", "tune")


def test_format_table_and_misses() -> None:
    report = summarise(
        [
            result(("Veltmark",), hit=True, supported=True, text="Veltmark [1]."),
            result(("Osk",), text="The river Veltmark [1]."),
            result((), text="It is 1920 [1]."),
        ],
        source="set.jsonl",
        format="jsonl",
        split="holdout",
    )
    table = format_table(report)
    for label in ("answer hit rate", "supported hit rate", "citation integrity", "latency p50 / p95"):
        assert label in table
    assert "split=holdout" in table and "50.0%  (1/2)" in table
    misses = format_misses(report, 5)
    assert "2 of 2 misses" in misses and "expected: Osk" in misses and "should abstain" in misses
    assert "said: The river Veltmark [1]." in misses and "expected: Veltmark" not in misses
    assert format_misses(report, 1).count("Q: ") == 1
    assert format_misses(summarise([result(("a",), hit=True)]), 3) == "No misses."


# --- run_eval ----------------------------------------------------------------------------------


def test_run_eval_jsonl_uses_given_settings_history_split_and_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = [{"role": "user", "content": "Earlier?"}, {"role": "assistant", "content": "Then."}]
    lines = [{"question": f"Q{i}?", "answers": ["yes"], "history": history} for i in range(40)]
    path = write(tmp_path / "q.jsonl", "\n".join(json.dumps(x) for x in lines))
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    calls: list[tuple[str, Any, Settings]] = []

    def fake_answer(
        question: str, *, history: Any = None, documents: Any = None, settings: Settings
    ) -> Answer:
        calls.append((question, history, settings))
        return reply("yes [1]." if question.endswith("1?") else "no.")

    monkeypatch.setattr(evaluate, "_api", lambda: (fake_answer, pytest.fail))
    report = run_eval(path, settings, split="tune", limit=3, progress=False)
    expected = [x["question"] for x in lines if in_split(x["question"], "tune")][:3]
    assert calls[0][0] == expected[0]  # the untimed warm-up
    assert [c[0] for c in calls[1:]] == expected and report.questions == 3
    assert all(c[1] == history and c[2] is settings for c in calls[1:])
    assert report.index_seconds is None and report.split == "tune"

    with pytest.raises(AssistantError, match="No questions left"):
        run_eval(path, settings, split="holdout", limit=0, progress=False)


def test_run_eval_multi_document_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ "pages" make one throwaway index per set (pages found in any --seeds-from folder); a user turn
    without a reply is asked first and its real reply put in the history; "documents" reaches the
    answerer; citing a document outside "expect_documents" counts as a wrong-document answer; a
    follow-up's "full" form is asked alone and scored too; "kind" is counted by."""
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir(), b_dir.mkdir()
    (a_dir / "one.txt").write_text("One\n\nThe sky is blue.\n", encoding="utf-8")
    (b_dir / "two.txt").write_text("Two\n\nThe grass is green.\n", encoding="utf-8")
    pages, one = ["one.txt", "two.txt"], ["one.txt"]
    lines = [
        {"question": "Sky?", "answers": ["blue"], "pages": pages, "expect_documents": one, "kind": "named"},
        {"question": "Grass", "answers": ["green"], "pages": pages, "expect_documents": one, "kind": "named"},
        {
            "question": "And it?", "answers": ["blue"], "pages": pages, "full": "Sky colour?",
            "history": [{"role": "user", "content": "Sky?"}], "expect_documents": one, "kind": "follow-up",
        },
        {"question": "Pick?", "answers": ["green"], "pages": ["two.txt"], "documents": ["two.txt"]},
    ]  # fmt: skip
    path = write(tmp_path / "q.jsonl", "\n".join(json.dumps(x) for x in lines))
    built: list[list[str]] = []
    calls: list[tuple[str, Any, Any]] = []

    def fake_build(s: Settings) -> None:
        built.append(sorted(p.name for p in s.seeds_dir.iterdir()))

    def fake_answer(
        question: str, *, history: Any = None, documents: Any = None, settings: Settings
    ) -> Answer:
        calls.append((question, history, documents))
        if question.startswith(("Sky", "And")):
            return reply("It is blue [1].", citation("one.txt", "The sky is blue.", 5))
        return reply("It is green [1].", citation("two.txt", "The grass is green.", 5))

    monkeypatch.setattr(evaluate, "_api", lambda: (fake_answer, fake_build))
    report = run_eval(path, Settings(), progress=False, seeds_from=[a_dir, b_dir])
    assert built == [["one.txt", "two.txt"], ["two.txt"]]
    follow = [c for c in calls if c[0] == "And it?"]
    assert follow == [
        (
            "And it?",
            [{"role": "user", "content": "Sky?"}, {"role": "assistant", "content": "It is blue [1]."}],
            None,
        )
    ]
    assert ("Pick?", None, ["two.txt"]) in calls and any(
        c[0] == "Sky colour?" and c[1] is None for c in calls
    )
    assert (
        report.document_questions == 3 and report.wrong_documents == 1 and report.wrong_document_rate == 1 / 3
    )
    assert report.follow_ups == 1 and report.follow_up_correct == 1 and report.full_correct == 1
    assert report.by_kind == {"named": [2, 2], "follow-up": [1, 1]}
    table = format_table(report)
    assert "wrong-document answers" in table and "33.3%  (1/3)" in table and "correct, follow-up" in table
    assert "expected documents: one.txt; cited: two.txt" in format_misses(report, 5)
    with pytest.raises(AssistantError, match="not found in"):
        run_eval(path, Settings(), progress=False, seeds_from=[a_dir])


def test_run_eval_squad_indexes_a_temporary_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "dev.json", squad(("Zorbania", ZORBANIA, [qa("Capital?", "Veltmark")])))
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index", chroma_host="db.example")
    built: list[Settings] = []

    def fake_build(s: Settings) -> None:
        assert next(p.read_text(encoding="utf-8") for p in s.seeds_dir.iterdir()).startswith("Zorbania\n\n")
        built.append(s)

    def fake_answer(
        question: str, *, history: Any = None, documents: Any = None, settings: Settings
    ) -> Answer:
        assert settings is built[0]
        return reply(
            "Veltmark [1].",
            citation("zorbania.txt", "Veltmark", len("Zorbania\n\nThe capital of Zorbania is ")),
        )

    monkeypatch.setattr(evaluate, "_api", lambda: (fake_answer, fake_build))
    report = run_eval(path, settings, progress=False)
    (temp,) = built
    assert temp.chroma_host is None and temp.top_k == settings.top_k
    assert temp.index_dir.parent == temp.seeds_dir.parent != tmp_path
    assert not temp.seeds_dir.exists()  # the temporary folder is cleaned up
    assert report.citation_integrity == 1.0 and report.supported_hit_rate == 1.0
    assert report.index_seconds is not None


def test_end_to_end_on_a_tiny_squad_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real model, real Chroma: the SQuAD file is indexed into a temp folder and answered from it."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    questions = [
        qa("What is the capital of Zorbania?", "Veltmark"),
        qa("What is the national dish of Zorbania?", "roasted turnip stew"),
        qa("Who is the king of Zorbania?"),
    ]
    path = write(tmp_path / "tiny.json", squad(("Zorbania", ZORBANIA, questions)))
    settings = Settings(seeds_dir=tmp_path / "my-seeds", index_dir=tmp_path / "my-index")
    report = run_eval(path, settings, progress=False)

    assert (report.format, report.questions, report.answerable, report.unanswerable) == ("squad", 3, 2, 1)
    assert report.answer_hit_rate is not None and report.answer_hit_rate >= 0.5
    assert report.citations_checked > 0 and report.citation_integrity == 1.0
    assert report.latency_p50 is not None and report.latency_p95 is not None
    assert report.latency_p50 <= report.latency_p95
    assert not settings.index_dir.exists() and not settings.seeds_dir.exists()  # the real index is untouched
    assert json.loads(json.dumps(report.to_dict()))["questions"] == 3
    assert "answer hit rate" in format_table(report)
