"""Indexing: documents in, a persisted Chroma index out, and read back as evidence.

Takes ingest's passages, embeds them with the packaged MiniLM (``embedding``) and publishes them as
one atomic index generation (``build``, ``store``, ``generations``), incrementally by content. Reading
the index gives the records an answerer works from (``evidence``: passages with their sentences and
source spans). The answer stage uses ``Store``, ``Embedder`` and the ``evidence`` records.
"""

from assistant.indexing.build import IndexedDocument, build_index, indexed_documents
from assistant.indexing.embedding import Embedder, shared_embedder
from assistant.indexing.evidence import DocumentInfo, Evidence, PassageHit, Sentence
from assistant.indexing.store import Store

__all__ = [
    "DocumentInfo",
    "Embedder",
    "Evidence",
    "IndexedDocument",
    "PassageHit",
    "Sentence",
    "Store",
    "build_index",
    "indexed_documents",
    "shared_embedder",
]
