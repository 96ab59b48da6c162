"""An Answer from the sentences chosen: each quoted with its citation marker, the direct answer marked
inside its quote; the abstention, which claims nothing; and the uncertain answer's opening line.

Shared by both answerers (extractive.py: the scorer alone, or with the reader).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from assistant.answering.features import Candidate
from assistant.answering.scorer import sigmoid
from assistant.ingest.passages import link_text
from assistant.results import Answer

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])(?=\s|$)")  # not before ".NET" or ".45"


_TABLE_ROW = re.compile(r"\|(.+)\|")


def readable(quote: str) -> str:
    """A quote as a reader sees it: whitespace folded, Markdown links shown as their text, a table
    row's cells joined by " · " ("| Swindon | Player-boss |" -> "Swindon · Player-boss").

    Only the answer's wording changes; the citation keeps the exact source text and offsets.
    """
    text = " ".join(link_text(quote).split())
    if row := _TABLE_ROW.fullmatch(text):
        text = " · ".join(cell.strip() for cell in row.group(1).split("|") if cell.strip())
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def build_answer(
    question: str,
    chosen: Sequence[Candidate],
    sources: int,
    short: tuple[int, int, int] | None = None,
    confidence: float | None = None,
    uncertain: bool = False,
) -> Answer:
    """Quote the chosen sentences, each followed by its citation marker (as the reader sees them:
    white space folded and Markdown links shown as their text; the citations hold the exact text).

    ``short`` is (position in ``chosen``, start, end) of the direct answer inside that quote. An
    ``uncertain`` answer says first that the documents may not answer the question, and states no
    direct answer: a phrase in bold would claim what the quote more likely does not hold.
    """
    if not chosen:
        return abstention(question, sources)
    if uncertain:
        short = None
    citations, parts, phrase = [], [], None
    for number, c in enumerate(chosen, start=1):
        citation = c.hit.cite(c.index, number, round(sigmoid(c.score), 4))
        if short is not None and short[0] == number - 1:
            phrase = c.text[short[1] : short[2]]
            citation = dataclasses.replace(
                citation, answer_start=citation.start + short[1], answer_end=citation.start + short[2]
            )
        citations.append(citation)
        parts.append(f"{readable(c.text)} [{number}]")
    text = " ".join(parts)
    if uncertain:  # on a line of its own: the chat shows it as its own paragraph
        one = sources == 1
        text = (
            f"I'm not sure {_documents(sources)} {'answers' if one else 'answer'} this; "
            f"the closest {'it comes' if one else 'they come'} is:\n{text}"
        )
    return Answer(
        question=question,
        text=text,
        citations=tuple(citations),
        abstained=False,
        short_answer=phrase,
        confidence=None if confidence is None else round(confidence, 4),
        uncertain=uncertain,
    )


def abstention(
    question: str, sources: int, related: Sequence[Candidate] = (), confidence: float | None = None
) -> Answer:
    """The plain 'not in the documents' answer: it claims nothing; ``related`` is further reading."""
    says, it = ("doesn't say", "it") if sources == 1 else ("don't say", "them")
    return Answer(
        question=question,
        text=f"{_documents(sources).capitalize()} {says}. Nothing in {it} answers this question, "
        "so I won't guess.",
        citations=(),
        abstained=True,
        related=tuple(c.hit.cite(c.index, n, round(sigmoid(c.score), 4)) for n, c in enumerate(related, 1)),
        confidence=None if confidence is None else round(confidence, 4),
    )


def _documents(sources: int) -> str:
    """What the answer speaks of: "the article", or "the indexed documents" when there are several."""
    return "the article" if sources == 1 else "the indexed documents"
