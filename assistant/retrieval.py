"""Hybrid retrieval: dense (Chroma) plus lexical (BM25), fused; also a LangChain retriever."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PassageHit:
    """A retrieved passage and its sentences, ready for an answerer to quote from."""

    id: str
    source: str
    title: str
    date: str | None
    #: The passage's sentences, exactly as in the source, joined by single spaces.
    text: str
    #: Per sentence: (start in ``text``, end in ``text``, start in source, end in source).
    sentences: tuple[tuple[int, int, int, int], ...]
    #: Fused retrieval score (higher is better) and the dense cosine similarity.
    score: float
    dense: float
