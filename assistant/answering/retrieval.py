"""Retrieval: dense (Chroma) plus lexical (BM25) passage search, fused; also a LangChain retriever."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from assistant.indexing.evidence import DocumentInfo, Evidence, PassageHit, Sentence
from assistant.indexing.store import Generation
from assistant.ingest.lexical import BM25, tokens
from assistant.settings import Settings

if TYPE_CHECKING:
    import numpy as np

    from assistant.indexing.embedding import Embedder
    from assistant.indexing.store import Store

_RRF_K = 60  # the usual reciprocal-rank-fusion constant: ranks matter, raw score scales do not
_PAGE = 2000


class Corpus:
    """One index generation held in memory for lexical search: passage texts, metadata, BM25."""

    def __init__(self, generation: Generation) -> None:
        self.number = generation.number
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.metadata: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = generation.passages.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            if not page["ids"]:
                break
            self.ids += page["ids"]
            self.texts += page["documents"]
            self.metadata += page["metadatas"]
            offset += len(page["ids"])
        self.position = {pid: i for i, pid in enumerate(self.ids)}
        # Titles count as passage text for lexical search: a headline names what the story is about.
        self.bm25 = BM25(
            [f"{m.get('title', '')} {t}" for m, t in zip(self.metadata, self.texts, strict=True)]
        )
        self.sources = {m["source"] for m in self.metadata}

    def hit(self, i: int, score: float, dense: float) -> PassageHit:
        """The PassageHit for passage number ``i``."""
        meta = self.metadata[i]
        spans = tuple(Sentence(*s) for s in json.loads(meta["sentences"]))
        return PassageHit(
            self.ids[i],
            meta["source"],
            meta.get("title", ""),
            meta.get("date") or None,
            self.texts[i],
            spans,
            score,
            dense,
            meta.get("kind", "body"),
            self.number,
        )  # type: ignore[arg-type]

    def header(self, source: str) -> PassageHit | None:
        """The title/date passage of ``source``, if it has one."""
        i = self.position.get(f"{source}::0")
        if i is None or self.metadata[i].get("kind") != "header":
            return None
        return self.hit(i, 0.0, 0.0)

    def lead(self, source: str) -> PassageHit | None:
        """The first body passage of ``source``: where a news story says what it is about."""
        for ordinal in (0, 1):
            i = self.position.get(f"{source}::{ordinal}")
            if i is not None and self.metadata[i].get("kind") == "body":
                return self.hit(i, 0.0, 0.0)
        return None


class Searcher:
    """Hybrid passage search over the current index generation; safe to share between threads."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._corpus: Corpus | None = None
        self._lock = threading.Lock()
        self._generations: dict[int, Generation] = {}
        self._vectors: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()

    def corpus(self) -> tuple[Generation, Corpus]:
        """The current generation and its in-memory corpus (reloaded when a build publishes anew)."""
        generation = self.store.require()
        with self._lock:
            if self._corpus is None or self._corpus.number != generation.number:
                self._corpus = Corpus(generation)
                self._generations = {n: g for n, g in self._generations.items() if n >= generation.number - 1}
                self._generations[generation.number] = generation
                self._vectors.clear()
            return generation, self._corpus

    def embed_query(self, text: str) -> np.ndarray:
        """The question's vector."""
        return self.embedder.encode([text])[0]

    def retrieve(self, question: str, query: str) -> Evidence:
        """All the evidence an answerer needs for ``question``, found by searching for ``query``."""
        vector = self.embed_query(query)
        passages = self.search(query, self.settings.top_k, vector)
        _, corpus = self.corpus()
        about = None
        if passages:
            # The document a question about "the article" means is the one its topic words find: a
            # header passage can rank first on "published" or "by" alone, whatever the story.
            source = next((p.source for p in passages if p.kind != "header"), passages[0].source)
            about = DocumentInfo(source, corpus.header(source), corpus.lead(source))
        bm25 = corpus.bm25
        return Evidence(
            question=question,
            query=query,
            vector=vector,
            passages=tuple(passages),
            vectors=tuple(self.sentence_vectors(hit) for hit in passages),
            idf={t: bm25.idf(t) for t in tokens(query) if bm25.known(t)},
            about=about,
            documents=len(corpus.sources),
        )

    def search(self, query: str, k: int | None = None, vector: np.ndarray | None = None) -> list[PassageHit]:
        """The ``k`` best passages for ``query`` by reciprocal-rank fusion of dense and BM25 ranks."""
        k = k or self.settings.top_k
        generation, corpus = self.corpus()
        if not corpus.ids:
            return []
        vector = self.embed_query(query) if vector is None else vector
        depth = min(len(corpus.ids), max(3 * k, 10))
        found = generation.passages.query(query_embeddings=[vector], n_results=depth, include=["distances"])
        dense = {pid: 1.0 - dist for pid, dist in zip(found["ids"][0], found["distances"][0], strict=True)}
        lexical = corpus.bm25.scores(tokens(query))
        lexical_rank = sorted(lexical, key=lexical.__getitem__, reverse=True)[:depth]
        fused: dict[int, float] = {}
        for rank, pid in enumerate(dense):
            fused[corpus.position[pid]] = 1.0 / (_RRF_K + rank)
        for rank, i in enumerate(lexical_rank):
            fused[i] = fused.get(i, 0.0) + 1.0 / (_RRF_K + rank)
        floor = min(dense.values(), default=0.0)
        best = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
        return [corpus.hit(i, fused[i], dense.get(corpus.ids[i], floor)) for i in best]

    def sentence_vectors(self, hit: PassageHit) -> np.ndarray:
        """The stored vectors of ``hit``'s sentences (cached: repeated questions reuse them)."""
        import numpy as np

        current, _ = self.corpus()
        # The generation the hit came from, even if a build has published a newer one since.
        generation = self._generations.get(hit.generation, current)
        key = (generation.number, hit.id)
        with self._lock:
            cached = self._vectors.get(key)
            if cached is not None:
                self._vectors.move_to_end(key)
                return cached
        ids = [f"{hit.id}::{i}" for i in range(len(hit.sentences))]
        got = generation.sentences.get(ids=ids, include=["embeddings"])
        order = {sid: n for n, sid in enumerate(got["ids"])}
        vectors = np.asarray([got["embeddings"][order[sid]] for sid in ids], dtype=np.float32)
        with self._lock:
            self._vectors[key] = vectors
            while len(self._vectors) > 4096:
                self._vectors.popitem(last=False)
        return vectors


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
