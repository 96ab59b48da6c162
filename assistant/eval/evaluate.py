"""Score the assistant on a question set: ``assistant eval FILE``.

Two formats, told apart by content: the project's JSONL (one ``{"question", "answers"}`` or
``{"question", "unanswerable": true}`` object per line, optional ``"history"``) and SQuAD v2.0 JSON,
whose articles become one seed document each in a throwaway seeds folder and index.

A JSONL question may name its page (``"source": "file.html"``): it is then answered from an index of
that page alone, built in a throwaway folder, the page read from ``seeds_from`` (default: the
question file's folder). ``"split": "tune"|"holdout"`` fixes a question's half instead of the hash.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.eval.data import EvalQuestion, EvalSet, Split, in_split, load_questions, question_in_split
from assistant.eval.metrics import (
    Cache,
    EvalReport,
    QuestionResult,
    contains_answer,
    normalize_answer,
    percentile,
    score,
    summarise,
)
from assistant.results import Answer
from assistant.settings import Settings

__all__ = [
    "EvalQuestion", "EvalReport", "EvalSet", "QuestionResult", "contains_answer", "format_misses",
    "format_table", "in_split", "load_questions", "normalize_answer", "percentile", "run_eval", "score",
    "summarise",
]  # fmt: skip


def run_eval(
    path: Path,
    settings: Settings,
    *,
    split: Split = "all",
    limit: int | None = None,
    progress: bool = True,
    seeds_from: Path | None = None,
) -> EvalReport:
    """Answer every question in ``path`` (after ``split`` and ``limit``) and score the answers.

    JSONL questions are answered from ``settings``' seeds and index, or, when they name a
    ``source`` page, from an index of that page alone (read from ``seeds_from``, default the
    question file's folder); a SQuAD file's articles are indexed into a temporary folder that is
    removed afterwards, so the real index is never touched.
    """
    if split not in ("all", "tune", "holdout"):
        raise AssistantError(f"Unknown split {split!r}: use all, tune or holdout.")
    evalset = load_questions(path)
    questions = [q for q in evalset.questions if question_in_split(q, split)][:limit]
    if not questions:
        raise AssistantError(f"No questions left in {path} with split={split} and limit={limit}.")
    if any(q.source for q in questions):
        return _run_per_page(path, questions, settings, split, progress, seeds_from or path.parent)
    answer_fn, build_index = _api()
    # ignore_cleanup_errors: Chroma may still hold files open in the temp index when we finish.
    with tempfile.TemporaryDirectory(prefix="assistant-eval-", ignore_cleanup_errors=True) as tmp:
        index_seconds = None
        if evalset.format == "squad":
            seeds = Path(tmp) / "seeds"
            seeds.mkdir()
            for name, text in evalset.documents.items():
                (seeds / name).write_text(text, encoding="utf-8")
            # chroma_host=None: a throwaway index must never land in a shared Chroma server.
            settings = settings.model_copy(
                update={"seeds_dir": seeds, "index_dir": Path(tmp) / "index", "chroma_host": None}
            )
            started = time.perf_counter()
            build_index(settings)
            index_seconds = time.perf_counter() - started
        # One untimed warm-up answer, so loading models and the index does not count as latency.
        answer_fn(questions[0].question, settings=settings)
        texts: Cache = {}
        results = []
        for question in _progress(questions, progress):
            started = time.perf_counter()
            reply = answer_fn(question.question, history=list(question.history) or None, settings=settings)
            results.append(score(question, reply, settings.seeds_dir, time.perf_counter() - started, texts))
    return summarise(
        results, source=str(path), format=evalset.format, split=split, index_seconds=index_seconds
    )


def _run_per_page(
    path: Path, questions: list[EvalQuestion], settings: Settings, split: str, progress: bool, pages: Path
) -> EvalReport:
    """Answer each question from an index of just its page, one throwaway index per page."""
    if missing := [q.question for q in questions if not q.source]:
        raise AssistantError(
            f'{path}: every question needs a "source" once one has it; missing: {missing[0]!r}'
        )
    by_page: dict[str, list[EvalQuestion]] = {}
    for q in questions:
        by_page.setdefault(str(q.source), []).append(q)
    for name in by_page:
        if not (pages / name).is_file():
            raise AssistantError(
                f"{path}: page {name!r} not found in {pages}; pass the pages folder with --seeds-from DIR."
            )
    answer_fn, build_index = _api()
    results: list[QuestionResult] = []
    index_seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="assistant-eval-", ignore_cleanup_errors=True) as tmp:
        for number, (name, page_questions) in enumerate(sorted(by_page.items())):
            seeds = Path(tmp) / f"page{number}" / "seeds"
            (seeds / name).parent.mkdir(parents=True)
            (seeds / name).write_bytes((pages / name).read_bytes())
            page = settings.model_copy(
                update={"seeds_dir": seeds, "index_dir": seeds.parent / "index", "chroma_host": None}
            )
            started = time.perf_counter()
            build_index(page)
            index_seconds += time.perf_counter() - started
            answer_fn(page_questions[0].question, settings=page)  # warm-up, untimed
            texts: Cache = {}
            for question in _progress(page_questions, progress):
                started = time.perf_counter()
                reply = answer_fn(question.question, history=list(question.history) or None, settings=page)
                results.append(score(question, reply, seeds, time.perf_counter() - started, texts))
    return summarise(results, source=str(path), format="jsonl", split=split, index_seconds=index_seconds)


def format_table(report: EvalReport) -> str:
    """A fixed-width, human-readable table of the report's metrics."""

    def ms(seconds: float | None) -> str:
        return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"

    r, unans = report, report.unanswerable
    rows = [
        (name, "n/a" if rate is None else f"{rate:6.1%}  ({num}/{den})")
        for name, rate, num, den in [
            ("answer hit rate", r.answer_hit_rate, r.answer_hits, r.answerable),
            ("supported hit rate", r.supported_hit_rate, r.supported_hits, r.answerable),
            ("abstained, answerable", r.false_abstention_rate, r.false_abstentions, r.answerable),
            ("abstained, unanswerable", r.unanswerable_abstention_rate, r.unanswerable_abstentions, unans),
            ("citation integrity", r.citation_integrity, r.citations_intact, r.citations_checked),
        ]
    ]
    chars = "n/a" if r.mean_answer_chars is None else f"{r.mean_answer_chars:.0f} chars"
    rows += [
        ("mean answer length", chars),
        ("latency p50 / p95", f"{ms(r.latency_p50)} / {ms(r.latency_p95)}"),
    ]
    if r.short_answers:
        rows.append(
            (
                "direct answer EM / F1",
                f"{r.short_exact_match:.1%} / {r.short_f1:.1%}  (over {r.short_answers} given)",
            )
        )
        rows.append(("direct answer EM, of all answerable", f"{r.short_exact_all:.1%}"))
    if report.index_seconds is not None:
        rows.append(("index build", f"{report.index_seconds:.1f} s"))
    head = (
        f"{report.source} ({report.format}, split={report.split}): {report.questions} questions, "
        f"{report.answerable} answerable, {report.unanswerable} unanswerable"
    )
    width = max(len(name) for name, _ in rows) + 2
    return "\n".join([head, *(f"  {name:<{width}}{value}" for name, value in rows)])


def format_misses(report: EvalReport, n: int) -> str:
    """Up to ``n`` questions the assistant got wrong, each with the expected and the actual answer."""
    misses = [r for r in report.results if not r.correct][: max(n, 0)]
    if not misses:
        return "No misses."
    blocks = []
    for r in misses:
        expected = " | ".join(r.answers) if r.answers else "(unanswerable: should abstain)"
        said = "(abstained) " + r.text if r.abstained else r.text
        quotes = "".join(f"\n    quote: {q}" for q in r.quotes)
        blocks.append(f"Q: {r.question}\n  expected: {expected}\n  said: {said}{quotes}")
    total = sum(not r.correct for r in report.results)
    return f"{len(misses)} of {total} misses:\n\n" + "\n\n".join(blocks)


def _api() -> tuple[Callable[..., Answer], Callable[[Settings], Any]]:
    """The answerer and the indexer, imported on first use (they pull in torch and Chroma)."""
    from assistant import answer, build_index

    return answer, build_index


def _progress(items: list[EvalQuestion], enabled: bool) -> Iterable[EvalQuestion]:
    from tqdm import tqdm

    return tqdm(items, desc="eval", unit="q", file=sys.stderr, disable=not enabled)
