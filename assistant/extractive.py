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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from assistant.about import about_document
from assistant.answer_types import answer_type, typed_spans
from assistant.lexical import STOPWORDS, tokens
from assistant.results import Answer
from assistant.short_answer import short_answer

if TYPE_CHECKING:
    from assistant.evidence import Evidence, PassageHit
    from assistant.settings import Settings


# How a sentence holds each kind of answer, as the sentence scorer sees it: broad on purpose (any
# capitalised word counts as a name, any digit as a number), since WEIGHTS were fitted with these.
# How a question asks for a kind is answer_types.answer_type; the direct answer uses its stricter spans.
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
    r"|hundred|thousand|million|billion|trillion|dozen|half|several|first|second|third"
)
_NAME = re.compile(r"(?<=\S )[A-Z][a-z]+")
_HOLDS: dict[str, re.Pattern[str]] = {
    "money": re.compile(
        r"[$£€¥]\s?\d|\b\d[\d,.]*\s?(?:dollars?|pounds?|euros?|yen|bn|m)\b|\b(?:billion|million)\b", re.I
    ),
    "date": re.compile(
        r"\b(?:1[0-9]|20)\d\d\b|\b\d{1,2}(?:st|nd|rd|th)\b|\bcentur(?:y|ies)\b|\b(?:jan|feb|mar|apr|may"
        r"|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|\bago\b"
        r"|\b(?:yesterday|today|tomorrow|last|next) (?:week|month|year)\b",
        re.I,
    ),
    "number": re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I),
    "person": _NAME,
    "place": _NAME,
}


def has_type(kind: str, sentence: str, question: str) -> bool:
    """Does the sentence hold something of that kind that the question does not already say?"""
    pattern = _HOLDS[kind]
    if kind in ("person", "place"):
        asked = {w.lower() for w in re.findall(r"\w+", question)}
        return any(m.group().lower() not in asked for m in pattern.finditer(sentence))
    return bool(pattern.search(sentence))


# --- scoring --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage, with its score."""

    hit: PassageHit
    index: int
    text: str
    score: float
    dense: float
    typed: int  # +1 holds the kind of answer asked for, -1 lacks it, 0 the question asks no kind


#: Weights of the signals, in the order of ``_features``. Calibrated by random search on the "tune"
#: half of the SQuAD questions plus the project's own questions, checked on the held-out half
#: (docs/quality.md); they are general signals, no word lists.
WEIGHTS = (0.175, 0.484, 0.472, 0.413, 0.095, 0.15, 0.283, -0.08, -0.059)
#: Abstain when the best sentence scores below this, unless it holds the kind of answer asked for.
MIN_SCORE = 0.9
#: ... and even then it must be this close in meaning to the question.
MIN_TYPED_DENSE = 0.25


def score_sentences(evidence: Evidence) -> list[Candidate]:
    """Every sentence of the retrieved passages scored for the question; best first."""
    question = evidence.question
    # Words in no passage carry no lexical evidence; the rest weigh by rarity (1 + idf).
    weights = {t: 1.0 + idf for t, idf in evidence.idf.items()}
    total = sum(weights.values()) or 1.0

    def coverage(words: set[str]) -> float:
        return sum(w for t, w in weights.items() if t in words) / total

    kind = answer_type(question)
    out = []
    for rank, (hit, vectors) in enumerate(zip(evidence.passages, evidence.vectors, strict=True)):
        sims = vectors @ evidence.vector
        context = coverage(set(tokens(f"{hit.title} {hit.text}")))
        words = [set(tokens(hit.text[a:b])) for a, b, _, _ in hit.sentences]
        for i, (a, b, _, _) in enumerate(hit.sentences):
            text = hit.text[a:b]
            near = set().union(*(words[j] for j in (i - 1, i + 1) if 0 <= j < len(words)))
            typed = 0 if not kind else (1 if has_type(kind, text, question) else -1)
            features = (
                float(sims[i]),  # the sentence means what the question asks
                hit.dense,  # ... and so does its passage
                coverage(words[i]),  # the question's words are in the sentence
                context,  # ... or around it in the passage
                coverage(near),  # ... or in the sentences next to it
                typed,  # it holds the kind of answer asked for (a number, a date ...)
                1.0 / (1 + rank),  # retrieval's own ranking
                float(len(words[i] - set(weights)) < 2),  # it only repeats the question
                float(hit.kind == "header"),  # a headline summarises; it is rarely the evidence
            )
            score = sum(w * f for w, f in zip(WEIGHTS, features, strict=True))
            out.append(Candidate(hit, i, text, score, float(sims[i]), typed))
    return sorted(out, key=lambda c: c.score, reverse=True)


def choose(candidates: Sequence[Candidate], max_chars: int, question: str) -> list[Candidate]:
    """The best sentence (with the neighbour it leans on), then the next best within ``max_chars``."""
    if not candidates:
        return []
    best = candidates[0]
    chosen = [best]
    neighbour = lean_on(best, question)
    if neighbour is not None and len(best.text) + len(neighbour.text) <= max_chars:
        chosen = sorted([best, neighbour], key=lambda c: c.index)
    size = sum(len(c.text) for c in chosen)
    for other in candidates[1:4]:
        if any(other.text == c.text for c in chosen):
            continue
        if size + len(other.text) <= max_chars:
            chosen.append(other)
            size += len(other.text)
    return chosen


# A sentence that opens by referring back ("He served ...", "The company said ...") leans on the one
# before it for who or what it is about.
_REFERS_BACK = re.compile(r"^\W*(?:he|she|they|it|his|her|their|its|this|these|those|the latter)\b", re.I)


def lean_on(best: Candidate, question: str) -> Candidate | None:
    """The sentence next to ``best`` that it needs: the one it refers back to, or the one holding what
    the question asks for when ``best`` only describes it ("the new ambassador ..." / "Mark Lippert ...")."""
    hit, i = best.hit, best.index
    if _REFERS_BACK.search(best.text) and i > 0:
        return Candidate(hit, i - 1, hit.sentence_text(i - 1), best.score, best.dense, best.typed)
    kind = answer_type(question)
    if kind and not typed_spans(kind, best.text, question):
        for j in (i + 1, i - 1):
            if 0 <= j < len(hit.sentences) and typed_spans(kind, hit.sentence_text(j), question):
                return Candidate(hit, j, hit.sentence_text(j), best.score, best.dense, 1)
    return None


def should_abstain(question: str, best: Candidate) -> bool:
    """True when the documents most likely do not answer the question."""
    if answer_type(question) in ("date", "number", "money") and best.typed < 0:
        return True  # asks "how many" / "when" and not even the best sentence holds a number or date
    if best.score < MIN_SCORE:
        # Weak match overall; a paraphrase still counts when the sentence holds the kind of answer asked
        # for and means something close ("price tag" -> a sentence with "$1.4 billion").
        return not (best.typed > 0 and best.dense >= MIN_TYPED_DENSE)
    return False


# --- the answer -------------------------------------------------------------------------------------------


def build_answer(
    question: str, chosen: Sequence[Candidate], sources: int, short: tuple[int, int, int] | None = None
) -> Answer:
    """Quote the chosen sentences verbatim, each followed by its citation marker.

    ``short`` is (position in ``chosen``, start, end) of the direct answer inside that quote.
    """
    if not chosen:
        return abstention(question, sources)
    citations, parts, phrase = [], [], None
    for number, c in enumerate(chosen, start=1):
        citation = c.hit.cite(c.index, number, c.score)
        if short is not None and short[0] == number - 1:
            phrase = c.text[short[1] : short[2]]
            citation = replace(
                citation, answer_start=citation.start + short[1], answer_end=citation.start + short[2]
            )
        citations.append(citation)
        parts.append(f"{' '.join(c.text.split())} [{number}]")
    return Answer(
        question=question,
        text=" ".join(parts),
        citations=tuple(citations),
        abstained=False,
        short_answer=phrase,
    )


def abstention(question: str, sources: int, related: Sequence[Candidate] = ()) -> Answer:
    """The plain 'not in the documents' answer: it claims nothing; ``related`` is further reading."""
    what = "The article doesn't" if sources == 1 else "The indexed documents don't"
    return Answer(
        question=question,
        text=f"{what} say. Nothing in {'it' if sources == 1 else 'them'} answers "
        "this question, so I won't guess.",
        citations=(),
        abstained=True,
        related=tuple(c.hit.cite(c.index, n, c.score) for n, c in enumerate(related, 1)),
    )


def stopword_only(question: str) -> bool:
    """True for a question with no content words at all ("what is it?")."""
    return all(w in STOPWORDS for w in re.findall(r"\w+", question.lower()))


def extractive_answer(evidence: Evidence, settings: Settings) -> Answer:
    """The default, LLM-free answer: the best-matching sentences, quoted, or an abstention."""
    question, n_sources = evidence.question, evidence.documents
    if evidence.about:
        picks = about_document(question, evidence.about)
        if picks is None:  # asks for the byline or date of a document that has none
            return abstention(question, n_sources)
        if picks:
            chosen = [Candidate(hit, i, hit.sentence_text(i), 1.0, 1.0, 0) for hit, i in picks]
            return build_answer(question, chosen, n_sources)
    if not evidence.passages or stopword_only(question):
        return abstention(question, n_sources)
    candidates = score_sentences(evidence)
    if not candidates:
        return abstention(question, n_sources)
    if should_abstain(question, candidates[0]):
        return abstention(question, n_sources, related=candidates[:1])
    chosen = choose(candidates, settings.answer_chars, question)
    return build_answer(question, chosen, n_sources, short_answer(question, chosen))
