"""Answer quality on real news pages (#11), on the held-out split that was never tuned on.

Each question in ``tests/news_questions.jsonl`` names its page in ``../shared/eval/news-pages/`` and
is answered from an index of that page alone. The pages are third-party copyright and are kept out
of the repository: outside CI this test is skipped where they are absent; with CI set it fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_shared

from assistant import Settings
from assistant.eval.evaluate import EvalReport, run_eval

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "tests" / "news_questions.jsonl"
PAGES = ROOT.parent / "shared" / "eval" / "news-pages"


@pytest.fixture(scope="module")
def holdout() -> EvalReport:
    require_shared(PAGES)
    return run_eval(QUESTIONS, Settings(chroma_host=None), split="holdout", progress=False, seeds_from=PAGES)


def test_the_holdout_split_is_big_enough(holdout: EvalReport) -> None:
    assert holdout.questions >= 60 and holdout.unanswerable >= 12


def test_every_citation_quotes_its_page_exactly(holdout: EvalReport) -> None:
    assert holdout.citations_checked >= holdout.answerable
    assert holdout.citation_integrity == 1.0


def test_answerable_questions_are_rarely_abstained_on(holdout: EvalReport) -> None:
    assert (holdout.false_abstention_rate or 0.0) <= 0.05


def test_floors_under_the_default_answerer(holdout: EvalReport) -> None:
    """A regression floor a little under what the default answerer (the reader) measures: 92.6% hit
    (87.7% with the reader off), 64.2% direct answers exact, 16.7% abstention on unanswerable questions
    (4 of 24, one on the threshold: 5 in fp32; 12.5% before the confidence read the reader's own
    ranking, 25.0% with the reader off: docs/reader.md)."""
    assert (holdout.answer_hit_rate or 0.0) >= 0.88
    assert holdout.short_exact_all >= 0.55
    assert (holdout.unanswerable_abstention_rate or 0.0) >= 0.12


def test_answerable_questions_are_answered(holdout: EvalReport) -> None:
    """Issue #11's target, met since the reader answers by default (92.6%)."""
    assert (holdout.answer_hit_rate or 0.0) >= 0.90


def test_sure_answers_are_mostly_right_and_uncertain_ones_mostly_not(holdout: EvalReport) -> None:
    """72 of 90 answers given as sure hold the gold answer, 3 of 11 given as uncertain (Answer.uncertain)."""
    assert holdout.sure_answers >= 60 and holdout.sure_hits / holdout.sure_answers >= 0.7
    assert holdout.uncertain_answers >= 5 and holdout.uncertain_hits <= holdout.uncertain_answers / 2
