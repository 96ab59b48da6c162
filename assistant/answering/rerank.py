"""Second stage of the extractive answerer: the reader reads the best few sentences.

The fitted scorer (scorer.py) ranks every retrieved sentence cheaply; the reader (reader.py) then
reads the question against the top ``candidates`` of them in one batch. A logistic blend of the
first-stage score and the reader's two heads re-ranks those sentences for the answer. The answer's
confidence (abstain below ``min_confidence``) is a second logistic, over the best sentence's figures
when the reader's heads alone rank them (``confidence_row`` says why). The best sentence's span is the
direct answer when the span head is sure enough (``span_min``).

All numbers live in ``rerank.json``, written by ``python -m training.fit_rerank`` on articles the reader
never saw in training, with the held-out figures they were chosen on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.answering.about import asks_about_document
from assistant.answering.answer_types import answer_type, typed_spans
from assistant.answering.features import Candidate
from assistant.answering.reader import Reader, Reading
from assistant.answering.scorer import Logistic, read_fitted

PARAMETERS = Path(__file__).with_name("rerank.json")

#: Per candidate: what ranks the read sentences (in this order in rerank.json).
SENTENCE_FEATURES = (
    "first_stage",  # the scorer's log-odds (similarity, word coverage, answer kind, neighbours)
    "answers",  # the reader's "this sentence answers" log-odds
    "span",  # the reader's best span score over its "not here" score
    "answers_gap",  # answers minus the best answers among the read candidates
    "first_stage_gap",  # first_stage minus the best first_stage
)
#: What the confidence's own ranking reads: the reader's heads alone (see ``confidence_row``).
READER_FEATURES = ("answers", "span", "answers_gap")
#: Per question: what the confidence is computed from.
CONFIDENCE_FEATURES = (
    "best",  # the best sentence's log-odds by the reader's heads alone (``reader_sentence``)
    "margin",  # ... over the runner-up's
    "answers",  # that sentence's reader "answers" log-odds
    "span",  # ... and its span margin
    "lacks_figure",  # the question asks for a figure or a date that sentence does not hold
    "blend_best",  # the log-odds of the sentence the answer quotes, by the full blend
)
#: Kinds of answer whose absence from the best sentence is a sure sign it does not answer.
FIGURES = ("money", "number", "date")


@dataclass(frozen=True)
class RerankParameters:
    """Everything loaded from rerank.json."""

    candidates: int
    #: Ranks the read sentences for the answer: the first-stage score and the reader's heads.
    sentence: Logistic
    #: Ranks them for the confidence: the reader's heads alone (READER_FEATURES).
    reader_sentence: Logistic
    confidence: Logistic
    min_confidence: float
    span_min: float
    #: Other read sentences are quoted beside the best only from this blend log-odds up (``quoted``).
    pad_min: float


@lru_cache(maxsize=4)
def load_rerank(path: Path = PARAMETERS) -> RerankParameters:
    """The fitted second stage; a missing or malformed file raises a clear error naming it."""
    return read_fitted(
        path,
        "the reader's ranking parameters",
        _parameters,
        ".venv/bin/python -m training.fit_rerank (or set ASSISTANT_READER=off)",
    )


def _parameters(data: dict) -> RerankParameters:
    fitted = RerankParameters(
        int(data["candidates"]),
        Logistic.from_dict(data["sentence"]),
        Logistic.from_dict(data["reader_sentence"]),
        Logistic.from_dict(data["confidence"]),
        float(data["min_confidence"]),
        float(data["span_min"]),
        float(data["pad_min"]),
    )
    # A file fitted for other features would be read silently wrong (rows are matched by position).
    for name, model, features in (
        ("sentence", fitted.sentence, SENTENCE_FEATURES),
        ("reader_sentence", fitted.reader_sentence, SENTENCE_FEATURES),
        ("confidence", fitted.confidence, CONFIDENCE_FEATURES),
    ):
        if model.features != features:
            raise ValueError(f"its {name} model is fitted on {model.features}, this code reads {features}")
    return fitted


def before(c: Candidate, sentences: int = 1) -> str:
    """The ``sentences`` before ``c`` in its passage: the context the reader was trained with."""
    return " ".join(c.hit.sentence_text(k) for k in range(max(0, c.index - sentences), c.index))


def readable_candidates(question: str, ranked: Sequence[Candidate]) -> list[Candidate]:
    """The candidates the reader reads: not the headline or the dateline, unless the question asks about
    the document itself. They say what the document is and when; read as answers they quote a date for
    "Over what period?" or a headline for "What's the title of his article?" (issue #32: answers quote
    what bears on the question). Questions about the document are answered from them in about.py."""
    if asks_about_document(question):
        return list(ranked)
    return [c for c in ranked if c.hit.kind != "header"] or list(ranked)


def read(
    question: str, ranked: Sequence[Candidate], reader: Reader, n: int, history: str = ""
) -> list[Reading]:
    """The reader's view of the first ``n`` ranked candidates, in one batch (``history``: the
    conversation's previous question, read by a reader trained on conversations)."""
    top = ranked[:n]
    context = reader.layout.context_sentences
    return reader.read(question, [(c.text, before(c, context), c.hit.title) for c in top], history)


def sentence_rows(top: Sequence[Candidate], readings: Sequence[Reading]) -> list[tuple[float, ...]]:
    """The SENTENCE_FEATURES of each read candidate (``c.score`` is its first-stage log-odds)."""
    best_answers = max(r.answers for r in readings)
    best_first = max(c.score for c in top)
    return [
        (c.score, r.answers, r.span, r.answers - best_answers, c.score - best_first)
        for c, r in zip(top, readings, strict=True)
    ]


def rerank(
    top: Sequence[Candidate], readings: Sequence[Reading], model: Logistic
) -> list[tuple[Candidate, Reading]]:
    """The read candidates re-scored by the blend (``score`` becomes its log-odds), best first."""
    rows = sentence_rows(top, readings)
    scored = [
        (dataclasses.replace(c, score=model.logit(row)), r)
        for c, r, row in zip(top, readings, rows, strict=True)
    ]
    return sorted(scored, key=lambda pair: pair[0].score, reverse=True)


def quoted(reranked: Sequence[tuple[Candidate, Reading]], pad_min: float) -> list[Candidate]:
    """What an answer may quote, best first: the best read sentence, then the other read sentences the
    blend gives at least ``pad_min`` log-odds. One it thinks unlikely to answer is filler beside the
    answer ("... $1.405 billion. [1] The rivalry between the two Koreas has become intense. [2]"); the
    cut is fitted to cost at most half a point of answers shown (training/padding.py)."""
    return [reranked[0][0], *(c for c, _ in reranked[1:] if c.score >= pad_min)]


def lacks_figure(question: str, text: str) -> bool:
    """True when the question asks for a figure or a date and ``text`` holds none."""
    kind = answer_type(question)
    return kind in FIGURES and not typed_spans(kind, text, question)


def confidence_row(
    question: str,
    reranked: Sequence[tuple[Candidate, Reading]],
    by_reader: Sequence[tuple[Candidate, Reading]],
) -> tuple[float, ...]:
    """The CONFIDENCE_FEATURES of a question: ``reranked`` is the read candidates ranked by the full
    blend (the answer quotes its first), ``by_reader`` the same ranked by the reader's heads alone.

    Why the reader's own ranking: SQuAD 2.0's unanswerable questions are written to share the words of
    a sentence that does not answer them, so the first-stage score, all word overlap and similarity,
    is high exactly where it misleads. It still ranks the answer best (top-1 81.5% against 79.7%), but
    a confidence read off the reader's ranking declines 25.8% of the unanswerable questions over all
    fitting sources against 14.9%, at the same 5% false-abstention rule (fit_rerank, out-of-fold).

    ``best`` is itself linear in that sentence's ``answers``, ``span`` and ``answers_gap``, so the fit
    weighs them against each other: the large coefficients of opposite sign in rerank.json are that
    (in effect a weight on the gap), not an unstable fit."""
    best, reading = by_reader[0]
    second = by_reader[1][0].score if len(by_reader) > 1 else best.score
    return (
        best.score,
        best.score - second,
        reading.answers,
        reading.span,
        float(lacks_figure(question, best.text)),
        reranked[0][0].score,
    )
