"""Evidence: what retrieval hands to an answerer — passages with typed sentences, and a citation builder.

An answerer is a pure function of ``question`` and these records; it never reads the index itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from assistant.results import Citation


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
