"""Retrieval: dense (Chroma) plus lexical (BM25) passage search, fused; also a LangChain retriever."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from assistant.answering.about import asks_about_document, names_no_topic, topic_words
from assistant.answering.focus import Catalog, Focus, chosen_documents, named_documents
from assistant.answering.followup import is_elliptical, is_follow_up, term_weights
from assistant.indexing.evidence import DocumentInfo, Evidence, PassageHit, Sentence
from assistant.indexing.store import Generation
from assistant.ingest.lexical import BM25, compact, tokens
from assistant.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from assistant.indexing.embedding import Embedder
    from assistant.indexing.store import Store

Message = dict[str, str]

_RRF_K = 60  # the usual reciprocal-rank-fusion constant: ranks matter, raw score scales do not
_PAGE = 2000
# Capitalised words after a question's first word: the names a question brings.
_NAMES = re.compile(r"(?<=\s)[A-Z][\w'’-]*")
#: A question about "the article" is answered for each document in scope up to this many.
SCOPE_MAX = 5


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
        self.passages_of: dict[str, list[int]] = {}
        for i, m in enumerate(self.metadata):
            self.passages_of.setdefault(m["source"], []).append(i)
        self.sources = set(self.passages_of)
        #: What a question may call each document (title, site, author, file name).
        self.catalog = Catalog(
            {s: e for s, e in generation.manifest.get("documents", {}).items() if s in self.sources}
        )

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

    def info(self, source: str) -> DocumentInfo:
        """What an answerer may say about ``source`` itself: its title, header passage and lead."""
        title = str(self.catalog.entries.get(source, {}).get("title") or source)
        return DocumentInfo(source, title, self.header(source), self.lead(source))

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

    def focus(self, question: str, history: Sequence[Message] = (), chosen: Sequence[str] = ()) -> Focus:
        """The documents ``question`` is about (focus.py): chosen, named, or the previous answer's."""
        _, corpus = self.corpus()
        if chosen:
            return Focus(chosen_documents(chosen, corpus.catalog), "chosen")
        named = named_documents(question, corpus.catalog)
        if named:
            return Focus(named, "named")
        replies = [m["content"] for m in history if m["role"] == "assistant"]
        quoted = self.quoted_sources(replies[-1]) if replies and len(corpus.catalog) > 1 else ()
        if not 0 < len(quoted) < len(corpus.catalog):
            return Focus()
        # "When was it published?" after an answer from one story asks about that story: a question
        # about the document itself that names none leans on the conversation as a follow-up does.
        about = asks_about_document(question)
        if (is_follow_up(question) or (about and names_no_topic(question))) and not self._new_subject(
            question, quoted
        ):
            return Focus(quoted, "follow-up", widen=not about)
        # A question that stands alone by its words is asked of every document, and only of them:
        # trying the conversation's documents after it found nothing gave wrong-document answers.
        return Focus()

    def _new_subject(self, question: str, previous: Sequence[str]) -> bool:
        """Does a follow-up bring a subject that the previous documents never mention but others do?
        "And what about the tomato harvests?" after a factory story moves to another story, as does
        "How many workers were there in New Mexico?". The subject of an elliptical follow-up is all
        its words; of another, only its names: "How old is he?" brings none ("old" is what it asks)."""
        _, corpus = self.corpus()
        words = topic_words(question if is_elliptical(question) else " ".join(_NAMES.findall(question)))
        own = [t for t in words if corpus.bm25.known(t)]
        if not own:
            return False
        documents = {corpus.metadata[i]["source"] for t in own for i, _ in corpus.bm25.postings[t]}
        return not documents & set(previous)

    def quoted_sources(self, message: str) -> tuple[str, ...]:
        """The documents whose sentences ``message`` (an earlier answer) quotes word for word."""
        _, corpus = self.corpus()
        folded = compact(message)
        if len(folded) < 20 or not corpus.ids:
            return ()
        scores = corpus.bm25.scores(tokens(message[:4000]))
        found: set[str] = set()
        for i in sorted(scores, key=scores.__getitem__, reverse=True)[:12]:
            hit = corpus.hit(i, 0.0, 0.0)
            if hit.source in found:
                continue
            for k in range(len(hit.sentences)):
                quote = compact(hit.sentence_text(k))
                if len(quote) >= 12 and quote in folded:
                    found.add(hit.source)
                    break
        return tuple(sorted(found))

    def retrieve(self, question: str, query: str, focus: Focus | None = None) -> Evidence:
        """All the evidence an answerer needs for ``question``, found by searching for ``query``
        within ``focus`` (every document when it is empty)."""
        focus = focus or Focus()
        vector = self.embed_query(query)
        passages = self.search(query, self.settings.top_k, vector, sources=focus.sources)
        _, corpus = self.corpus()
        in_scope = list(focus.sources) or sorted(corpus.sources)
        about = None
        if len(in_scope) == 1:
            about = corpus.info(in_scope[0])
        elif passages:
            # The document a question about "the article" means is the one its topic words find: a
            # header passage can rank first on "published" or "by" alone, whatever the story.
            about = corpus.info(next((p.source for p in passages if p.kind != "header"), passages[0].source))
        scope: tuple[DocumentInfo, ...] = ()
        if len(in_scope) > 1:
            ranked = list(dict.fromkeys([p.source for p in passages if p.kind != "header"] + in_scope))
            scope = tuple(corpus.info(s) for s in ranked[:SCOPE_MAX])
        bm25 = corpus.bm25
        return Evidence(
            question=question,
            query=query,
            vector=vector,
            passages=tuple(passages),
            vectors=tuple(self.sentence_vectors(hit) for hit in passages),
            idf=term_weights(question, query, bm25),
            about=about,
            documents=len(in_scope),
            focus=focus.sources,
            focus_reason=focus.reason,
            widen=focus.widen,
            scope=scope,
        )

    def search(
        self,
        query: str,
        k: int | None = None,
        vector: np.ndarray | None = None,
        *,
        sources: Sequence[str] = (),
    ) -> list[PassageHit]:
        """The ``k`` best passages for ``query`` by reciprocal-rank fusion of dense and BM25 ranks,
        from the documents ``sources`` only when it is given (a Chroma ``where`` filter, not a
        post-filter: the best ``k`` of those documents, however the others rank)."""
        k = k or self.settings.top_k
        generation, corpus = self.corpus()
        allowed = [i for s in sources for i in corpus.passages_of.get(s, ())]
        if not corpus.ids or (sources and not allowed):
            return []
        vector = self.embed_query(query) if vector is None else vector
        depth = min(len(allowed) if sources else len(corpus.ids), max(3 * k, 10))
        where = None
        if sources:
            where = {"source": sources[0]} if len(sources) == 1 else {"source": {"$in": list(sources)}}
        found = generation.passages.query(
            query_embeddings=[vector], n_results=depth, include=["distances"], where=where
        )
        dense = {pid: 1.0 - dist for pid, dist in zip(found["ids"][0], found["distances"][0], strict=True)}
        lexical = corpus.bm25.scores(tokens(query))
        if sources:
            keep = set(allowed)
            lexical = {i: v for i, v in lexical.items() if i in keep}
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
