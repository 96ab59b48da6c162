"""A LangChain retriever over the assistant's index, for use in any LangChain chain.

Kept apart from retrieval.py: importing LangChain's retriever classes costs 0.6 s of a cold start,
which answering a question does not need.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from assistant.indexing.evidence import PassageHit


class HybridRetriever(BaseRetriever):
    """LangChain retriever over the assistant's index (dense + BM25, fused); usable in any chain."""

    searcher: Any
    k: int = 4

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [to_document(hit) for hit in self.searcher.search(query, self.k)]


def to_document(hit: PassageHit) -> Document:
    """A LangChain Document for a hit; ``metadata["hit"]`` keeps the PassageHit itself."""
    return Document(
        page_content=hit.text,
        id=hit.id,
        metadata={"source": hit.source, "title": hit.title, "date": hit.date, "score": hit.score, "hit": hit},
    )
