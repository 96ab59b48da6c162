"""Many documents in one chat (#23), on a held-out set never tuned on.

``tests/multidoc_questions.jsonl`` was written from the pages alone, without running the assistant,
and is only ever scored: 126 questions over four indexes of 3, 4, 5 and 8 real pages from
``../shared/eval/news-pages/`` (plus the seed article) that name a document, ask about "the article"
without saying which, follow up on an earlier question, switch topic, or come with the user's choice
of documents. Each index is built in a throwaway folder. The pages are third-party copyright and are
kept out of the repository: outside CI this test is skipped where they are absent; with CI set it fails.

``tests/multidoc_followups.jsonl`` is a second held-out set, for the follow-up target alone: 64
follow-ups (8 of them unanswerable) over four other indexes of 3 to 6 pages, each with its ``full``
form. The first set holds only 23 follow-ups, where one question is 4.3 points and the target is 5;
the second was written (by a helper, from the pages alone) and committed before the assistant was
ever run on it, and is only ever scored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_shared

from assistant import Settings
from assistant.eval.evaluate import EvalReport, run_eval

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "tests" / "multidoc_questions.jsonl"
FOLLOW_UPS = ROOT / "tests" / "multidoc_followups.jsonl"
PAGES = ROOT.parent / "shared" / "eval" / "news-pages"


@pytest.fixture(scope="module")
def heldout() -> EvalReport:
    require_shared(PAGES)
    folders = [PAGES, ROOT / "seeds"]
    return run_eval(QUESTIONS, Settings(chroma_host=None), progress=False, seeds_from=folders)


@pytest.fixture(scope="module")
def follow_ups() -> EvalReport:
    require_shared(PAGES)
    folders = [PAGES, ROOT / "seeds"]
    return run_eval(FOLLOW_UPS, Settings(chroma_host=None), progress=False, seeds_from=folders)


def test_the_set_is_big_and_varied(heldout: EvalReport) -> None:
    assert heldout.questions >= 60 and heldout.follow_ups >= 15
    assert {"named", "ambiguous", "follow-up", "topic-switch", "chosen"} <= set(heldout.by_kind)


def test_answers_rarely_come_from_the_wrong_document(heldout: EvalReport) -> None:
    """The issue's target: at most 5% of answers cite a document other than the one meant."""
    assert heldout.document_questions == heldout.questions
    assert (heldout.wrong_document_rate or 0.0) <= 0.05


def test_every_citation_quotes_its_page_exactly(heldout: EvalReport) -> None:
    assert heldout.citation_integrity == 1.0


def test_floors_under_what_the_answerer_measures(heldout: EvalReport) -> None:
    """A regression floor a little under the measured figures (docs/multidoc.md)."""
    assert (heldout.answer_hit_rate or 0.0) >= FLOOR_HIT
    by_kind = {kind: correct / total for kind, (correct, total) in heldout.by_kind.items()}
    assert by_kind["ambiguous"] >= FLOOR_AMBIGUOUS and by_kind["named"] >= FLOOR_NAMED


FLOOR_HIT = 0.72  # measured 77.7% (70.5% with the reader off)
FLOOR_AMBIGUOUS = 0.54  # 63.6% (7 of 11)
FLOOR_NAMED = 0.66  # 72.1% (31 of 43)


def test_follow_ups_are_answered_as_well_as_the_same_question_in_full(
    heldout: EvalReport, follow_ups: EvalReport
) -> None:
    """The issue's target, over both held-out sets' follow-ups (23 + 64): within 5 points of the
    same questions asked in full. Measured with the reader (the default): 77 against 75 of 87 (88.5% /
    86.2%); the first set alone is 22 against 22 of 23, the second 55 against 53 of 64 (docs/reader.md;
    with the reader off 70 against 66)."""
    total = heldout.follow_ups + follow_ups.follow_ups
    assert follow_ups.follow_ups >= 60
    asked = (heldout.follow_up_correct + follow_ups.follow_up_correct) / total
    full = (heldout.full_correct + follow_ups.full_correct) / total
    assert asked >= full - 0.05, f"follow-ups {asked:.1%} against {full:.1%} in full"


def test_follow_ups_stay_with_their_document(follow_ups: EvalReport) -> None:
    """A follow-up is answered from the document the conversation is about (at most 5% elsewhere)."""
    assert follow_ups.document_questions == follow_ups.questions
    assert (follow_ups.wrong_document_rate or 0.0) <= 0.05
    assert follow_ups.citation_integrity == 1.0
