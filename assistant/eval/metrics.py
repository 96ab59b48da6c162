"""Eval metrics: does an answer hold the gold answer, are its citations intact, and the totals."""

from __future__ import annotations

import re
import statistics
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.eval.data import EvalQuestion
from assistant.ingest.seeds import text_as_read
from assistant.results import Answer

Cache = dict[Path, str | None]
_MARKER = re.compile(r"\[\d+\]")
_PUNCT = frozenset(string.punctuation)
# Between words in running text, a dash or slash separates them ("British Columbia-based",
# "Android/iOS"): for containment both sides read it as a space.
_JOINERS = re.compile(r"[-/\u2010-\u2015]")


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
    #: The answerer's confidence that its quote answers (None when it gives none).
    confidence: float | None = None
    #: The direct answer phrase it gave, if any.
    short_answer: str | None = None
    #: The documents its citations quote, and whether one of them is outside ``expect_documents``
    #: (None when the question names no expected documents or the assistant abstained).
    cited: tuple[str, ...] = ()
    wrong_document: bool | None = None
    kind: str | None = None
    #: For a follow-up with a ``full`` form: whether that form, asked alone, was answered correctly.
    full_correct: bool | None = None
    expect_documents: tuple[str, ...] = ()
    #: The answer was given as uncertain (Answer.uncertain).
    uncertain: bool = False

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
    #: Answerable questions given a direct answer, and its SQuAD exact match and F1 over them.
    short_answers: int = 0
    short_exact_match: float | None = None
    short_f1: float | None = None
    #: Exact direct answers over *all* answerable questions (a question with none counts as a miss).
    short_exact_all: float | None = None
    #: Questions with expected documents; answers among them citing another document, and the rate.
    document_questions: int = 0
    wrong_documents: int = 0
    wrong_document_rate: float | None = None
    #: Follow-ups with a ``full`` form: correct as asked, and correct when asked in full.
    follow_ups: int = 0
    follow_up_correct: int = 0
    full_correct: int = 0
    #: Answers given as sure and as uncertain (Answer.uncertain), and how many of each hold the gold
    #: answer: an answer to an unanswerable question is wrong either way.
    sure_answers: int = 0
    sure_hits: int = 0
    uncertain_answers: int = 0
    uncertain_hits: int = 0
    #: Per ``kind`` label: [correct, questions].
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    results: tuple[QuestionResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (per-question results as a list of dicts)."""
        return asdict(self) | {"results": [asdict(r) for r in self.results]}


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def contains_answer(text: str, gold: str) -> bool:
    """True when normalised ``gold`` appears in normalised ``text`` on word boundaries (``_loose``).

    Word boundaries keep "10" from matching "100"; ``[n]`` markers are dropped first so a marker's
    number never counts as (or splits) an answer.
    """
    needle = _loose(gold)
    return bool(needle) and f" {needle} " in f" {_loose(_MARKER.sub(' ', text))} "


def _loose(text: str) -> str:
    """``normalize_answer`` for containment in an answer's prose: typographic punctuation (curly
    quotes, dashes) counts as punctuation too, and a dash or slash splits words. SQuAD's own
    normalisation, kept for exact match, knows only ASCII punctuation, so '“We do not comment' would
    hide the gold 'We do not comment' and 'British Columbia-based' the gold 'British Columbia'."""
    text = _JOINERS.sub(" ", text)
    return normalize_answer("".join(ch for ch in text if not unicodedata.category(ch).startswith("P")))


def score(
    question: EvalQuestion,
    answer: Answer,
    seeds_dir: Path,
    seconds: float = 0.0,
    cache: Cache | None = None,
    full: Answer | None = None,
) -> QuestionResult:
    """Score one Answer (and ``full``, the answer to its full form); ``cache`` keeps seed file texts
    across calls (None: a missing file)."""
    texts = {} if cache is None else cache
    quotes = tuple(c.quote for c in answer.citations)
    hits = [g for g in question.answers if not answer.abstained and contains_answer(answer.text, g)]
    if question.all_answers and len(hits) < len(question.answers):
        hits = []
    checked = intact = 0
    for citation in answer.citations:
        file = seeds_dir / citation.source
        if file not in texts:
            texts[file] = text_as_read(file)  # None: a missing source counts as a broken citation
        text = texts[file]
        checked += 1
        intact += text is not None and text[citation.start : citation.end] == citation.quote
    supported = any(contains_answer(q, g) for g in hits for q in quotes)
    cited = tuple(sorted({c.source for c in answer.citations}))
    wrong = None
    if question.expect_documents and not answer.abstained:
        wrong = any(
            Path(s).name not in question.expect_documents and s not in question.expect_documents
            for s in cited
        )
    full_correct = None
    if full is not None:
        full_correct = score(replace(question, full=None), full, seeds_dir, cache=texts).correct
    return QuestionResult(
        question.question, question.answers, answer.text, answer.abstained, bool(hits), supported, quotes,
        checked, intact, seconds, answer.confidence, answer.short_answer, cited, wrong, question.kind,
        full_correct, question.expect_documents, answer.uncertain,
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
    shorts = [
        squad_scores(r.short_answer, r.answers) for r in answerable if r.short_answer and not r.abstained
    ]
    follow_ups = [r for r in results if r.full_correct is not None]
    by_kind: dict[str, list[int]] = {}
    for r in results:
        if r.kind:
            tally = by_kind.setdefault(r.kind, [0, 0])
            tally[0] += r.correct
            tally[1] += 1
    sure = [r for r in answered if not r.uncertain]
    unsure = [r for r in answered if r.uncertain]
    n_docs = sum(bool(r.expect_documents) for r in results)
    wrong = sum(bool(r.wrong_document) for r in results)
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
        short_answers=len(shorts),
        short_exact_match=_rate(sum(em for em, _ in shorts), len(shorts)),
        short_f1=_rate(sum(f1 for _, f1 in shorts), len(shorts)),
        short_exact_all=_rate(sum(em for em, _ in shorts), len(answerable)),
        document_questions=n_docs,
        wrong_documents=wrong,
        wrong_document_rate=_rate(wrong, n_docs),
        follow_ups=len(follow_ups),
        follow_up_correct=sum(r.correct for r in follow_ups),
        full_correct=sum(bool(r.full_correct) for r in follow_ups),
        sure_answers=len(sure),
        sure_hits=sum(r.hit for r in sure),
        uncertain_answers=len(unsure),
        uncertain_hits=sum(r.hit for r in unsure),
        by_kind=by_kind,
        results=results,
    )


def percentile(values: Sequence[float], q: int) -> float | None:
    """The ``q``-th percentile (1-99), linear between closest ranks as numpy's default; None for none."""
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _rate(num: float, den: int) -> float | None:
    return num / den if den else None


def squad_scores(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """SQuAD's official exact match and F1 of ``prediction`` against the best of ``golds``."""

    def f1(gold: str) -> float:
        p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
        common = sum((Counter(p) & Counter(g)).values())
        if not p or not g:
            return float(p == g)
        if common == 0:
            return 0.0
        precision, recall = common / len(p), common / len(g)
        return 2 * precision * recall / (precision + recall)

    em = max((float(normalize_answer(prediction) == normalize_answer(g)) for g in golds), default=0.0)
    return em, max((f1(g) for g in golds), default=0.0)
