"""Evidence: what retrieval hands to an answerer — passages with typed sentences, and a citation builder.

An answerer is a pure function of ``question`` and these records; it never reads the index itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from assistant.results import Citation

if TYPE_CHECKING:
    import numpy as np


class Sentence(NamedTuple):
    """One sentence of a passage: its span in the passage text and its span in the source file."""

    start: int
    end: int
    source_start: int
    source_end: int


@dataclass(frozen=True)
class PassageHit:
    """A retrieved passage and its sentences, ready for an answerer to quote from."""

    id: str
    source: str
    title: str
    date: str | None
    #: The passage's sentences, exactly as in the source, joined by single spaces.
    text: str
    sentences: tuple[Sentence, ...]
    #: Fused retrieval score (higher is better) and the dense cosine similarity.
    score: float
    dense: float
    kind: str = "body"
    #: The index generation the hit was read from (its sentence vectors are looked up there).
    generation: int = 0

    def sentence_text(self, index: int) -> str:
        """The text of sentence ``index``, exactly as in the source file."""
        s = self.sentences[index]
        return self.text[s.start : s.end]

    def cite(self, index: int, number: int, score: float | None = None) -> Citation:
        """The citation quoting sentence ``index`` as marker ``number``: exact offsets and context.

        This is the one place a Citation is made from a sentence, for every answerer.
        """
        s = self.sentences[index]
        return Citation(
            number=number,
            source=self.source,
            title=self.title,
            quote=self.text[s.start : s.end],
            start=s.source_start,
            end=s.source_end,
            score=round(self.score if score is None else score, 4),
            date=self.date,
            before=self.text[: s.start].strip(),
            after=self.text[s.end :].strip(),
        )


@dataclass(frozen=True)
class DocumentInfo:
    """What an answerer may say about a document itself: its header passage and its lead."""

    source: str
    #: The document's headline (or, without one, its file name as a title).
    title: str
    #: The title/date/byline passage, when the document has one.
    header: PassageHit | None
    #: The first body passage: where a news story says what it is about.
    lead: PassageHit | None


@dataclass(frozen=True)
class Evidence:
    """Everything retrieval found for one question; answerers need nothing else.

    ``vectors[i]`` holds the unit-length embeddings of ``passages[i]``'s sentences, and
    ``idf`` the rarity of each query term that occurs somewhere in the index (terms in no passage
    are left out: they carry no lexical evidence; terms a follow-up borrowed weigh less).
    """

    question: str
    #: What was searched for: the question, or the question joined with the turn it follows up.
    query: str
    vector: np.ndarray
    passages: tuple[PassageHit, ...]
    vectors: tuple[np.ndarray, ...]
    idf: Mapping[str, float]
    #: The document of the best passage (for questions about the article itself).
    about: DocumentInfo | None
    #: How many documents the question was asked of: the focus, or the whole index (answers say
    #: "the article" or "the documents").
    documents: int
    #: The documents the search was narrowed to (empty: every document) and why: "chosen" by the
    #: user, "named" in the question, "follow-up" (the previous answer's documents), or "".
    focus: tuple[str, ...] = ()
    focus_reason: str = ""
    #: Ask every document when nothing here answers (a follow-up narrowed to the previous answer's
    #: documents: "And the price?" may be in another).
    widen: bool = False
    #: With several documents in scope: each one's header and lead (at most five, the best-retrieved
    #: first), so a question about "the article" can be answered for each instead of for one at random.
    scope: tuple[DocumentInfo, ...] = ()
    #: The previous question of the conversation ("" for a first question): a reader trained on
    #: conversations reads it beside a follow-up ("How old is he?" after "Who runs Acme?").
    history: str = ""
