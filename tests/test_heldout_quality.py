"""Answer quality gated on question sets the answerer was never fitted or tuned on.

* ``../shared/eval/squad2-normans.json``: SQuAD 2.0 dev article "Normans" (never fitted on);
* ``tests/article_questions_fresh.jsonl``: readers' questions on the seed article, written after
  the answerer's features were chosen (the seed article is in no fitting data);
* the news pages' ``holdout`` split is gated in tests/test_news_quality.py.

The floors sit a little under what the shipped answerer measures (docs/quality.md), so a
regression fails; issue #14's targets are strict xfails: they fail as XPASS once met.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_shared

from assistant import Settings
from assistant.eval.evaluate import EvalReport, run_eval

ROOT = Path(__file__).resolve().parents[1]
NORMANS = ROOT.parent / "shared" / "eval" / "squad2-normans.json"
FRESH = ROOT / "tests" / "article_questions_fresh.jsonl"
TARGETS = "issue #14 target not met yet (docs/quality.md has today's figures)"


@pytest.fixture(scope="module")
def normans() -> EvalReport:
    require_shared(NORMANS)
    return run_eval(NORMANS, Settings(chroma_host=None), progress=False)


@pytest.fixture(scope="module")
def fresh(article_settings: Settings) -> EvalReport:
    return run_eval(FRESH, article_settings, progress=False)


def test_normans_floors(normans: EvalReport) -> None:
    assert normans.answer_hit_rate >= 0.76
    assert normans.false_abstention_rate <= 0.05
    # A regression guard, not the goal (0.15 is the strict xfail below): SQuAD 2's unanswerable
    # questions mimic a sentence of the text, and this set has 112 of them (0.03 is 4).
    assert normans.unanswerable_abstention_rate >= 0.03
    assert normans.citation_integrity == 1.0
    assert normans.mean_answer_chars <= 400


def test_normans_direct_answers_match_squad_gold(normans: EvalReport) -> None:
    assert normans.short_answers >= 10 and normans.short_exact_match >= 0.50


@pytest.mark.xfail(strict=True, reason=TARGETS)
def test_normans_answer_hit_target(normans: EvalReport) -> None:
    assert normans.answer_hit_rate >= 0.88


@pytest.mark.xfail(strict=True, reason=TARGETS)
def test_normans_abstention_target(normans: EvalReport) -> None:
    assert normans.unanswerable_abstention_rate >= 0.15


def test_fresh_article_questions_floors(fresh: EvalReport) -> None:
    assert fresh.answerable >= 30 and fresh.unanswerable >= 12
    assert fresh.answer_hit_rate >= 0.64
    assert fresh.unanswerable_abstention_rate >= 0.25
    assert fresh.false_abstention_rate <= 0.15
    assert fresh.citation_integrity == 1.0


@pytest.mark.xfail(strict=True, reason=TARGETS)
def test_fresh_article_questions_targets(fresh: EvalReport) -> None:
    assert fresh.answer_hit_rate >= 0.95
    assert fresh.unanswerable_abstention_rate >= 0.80
    assert fresh.false_abstention_rate <= 0.03
