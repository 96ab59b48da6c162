"""Answer quality of the default answerer (the reader), gated on sets it was never fitted or tuned on.

* ``../shared/eval/squad2-normans.json``: SQuAD 2.0 dev article "Normans" (never fitted on);
* ``tests/article_questions_fresh.jsonl``: readers' questions on the seed article, written after the
  answerer's features were chosen (the reader's confidence is fitted on a separate seed-article tune
  set, ``tests/article_questions_tune.jsonl``; this one never);
* the news pages' ``holdout`` split is gated in tests/test_news_quality.py.

The floors sit a few points under what the answerer measures (docs/reader.md), so a regression
fails while a machine without bf16 (the reader then runs in fp32: the same ranking, scores a little
apart) still passes. Issue #32's targets that are not met yet are written in docs/reader.md, not here.
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


@pytest.fixture(scope="module")
def normans() -> EvalReport:
    require_shared(NORMANS)
    return run_eval(NORMANS, Settings(chroma_host=None), progress=False)


@pytest.fixture(scope="module")
def fresh(article_settings: Settings) -> EvalReport:
    return run_eval(FRESH, article_settings, progress=False)


def test_normans_floors(normans: EvalReport) -> None:
    assert normans.answer_hit_rate >= 0.82  # 0.854 measured (0.802 with the reader off)
    assert normans.false_abstention_rate <= 0.05  # 0.0
    # A regression guard: SQuAD 2's unanswerable questions mimic a sentence of the text, and this set
    # has 112 of them (0.05 is 6; 8 measured, 6 before the confidence read the reader's own ranking).
    assert normans.unanswerable_abstention_rate >= 0.05
    assert normans.citation_integrity == 1.0
    assert normans.mean_answer_chars <= 400


def test_normans_direct_answers_meet_the_target(normans: EvalReport) -> None:
    """Issue #32's target: the bold answer is SQuAD's gold answer for half the answerable questions."""
    assert normans.short_answers >= 60
    assert normans.short_exact_all >= 0.50  # 0.562 measured (0.156 with the reader off)


def test_answers_given_as_uncertain_are_the_ones_more_likely_wrong(normans: EvalReport) -> None:
    """Settings.uncertain_below (0.5, from the confidence's calibration, not fitted on any question):
    6 of the 40 answers given as uncertain hold the gold answer, 76 of the 160 given as sure (29 of
    those 40 answer unanswerable questions, which SQuAD 2.0 writes to mimic a sentence of the text)."""
    assert normans.uncertain_answers >= 20
    uncertain = normans.uncertain_hits / normans.uncertain_answers
    assert uncertain <= 0.35 and uncertain < normans.sure_hits / normans.sure_answers - 0.2


def test_fresh_article_questions_floors(fresh: EvalReport) -> None:
    assert fresh.answerable >= 30 and fresh.unanswerable >= 12
    assert fresh.answer_hit_rate >= 0.70  # 0.735 measured (0.765 before; 0.676 with the reader off)
    # Issue #32's abstention target for the seed article (0.60), met: 0.706 measured.
    assert fresh.unanswerable_abstention_rate >= 0.60
    # 0.147 (5 of 34; 4 before the confidence read the reader's own ranking; the same in fp32); a question
    # of margin, as rounding on another CPU can flip one. The target, 0.05, is not met.
    assert fresh.false_abstention_rate <= 0.18
    assert fresh.citation_integrity == 1.0


def test_the_scorer_fallback_keeps_its_floors(article_settings: Settings) -> None:
    """ASSISTANT_READER=off answers with the fitted scorer alone, as well as it did as the default."""
    off = run_eval(FRESH, article_settings.model_copy(update={"reader": False}), progress=False)
    assert off.answer_hit_rate >= 0.64  # 0.676 measured
    assert off.unanswerable_abstention_rate >= 0.25  # 0.294
    assert off.false_abstention_rate <= 0.15  # 0.147
    assert off.citation_integrity == 1.0


def test_questions_about_other_articles_are_declined(article_settings: Settings) -> None:
    """Off-topic questions: 120 drawn from the SQuAD 2.0 dev articles, asked of the seed article (a
    news story on missile sales), where none has an answer. 110 declined measured (91.7%; 90.0% before
    document-date questions had to name the document)."""
    import json
    import random

    from assistant import Assistant

    dev = ROOT.parent / "shared" / "eval" / "squad2-dev-24-fit.json"
    require_shared(dev)
    questions = [
        qa["question"]
        for article in json.loads(dev.read_text(encoding="utf-8"))["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]
    bot = Assistant(article_settings)
    drawn = random.Random(5).sample(questions, 120)
    answered = [q for q in drawn if not bot.answer(q).abstained]
    assert len(answered) <= 15, answered  # 10 measured
