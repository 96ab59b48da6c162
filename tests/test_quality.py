"""Answer quality on the project's own question set about the article (tests/questions.jsonl).

The learned answerer is fitted on SQuAD train articles and the news pages' tune split
(training/train_answerer.py), not on this set; the old hand-set weights were tuned on it, so the
floors here are regression floors. The gates on data never fitted or tuned on are in
tests/test_heldout_quality.py.
"""

from __future__ import annotations

import re

import pytest
from conftest import load_questions

from assistant import Answer, Settings, answer

QUESTIONS = load_questions()
ANSWERABLE = [q for q in QUESTIONS if not q.get("unanswerable")]
UNANSWERABLE = [q for q in QUESTIONS if q.get("unanswerable")]


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w$.]+", " ", text.lower()).split())


def found(gold: list[str], text: str) -> bool:
    return any(norm(g) in norm(text) for g in gold)


@pytest.fixture(scope="module")
def results(article_settings: Settings) -> list[tuple[dict, Answer]]:
    return [
        (q, answer(q["question"], history=q.get("history"), settings=article_settings)) for q in QUESTIONS
    ]


def test_question_set_has_the_required_shape() -> None:
    assert len(ANSWERABLE) >= 25
    assert len(UNANSWERABLE) >= 8
    assert sum(1 for q in QUESTIONS if q.get("history")) >= 3


def test_answerable_questions_have_the_fact_in_text_and_in_a_cited_quote(results) -> None:
    misses = []
    for q, a in results:
        if q.get("unanswerable"):
            continue
        quoted = " ".join(c.quote for c in a.citations)
        if not (found(q["answers"], a.text) and found(q["answers"], quoted)):
            misses.append((q["question"], a.text))
    assert len(misses) <= 0.15 * len(ANSWERABLE), misses


def test_answerable_questions_are_rarely_abstained_on(results) -> None:
    # The reader (the default) abstains on 3 of 33 (9.1%; the scorer alone on 2): one more is allowed.
    abstained = [q["question"] for q, a in results if not q.get("unanswerable") and a.abstained]
    assert len(abstained) <= 0.13 * len(ANSWERABLE), abstained


def test_unanswerable_questions_abstain(results) -> None:
    # The reader abstains on 6 of 10 (the scorer alone on 8): its threshold holds false abstention
    # to 5% averaged over SQuAD, news pages and the seed article (docs/reader.md).
    answered = [(q["question"], a.text) for q, a in results if q.get("unanswerable") and not a.abstained]
    assert len(answered) <= 0.4 * len(UNANSWERABLE), answered
    for _, a in results:
        if a.abstained:
            assert a.citations == () and "[" not in a.text


def test_every_citation_quotes_its_source_exactly(results, article_settings: Settings) -> None:
    checked = 0
    for _, a in results:
        for c in a.citations:
            text = (article_settings.seeds_dir / c.source).read_text(encoding="utf-8")
            assert text[c.start : c.end] == c.quote
            assert f"[{c.number}]" in a.text
            checked += 1
    assert checked >= len(ANSWERABLE)


def test_factual_answers_are_short(results) -> None:
    lengths = [len(a.text) for q, a in results if not a.abstained]
    assert sum(lengths) / len(lengths) < 400
