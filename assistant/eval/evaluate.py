"""Score the assistant on a question set: ``assistant eval FILE``.

Two formats, told apart by content: the project's JSONL (one ``{"question", "answers"}`` or
``{"question", "unanswerable": true}`` object per line, optional ``"history"``) and SQuAD v2.0 JSON,
whose articles become one seed document each in a throwaway seeds folder and index.

A JSONL question may name its page (``"source": "file.html"``) or pages (``"pages": [...]``): it is
then answered from an index of those pages alone, built in a throwaway folder, the pages read from
the ``seeds_from`` folders (default: the question file's folder). ``"split": "tune"|"holdout"``
fixes a question's half instead of the hash. Multi-document fields (``"documents"``,
``"expect_documents"``, ``"full"``, ``"kind"``) are described in data.py.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
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
    seeds_from: Path | Sequence[Path] | None = None,
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
    if any(q.index_pages for q in questions):
        folders = [seeds_from] if isinstance(seeds_from, Path) else list(seeds_from or ())
        return _run_per_index(path, questions, settings, split, progress, folders or [path.parent])
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
            results.append(_ask(question, answer_fn, settings, settings.seeds_dir, texts))
    return summarise(
        results, source=str(path), format=evalset.format, split=split, index_seconds=index_seconds
    )


def _ask(
    question: EvalQuestion, answer_fn: Callable[..., Answer], settings: Settings, seeds: Path, texts: Cache
) -> QuestionResult:
    """Ask one question as a user would (earlier user turns first, their real replies in the chat)
    and score the reply; a follow-up's ``full`` form is asked too, alone."""
    history = _live_history(question.history, answer_fn, settings)
    chosen = list(question.documents) or None
    started = time.perf_counter()
    reply = answer_fn(question.question, history=history or None, documents=chosen, settings=settings)
    seconds = time.perf_counter() - started
    full = answer_fn(question.full, documents=chosen, settings=settings) if question.full else None
    return score(question, reply, seeds, seconds, texts, full)


def _live_history(
    history: Sequence[dict[str, str]], answer_fn: Callable[..., Answer], settings: Settings
) -> list[dict[str, str]]:
    """The chat before a question: a user turn with no reply after it gets the assistant's own."""
    turns: list[dict[str, str]] = []
    for k, turn in enumerate(history):
        turns.append(dict(turn))
        replied = k + 1 < len(history) and history[k + 1]["role"] == "assistant"
        if turn["role"] == "user" and not replied:
            reply = answer_fn(turn["content"], history=list(turns[:-1]) or None, settings=settings)
            turns.append({"role": "assistant", "content": reply.text})
    return turns


def _run_per_index(
    path: Path,
    questions: list[EvalQuestion],
    settings: Settings,
    split: str,
    progress: bool,
    folders: Sequence[Path],
) -> EvalReport:
    """Answer each question from an index of just its pages, one throwaway index per set of pages."""
    if missing := [q.question for q in questions if not q.index_pages]:
        raise AssistantError(
            f'{path}: every question needs "source" or "pages" once one has them; missing: {missing[0]!r}'
        )
    by_index: dict[tuple[str, ...], list[EvalQuestion]] = {}
    for q in questions:
        by_index.setdefault(q.index_pages, []).append(q)
    found: dict[str, Path] = {}
    for name in sorted({n for pages in by_index for n in pages}):
        where = next((folder / name for folder in folders if (folder / name).is_file()), None)
        if where is None:
            raise AssistantError(
                f"{path}: page {name!r} not found in {', '.join(map(str, folders))}; pass the folders "
                "that hold the pages with --seeds-from DIR (repeatable)."
            )
        found[name] = where
    answer_fn, build_index = _api()
    results: list[QuestionResult] = []
    index_seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="assistant-eval-", ignore_cleanup_errors=True) as tmp:
        for number, (pages, index_questions) in enumerate(by_index.items()):
            seeds = Path(tmp) / f"index{number}" / "seeds"
            for name in pages:
                (seeds / name).parent.mkdir(parents=True, exist_ok=True)
                (seeds / name).write_bytes(found[name].read_bytes())
            scoped = settings.model_copy(
                update={"seeds_dir": seeds, "index_dir": seeds.parent / "index", "chroma_host": None}
            )
            started = time.perf_counter()
            build_index(scoped)
            index_seconds += time.perf_counter() - started
            answer_fn(index_questions[0].question, settings=scoped)  # warm-up, untimed
            texts: Cache = {}
            for question in _progress(index_questions, progress):
                results.append(_ask(question, answer_fn, scoped, seeds, texts))
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
    for name, right, given in (
        ("right, of answers given as sure", r.sure_hits, r.sure_answers),
        ("right, of answers given as uncertain", r.uncertain_hits, r.uncertain_answers),
    ):
        if given:
            rows.append((name, f"{right / given:6.1%}  ({right}/{given})"))
    if r.document_questions:
        rows.append(
            (
                "wrong-document answers",
                f"{r.wrong_document_rate:6.1%}  ({r.wrong_documents}/{r.document_questions})",
            )
        )
    if r.follow_ups:
        rows.append(
            (
                "follow-ups: as asked / in full",
                f"{r.follow_up_correct / r.follow_ups:6.1%} / {r.full_correct / r.follow_ups:.1%}"
                f"  (of {r.follow_ups})",
            )
        )
    for kind, (correct, total) in sorted(r.by_kind.items()):
        rows.append((f"  correct, {kind}", f"{correct / total:6.1%}  ({correct}/{total})"))
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
    misses = [r for r in report.results if not r.correct or r.wrong_document][: max(n, 0)]
    if not misses:
        return "No misses."
    blocks = []
    for r in misses:
        expected = " | ".join(r.answers) if r.answers else "(unanswerable: should abstain)"
        said = "(abstained) " + r.text if r.abstained else r.text
        quotes = "".join(f"\n    quote: {q}" for q in r.quotes)
        docs = (
            f"\n  expected documents: {', '.join(r.expect_documents)}; cited: {', '.join(r.cited) or '-'}"
            if r.expect_documents
            else ""
        )
        blocks.append(f"Q: {r.question}\n  expected: {expected}\n  said: {said}{quotes}{docs}")
    total = sum(not r.correct or bool(r.wrong_document) for r in report.results)
    return f"{len(misses)} of {total} misses:\n\n" + "\n\n".join(blocks)


def _api() -> tuple[Callable[..., Answer], Callable[[Settings], Any]]:
    """The answerer and the indexer, imported on first use (they pull in torch and Chroma)."""
    from assistant import answer, build_index

    return answer, build_index


def _progress(items: list[EvalQuestion], enabled: bool) -> Iterable[EvalQuestion]:
    from tqdm import tqdm

    return tqdm(items, desc="eval", unit="q", file=sys.stderr, disable=not enabled)
