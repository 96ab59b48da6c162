"""Score the assistant on a question set: ``assistant eval FILE``.

Two formats, told apart by content: the project's JSONL (one ``{"question", "answers"}`` or
``{"question", "unanswerable": true}`` object per line, optional ``"history"``) and SQuAD v2.0 JSON,
whose articles become one seed document each in a throwaway seeds folder and index.

A JSONL question may name its page (``"source": "file.html"``): it is then answered from an index of
that page alone, built in a throwaway folder, the page read from ``seeds_from`` (default: the
question file's folder). ``"split": "tune"|"holdout"`` fixes a question's half instead of the hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.errors import AssistantError
from assistant.results import Answer
from assistant.settings import Settings

Split = Literal["all", "tune", "holdout"]
Cache = dict[Path, str | None]
_MARKER = re.compile(r"\[\d+\]")
_PUNCT = frozenset(string.punctuation)


@dataclass(frozen=True)
class EvalQuestion:
    """One question; ``answers`` is empty when the documents do not answer it."""

    question: str
    answers: tuple[str, ...] = ()
    history: tuple[dict[str, str], ...] = ()
    source: str | None = None  # the one page it is asked about (its own throwaway index)
    split: str | None = None  # "tune" or "holdout": overrides the hash split


@dataclass(frozen=True)
class EvalSet:
    """Questions from one file; ``documents`` (file name -> text) are seeds to index first (SQuAD)."""

    path: Path
    format: Literal["jsonl", "squad"]
    questions: tuple[EvalQuestion, ...]
    documents: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QuestionResult:
    """What the assistant said to one question and how it scored."""

    question: str
    answers: tuple[str, ...]
    text: str
    abstained: bool
    hit: bool
    supported: bool
    quotes: tuple[str, ...]
    citations_checked: int
    citations_intact: int
    seconds: float

    @property
    def correct(self) -> bool:
        """Answerable: the gold answer is in the text. Unanswerable: the assistant abstained."""
        return self.hit if self.answers else self.abstained


@dataclass(frozen=True)
class EvalReport:
    """Aggregate metrics (rates are None when their denominator is zero) plus per-question results."""

    source: str
    format: str
    split: str
    questions: int
    answerable: int
    unanswerable: int
    answer_hits: int
    supported_hits: int
    false_abstentions: int
    unanswerable_abstentions: int
    answer_hit_rate: float | None
    supported_hit_rate: float | None
    false_abstention_rate: float | None
    unanswerable_abstention_rate: float | None
    mean_answer_chars: float | None
    citations_checked: int
    citations_intact: int
    citation_integrity: float | None
    latency_p50: float | None
    latency_p95: float | None
    index_seconds: float | None = None
    results: tuple[QuestionResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (per-question results as a list of dicts)."""
        return asdict(self) | {"results": [asdict(r) for r in self.results]}


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def contains_answer(text: str, gold: str) -> bool:
    """True when normalised ``gold`` appears in normalised ``text`` on word boundaries.

    Word boundaries keep "10" from matching "100"; ``[n]`` markers are dropped first so a marker's
    number never counts as (or splits) an answer.
    """
    needle = normalize_answer(gold)
    return bool(needle) and f" {needle} " in f" {normalize_answer(_MARKER.sub(' ', text))} "


def in_split(question: str, split: Split) -> bool:
    """Stable ~50/50 split by the SHA-1 of the question text, the same on every machine and run.

    Per question, not per file, so adding questions never moves old ones between the halves.
    """
    if split == "all":
        return True
    digest = hashlib.sha1(question.strip().encode("utf-8")).digest()
    tune = int.from_bytes(digest[:8], "big") / 2**64 < 0.5  # the hash as a fraction in [0, 1)
    return tune if split == "tune" else not tune


def load_questions(path: Path) -> EvalSet:
    """Read a JSONL or SQuAD v2.0 question file; a bad file raises an error naming it."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AssistantError(f"Cannot read the question file {path}: {exc}") from exc
    # A whole-file JSON object with "data" is SQuAD; anything else is read line by line.
    try:
        whole = json.loads(raw)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and "data" in whole:
        return _load_squad(path, whole)
    return _load_jsonl(path, raw)


def _load_jsonl(path: Path, raw: str) -> EvalSet:
    questions = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssistantError(
                f"{where} is not JSON ({exc.msg}). Expected JSONL, one "
                '{"question": ..., "answers": [...]} per line, or a SQuAD v2.0 JSON file.'
            ) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str) or not obj["question"]:
            raise AssistantError(f'{where}: expected an object with a non-empty "question" string.')
        answers = obj.get("answers", [])
        if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
            raise AssistantError(f'{where}: "answers" must be a list of non-empty strings.')
        if bool(answers) == bool(obj.get("unanswerable", False)):
            raise AssistantError(f'{where}: give either a non-empty "answers" list or "unanswerable": true.')
        history = obj.get("history", [])
        roles = ("user", "assistant")
        turn_ok = (
            isinstance(t, dict) and t.get("role") in roles and isinstance(t.get("content"), str)
            for t in history
        )
        if not isinstance(history, list) or not all(turn_ok):
            raise AssistantError(
                f'{where}: "history" must be a list of {{"role": "user"|"assistant", "content": "..."}}.'
            )
        source, fixed = obj.get("source"), obj.get("split")
        if source is not None and (not isinstance(source, str) or not source.strip() or ".." in source):
            raise AssistantError(f'{where}: "source" must be a file name inside the seeds folder.')
        if fixed is not None and fixed not in ("tune", "holdout"):
            raise AssistantError(f'{where}: "split" must be "tune" or "holdout".')
        questions.append(EvalQuestion(obj["question"], tuple(answers), tuple(history), source, fixed))
    if not questions:
        raise AssistantError(f"No questions in {path}: it is empty.")
    return EvalSet(path, "jsonl", tuple(questions))


def _load_squad(path: Path, data: dict[str, Any]) -> EvalSet:
    questions: list[EvalQuestion] = []
    documents: dict[str, str] = {}
    try:
        for number, article in enumerate(data["data"]):
            title = str(article["title"]).replace("_", " ").strip()
            contexts = [str(p["context"]).strip() for p in article["paragraphs"]]
            # Named after the title alone: the indexer falls back to the file name for a one-word title.
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "article"
            name = f"{slug}.txt" if f"{slug}.txt" not in documents else f"{slug}-{number}.txt"
            # Title first so the indexer takes it as the headline; blank lines keep paragraphs apart.
            documents[name] = "\n\n".join([title, *contexts]) + "\n"
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    gold = () if qa.get("is_impossible") else (a["text"] for a in qa["answers"])
                    # Crowd workers often repeat the same span; keep each answer once, in order.
                    answers = tuple(dict.fromkeys(a for a in gold if a.strip()))
                    questions.append(EvalQuestion(str(qa["question"]).strip(), answers))
    except (KeyError, TypeError, AttributeError) as exc:
        raise AssistantError(
            f"{path} looks like SQuAD JSON but is malformed ({type(exc).__name__}: {exc}); expected "
            "data[].title, data[].paragraphs[].context and .qas[].question/answers/is_impossible."
        ) from None
    if not questions:
        raise AssistantError(f"No questions in {path}: its SQuAD data holds no qas.")
    return EvalSet(path, "squad", tuple(questions), documents)


def score(
    question: EvalQuestion, answer: Answer, seeds_dir: Path, seconds: float = 0.0, cache: Cache | None = None
) -> QuestionResult:
    """Score one Answer; ``cache`` keeps seed file texts across calls (None: a missing file)."""
    texts = {} if cache is None else cache
    quotes = tuple(c.quote for c in answer.citations)
    hits = [g for g in question.answers if not answer.abstained and contains_answer(answer.text, g)]
    checked = intact = 0
    for citation in answer.citations:
        file = seeds_dir / citation.source
        if file not in texts:
            try:  # bytes, then decode, as the indexer does: read_text would turn \r\n into \n
                texts[file] = file.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                texts[file] = None  # a missing source counts as a broken citation
            if texts[file] is not None and file.suffix.lower() in (".html", ".htm"):
                from assistant.html_text import extract_page  # offsets point into the extracted text

                texts[file] = extract_page(texts[file]).text
        text = texts[file]
        checked += 1
        intact += text is not None and text[citation.start : citation.end] == citation.quote
    supported = any(contains_answer(q, g) for g in hits for q in quotes)
    return QuestionResult(
        question.question, question.answers, answer.text, answer.abstained, bool(hits), supported, quotes,
        checked, intact, seconds,
    )  # fmt: skip


def summarise(
    results: Iterable[QuestionResult],
    *,
    source: str = "",
    format: str = "",
    split: str = "all",
    index_seconds: float | None = None,
) -> EvalReport:
    """Aggregate per-question results into an EvalReport."""
    results = tuple(results)
    answerable = [r for r in results if r.answers]
    unanswerable = [r for r in results if not r.answers]
    answered = [r for r in results if not r.abstained]
    counts = {
        "answer_hits": sum(r.hit for r in answerable),
        "supported_hits": sum(r.supported for r in answerable),
        "false_abstentions": sum(r.abstained for r in answerable),
        "unanswerable_abstentions": sum(r.abstained for r in unanswerable),
        "citations_checked": sum(r.citations_checked for r in results),
        "citations_intact": sum(r.citations_intact for r in results),
    }
    seconds = [r.seconds for r in results]
    return EvalReport(
        source,
        format,
        split,
        len(results),
        len(answerable),
        len(unanswerable),
        **counts,
        answer_hit_rate=_rate(counts["answer_hits"], len(answerable)),
        supported_hit_rate=_rate(counts["supported_hits"], len(answerable)),
        false_abstention_rate=_rate(counts["false_abstentions"], len(answerable)),
        unanswerable_abstention_rate=_rate(counts["unanswerable_abstentions"], len(unanswerable)),
        mean_answer_chars=_rate(sum(len(r.text) for r in answered), len(answered)),
        citation_integrity=_rate(counts["citations_intact"], counts["citations_checked"]),
        latency_p50=percentile(seconds, 50),
        latency_p95=percentile(seconds, 95),
        index_seconds=index_seconds,
        results=results,
    )


def _in_split(question: EvalQuestion, split: Split) -> bool:
    if split == "all" or question.split is None:
        return in_split(question.question, split)
    return question.split == split


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
    questions = [q for q in evalset.questions if _in_split(q, split)][:limit]
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


def percentile(values: Sequence[float], q: int) -> float | None:
    """The ``q``-th percentile (1-99), linear between closest ranks as numpy's default; None for none."""
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _rate(num: float, den: int) -> float | None:
    return num / den if den else None


def _api() -> tuple[Callable[..., Answer], Callable[[Settings], Any]]:
    """The answerer and the indexer, imported on first use (they pull in torch and Chroma)."""
    from assistant import answer, build_index

    return answer, build_index


def _progress(items: list[EvalQuestion], enabled: bool) -> Iterable[EvalQuestion]:
    from tqdm import tqdm

    return tqdm(items, desc="eval", unit="q", file=sys.stderr, disable=not enabled)
