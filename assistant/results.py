"""The frozen result objects the public API returns. Their shape never depends on options."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """One numbered piece of evidence: an exact quote and where it stands in its seed file.

    ``start``/``end`` are character offsets into the source file's text as read (decoded from UTF-8
    or the encoding it was saved in; for .html and .mhtml, its extracted article text), so
    ``text[start:end] == quote`` with ``text = assistant.ingest.seeds.text_as_read(path)``.
    """

    number: int
    source: str
    title: str
    quote: str
    start: int
    end: int
    score: float
    date: str | None = None
    #: The passage text just before and after the quote, for showing it in context.
    before: str = ""
    after: str = ""
    #: Where the direct answer phrase (``Answer.short_answer``) stands inside the source file, when
    #: it was found in this quote; ``text[answer_start:answer_end] == short_answer``.
    answer_start: int | None = None
    answer_end: int | None = None


@dataclass(frozen=True)
class Answer:
    """A short answer whose claims carry inline markers ``[n]`` pointing at ``citations``."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    #: True when the documents do not answer the question; ``text`` then says so plainly.
    abstained: bool
    #: "extractive" for the default answerer, "llm:<model>" when an LLM wrote the text.
    answered_by: str = "extractive"
    #: A remark for the reader, e.g. that the LLM was unreachable and the extractive answer is shown.
    notice: str | None = None
    #: The answer phrase itself ("$1.405 billion") for factoid questions, when one was found.
    short_answer: str | None = None
    #: Estimated probability that the cited text answers the question (None if not estimated).
    confidence: float | None = None
    #: True when the answer is more likely wrong than right (``confidence`` under
    #: ``Settings.uncertain_below``): ``text`` opens by saying so and there is no ``short_answer``.
    #: Never set on an abstention, which claims nothing.
    uncertain: bool = False
    #: With an abstention: the closest passages, shown as related reading, never as evidence.
    related: tuple[Citation, ...] = ()
    #: The documents the question was narrowed to: chosen by the user, named in the question, or,
    #: for a follow-up, the previous answer's. Empty when it was asked of every document.
    focus: tuple[str, ...] = ()
    #: Sentences of the LLM's reply left out because their cited passages do not support them
    #: (also when it fell back to the extractive answer; always 0 without an LLM).
    dropped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (citations as a list of dicts)."""
        return asdict(self) | {
            "citations": [asdict(c) for c in self.citations],
            "related": [asdict(c) for c in self.related],
        }


@dataclass(frozen=True)
class IndexReport:
    """What a build did, counted in documents (``chunks`` counts passages in the index afterwards)."""

    added: int
    updated: int
    removed: int
    unchanged: int
    chunks: int
    #: Seed files left out, each with the reason ("notes.pdf: binary file").
    skipped: tuple[str, ...] = field(default=())
    #: True when the whole index was rebuilt because the model or splitter settings changed.
    rebuilt: bool = False
    seconds: float = 0.0
    #: Where a damaged index was moved before this build started a fresh one (None: it was not).
    moved_aside: str | None = None
    #: Sentences this build embedded, and the precision the model ran in ("bf16" or "fp32").
    embedded: int = 0
    precision: str = ""

    @property
    def sentences_per_second(self) -> float:
        """Sentences embedded per second of the whole build (reading, parsing and writing included)."""
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    @property
    def changed(self) -> bool:
        """True when the build changed what the index holds."""
        return bool(self.added or self.updated or self.removed or self.rebuilt)
