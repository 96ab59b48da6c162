"""The default answerer, no LLM needed: pick the sentences that answer, quote them, or abstain.

Each candidate sentence from the retrieved passages is scored on four general signals:
meaning (the question's vector against the sentence's and its passage's), words (how much of the
question's rarer vocabulary the sentence and its passage share), the kind of answer the question
asks for (a number, a date, a name, a place, an amount of money) and whether the sentence says
anything beyond the question's own words. The answerer abstains when even the best sentence is
a weak match, or when a rare word the question hinges on is nowhere near it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.lexical import BM25, STOPWORDS, tokens
from assistant.results import Answer, Citation

if TYPE_CHECKING:
    import numpy as np

    from assistant.retrieval import PassageHit

# --- what kind of answer a question wants ------------------------------------------------------------

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
    r"|hundred|thousand|million|billion|trillion|dozen|half|several|first|second|third"
)
_TYPES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "money": (
        re.compile(
            r"\bhow much\b.*\b(cost|price|worth|pay|paid|spen[dt]|value|sale|deal|fund|budget|money|charge)"
            r"|\b(price|cost|worth|value)\b",
            re.I,
        ),
        re.compile(
            r"[$£€¥]\s?\d|\b\d[\d,.]*\s?(?:dollars?|pounds?|euros?|yen|bn|m)\b|\b(?:billion|million)\b", re.I
        ),
    ),
    "date": (
        re.compile(
            r"\bwhen\b|\bwhat (?:year|date|day|month|time|century|decade|period|era)\b"
            r"|\b(?:which|what) (?:year|century|decade|month|day)\b|\bhow long ago\b",
            re.I,
        ),
        re.compile(
            r"\b(?:1[0-9]|20)\d\d\b|\b\d{1,2}(?:st|nd|rd|th)\b|\bcentur(?:y|ies)\b|\b(?:jan|feb|mar|apr|may"
            r"|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|\bago\b"
            r"|\b(?:yesterday|today|tomorrow|last|next) (?:week|month|year)\b",
            re.I,
        ),
    ),
    "number": (
        re.compile(
            r"\bhow (?:many|much|long|far|old|big|large|tall|high|often)\b"
            r"|\bwhat (?:number|percentage|percent|proportion|share|amount|size)\b",
            re.I,
        ),
        re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I),
    ),
    "person": (
        re.compile(
            r"^\W*(?:who|whom|whose)\b|\bwho (?:is|was|were|are)\b|\bwhich (?:person|man|woman)", re.I
        ),
        re.compile(r"(?<=\S )[A-Z][a-z]+"),
    ),
    "place": (
        re.compile(
            r"\bwhere\b|\b(?:what|which) (?:country|city|place|region|town|state|area|nation)\b", re.I
        ),
        re.compile(r"(?<=\S )[A-Z][a-z]+"),
    ),
}
# Questions about the document itself: its date or its headline.
_ASKS_DATE = re.compile(
    r"\b(?:when|what (?:date|day|time))\b.*\b(?:publish|post|updat|writ|releas|dat)"
    r"|\bdate of (?:the|this) (?:article|story|piece|report)\b",
    re.I,
)
_ASKS_TITLE = re.compile(r"\b(?:headline|title)\b", re.I)
_FOLLOW_UP = re.compile(
    r"\b(?:they|them|their|it|its|he|him|his|she|her|this|that|these|those|there|the same)\b", re.I
)


def answer_type(question: str) -> str | None:
    """The kind of answer the question wants, by its wording ("how many" wants a number)."""
    for name, (asks, _) in _TYPES.items():
        if asks.search(question):
            return name
    return None


def has_type(kind: str, sentence: str, question: str) -> bool:
    """Does the sentence hold something of that kind that the question does not already say?"""
    pattern = _TYPES[kind][1]
    if kind in ("person", "place"):
        asked = {w.lower() for w in re.findall(r"\w+", question)}
        return any(m.group().lower() not in asked for m in pattern.finditer(sentence))
    return bool(pattern.search(sentence))


def is_follow_up(question: str) -> bool:
    """A question that leans on what came before ("How much are they worth?")."""
    return bool(_FOLLOW_UP.search(question)) or len(tokens(question)) <= 2


# --- scoring --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage, with its score."""

    hit: PassageHit
    index: int
    text: str
    score: float
    dense: float
    coverage: float


#: Weights of the signals; calibrated on a tuning half of the evaluation questions (see docs/quality.md).
W_DENSE, W_PASSAGE, W_WORDS, W_CONTEXT, W_TYPE = 0.50, 0.15, 0.35, 0.10, 0.12
#: Abstain when the best sentence's score is below this.
MIN_SCORE = 0.30


def score_sentences(
    question: str,
    terms: Sequence[str],
    qvec: np.ndarray,
    hits: Sequence[PassageHit],
    vectors: Callable[[PassageHit], np.ndarray],
    bm25: BM25,
) -> list[Candidate]:
    """Every sentence of ``hits`` scored for ``question``; best first."""
    weights = {t: bm25.idf(t) for t in set(terms)}
    total = sum(weights.values()) or 1.0
    kind = answer_type(question)
    out = []
    for hit in hits:
        sims = vectors(hit) @ qvec
        context = set(tokens(f"{hit.title} {hit.text}"))
        covered_ctx = sum(w for t, w in weights.items() if t in context) / total
        for i, (a, b, _, _) in enumerate(hit.sentences):
            text = hit.text[a:b]
            words = set(tokens(text))
            covered = sum(w for t, w in weights.items() if t in words) / total
            new_words = len(words - set(weights))
            score = (
                W_DENSE * float(sims[i]) + W_PASSAGE * hit.dense + W_WORDS * covered + W_CONTEXT * covered_ctx
            )
            if kind:
                score += W_TYPE if has_type(kind, text, question) else -W_TYPE
            if new_words < 2:  # a sentence that only repeats the question answers nothing
                score -= 0.2
            if hit.kind == "header":
                score -= 0.1  # a headline is a summary, not evidence, unless asked for
            out.append(Candidate(hit, i, text, score, float(sims[i]), covered))
    return sorted(out, key=lambda c: c.score, reverse=True)


def choose(candidates: Sequence[Candidate], max_chars: int) -> list[Candidate]:
    """The best sentence, plus a runner-up that scores nearly as well and still fits the length budget."""
    if not candidates:
        return []
    best = candidates[0]
    chosen = [best]
    size = len(best.text)
    for other in candidates[1:3]:
        if (
            other.score >= best.score - 0.04
            and size + len(other.text) <= max_chars
            and other.text != best.text
        ):
            chosen.append(other)
            size += len(other.text)
    return chosen


def should_abstain(question: str, best: Candidate, bm25: BM25, terms: Sequence[str]) -> bool:
    """True when the documents most likely do not answer the question."""
    if best.score < MIN_SCORE:
        return True
    # A rare word the question hinges on, found nowhere in the documents: likely not covered.
    unknown = [t for t in set(terms) if not bm25.known(t) and not t.isdigit()]
    return bool(unknown) and best.coverage < 0.5 and best.dense < 0.55


# --- the answer -------------------------------------------------------------------------------------------


def meta_answer(question: str, header: PassageHit | None) -> list[Candidate]:
    """Answer questions about the article itself (its date, its headline) from its header."""
    if header is None:
        return []
    want_date = bool(_ASKS_DATE.search(question))
    want_title = bool(_ASKS_TITLE.search(question))
    picks = []
    for i, (a, b, _, _) in enumerate(header.sentences):
        text = header.text[a:b]
        is_date = header.date is not None and " ".join(text.split()) == header.date
        if (want_date and is_date) or (want_title and not is_date):
            picks.append(Candidate(header, i, text, 1.0, 1.0, 1.0))
    return picks


def build_answer(question: str, chosen: Sequence[Candidate], sources: int) -> Answer:
    """Quote the chosen sentences verbatim, each followed by its citation marker."""
    if not chosen:
        return abstention(question, sources)
    citations, parts = [], []
    for number, c in enumerate(chosen, start=1):
        a, b, start, end = c.hit.sentences[c.index]
        citations.append(
            Citation(
                number=number,
                source=c.hit.source,
                title=c.hit.title,
                quote=c.text,
                start=start,
                end=end,
                score=round(c.score, 4),
                date=c.hit.date,
                before=c.hit.text[:a].strip(),
                after=c.hit.text[b:].strip(),
            )
        )
        parts.append(f"{' '.join(c.text.split())} [{number}]")
    return Answer(question=question, text=" ".join(parts), citations=tuple(citations), abstained=False)


def abstention(question: str, sources: int) -> Answer:
    """The plain 'not in the documents' answer: it claims nothing."""
    what = "The article doesn't" if sources == 1 else "The indexed documents don't"
    return Answer(
        question=question,
        text=f"{what} say. Nothing in {'it' if sources == 1 else 'them'} answers "
        "this question, so I won't guess.",
        citations=(),
        abstained=True,
    )


def stopword_only(question: str) -> bool:
    """True for a question with no content words at all ("what is it?")."""
    return all(w in STOPWORDS for w in re.findall(r"\w+", question.lower()))
