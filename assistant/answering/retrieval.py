"""Retrieval: dense (Chroma) plus lexical (BM25) passage search, fused (a LangChain retriever over it:
langchain_retriever.py, kept apart so that answering a question never imports LangChain's retrievers)."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from assistant.answering.about import asks_about_document, names_no_topic, topic_words
from assistant.answering.focus import Focus, chosen_documents, named_documents
from assistant.answering.followup import is_elliptical, is_follow_up, term_weights
from assistant.indexing.evidence import DocumentInfo, Evidence, PassageHit, Sentence
from assistant.indexing.lexicon import Lexicon
from assistant.indexing.lexicon_writer import open_lexicon
from assistant.indexing.store import Generation
from assistant.indexing.vectors import Vectors, vectors_file
from assistant.ingest.lexical import compact, tokens
from assistant.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from assistant.indexing.embedding import Embedder
    from assistant.indexing.store import Store

Message = dict[str, str]

_RRF_K = 60  # the usual reciprocal-rank-fusion constant: ranks matter, raw score scales do not
# Capitalised words after a question's first word: the names a question brings.
_NAMES = re.compile(r"(?<=\s)[A-Z][\w'’-]*")
#: A question about "the article" is answered for each document in scope up to this many.
SCOPE_MAX = 5


class Corpus:
    """One index generation as questions read it: its lexical file (passages, BM25, the catalog),
    opened, not loaded; passages are read by id when a question ranks them."""

    def __init__(self, generation: Generation, lexicon: Lexicon) -> None:
        self.number = generation.number
        self.lexicon = lexicon
        #: What a question may call each document (title, site, author, file name).
        self.catalog = lexicon.catalog

    def hit(self, row: tuple[Any, ...], score: float, dense: float) -> PassageHit:
        """The PassageHit for a lexicon row (rowid, id, source, ordinal, kind, title, date, text, spans)."""
        _, pid, source, _, kind, title, date, text, spans = row
        return PassageHit(
            pid,
            source,
            title or "",
            date or None,
            text,
            tuple(Sentence(*s) for s in json.loads(spans)),
            score,
            dense,
            kind or "body",
            self.number,
        )

    def _first(self, source: str, ordinals: Sequence[int], kind: str) -> PassageHit | None:
        rows = self.lexicon.rows_by_id([f"{source}::{n}" for n in ordinals])
        for n in ordinals:
            row = rows.get(f"{source}::{n}")
            if row is not None and row[4] == kind:
                return self.hit(row, 0.0, 0.0)
        return None

    def header(self, source: str) -> PassageHit | None:
        """The title/date passage of ``source``, if it has one."""
        return self._first(source, (0,), "header")

    def lead(self, source: str) -> PassageHit | None:
        """The first body passage of ``source``: where a news story says what it is about."""
        return self._first(source, (0, 1), "body")

    def info(self, source: str) -> DocumentInfo:
        """What an answerer may say about ``source`` itself: its title, header passage and lead."""
        title = self.catalog.title(source) or source
        return DocumentInfo(source, title, self.header(source), self.lead(source))


class Searcher:
    """Hybrid passage search over the current index generation; safe to share between threads."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._corpus: Corpus | None = None
        self._lock = threading.Lock()
        self._lexicons: dict[int, Lexicon] = {}
        self._pair_files: dict[int, Vectors | None] = {}
        self._generations: dict[int, Generation] = {}
        self._vectors: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()

    def corpus(self) -> tuple[Generation, Corpus]:
        """The current generation and its corpus (reopened when a build publishes anew)."""
        generation = self.store.require()
        with self._lock:
            if self._corpus is None or self._corpus.number != generation.number:
                lexicon = open_lexicon(self.settings, generation)
                generation.documents.answer_born_from(lexicon.catalog.born)  # not the whole list
                self._corpus = Corpus(generation, lexicon)
                # A question still reading the previous generation keeps its file open until the next one.
                for number in [n for n in self._lexicons if n < generation.number - 1]:
                    self._lexicons.pop(number).close()
                self._lexicons[generation.number] = lexicon
                pairs = {int(n) for n in generation.manifest["pairs"]}
                pairs |= set(generation.manifest.get("previous_pairs", []))
                for pair in [p for p in self._pair_files if p not in pairs]:
                    opened = self._pair_files.pop(pair)
                    if opened is not None:
                        opened.close()
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
        own = [t for t in words if corpus.lexicon.known(t)]
        return bool(own) and not any(corpus.lexicon.in_sources(t, previous) for t in own)

    def quoted_sources(self, message: str) -> tuple[str, ...]:
        """The documents whose sentences ``message`` (an earlier answer) quotes word for word."""
        _, corpus = self.corpus()
        folded = compact(message)
        if len(folded) < 20 or not corpus.lexicon.count():
            return ()
        ranked = corpus.lexicon.search(tokens(message[:4000]), 12)
        rows = corpus.lexicon.rows([i for i, _ in ranked])
        found: set[str] = set()
        for i, _ in ranked:
            hit = corpus.hit(rows[i], 0.0, 0.0)
            if hit.source in found:
                continue
            for k in range(len(hit.sentences)):
                quote = compact(hit.sentence_text(k))
                if len(quote) >= 12 and quote in folded:
                    found.add(hit.source)
                    break
        return tuple(sorted(found))

    def retrieve(self, question: str, query: str, focus: Focus | None = None, history: str = "") -> Evidence:
        """All the evidence an answerer needs for ``question``, found by searching for ``query``
        within ``focus`` (every document when it is empty); ``history`` is the previous question."""
        focus = focus or Focus()
        vector = self.embed_query(query)
        passages = self.search(query, self.settings.top_k, vector, sources=focus.sources)
        _, corpus = self.corpus()
        documents = len(focus.sources) or len(corpus.catalog)
        # The documents in scope, as far as a scope list can need them (not every document's name).
        in_scope = list(focus.sources) or corpus.catalog.first(SCOPE_MAX)
        about = None
        if documents == 1:
            about = corpus.info(in_scope[0])
        elif passages:
            # The document a question about "the article" means is the one its topic words find: a
            # header passage can rank first on "published" or "by" alone, whatever the story.
            about = corpus.info(next((p.source for p in passages if p.kind != "header"), passages[0].source))
        scope: tuple[DocumentInfo, ...] = ()
        if documents > 1:
            ranked = list(dict.fromkeys([p.source for p in passages if p.kind != "header"] + in_scope))
            scope = tuple(corpus.info(s) for s in ranked[:SCOPE_MAX])
        return Evidence(
            question=question,
            query=query,
            vector=vector,
            passages=tuple(passages),
            vectors=tuple(self.sentence_vectors(hit) for hit in passages),
            idf=term_weights(question, query, corpus.lexicon),
            about=about,
            documents=documents,
            focus=focus.sources,
            focus_reason=focus.reason,
            widen=focus.widen,
            scope=scope,
            history=history,
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
        lexicon = corpus.lexicon
        allowed = lexicon.passages_of(sources)
        if not lexicon.count() or (sources and not allowed):
            return []
        vector = self.embed_query(query) if vector is None else vector
        depth = min(len(allowed) if sources else lexicon.count(), max(3 * k, 10))
        where = None
        if sources:
            where = {"source": sources[0]} if len(sources) == 1 else {"source": {"$in": list(sources)}}
        found = generation.passages.query(
            query_embeddings=[vector], n_results=depth, include=["distances"], where=where
        )
        dense = {pid: 1.0 - dist for pid, dist in zip(found["ids"][0], found["distances"][0], strict=True)}
        lexical = lexicon.search(tokens(query), depth, allowed)
        ids = {rowid: row[1] for rowid, row in lexicon.rows([i for i, _ in lexical]).items()}
        fused: dict[str, float] = {}
        for rank, pid in enumerate(dense):
            fused[pid] = 1.0 / (_RRF_K + rank)
        for rank, (rowid, _) in enumerate(lexical):
            fused[ids[rowid]] = fused.get(ids[rowid], 0.0) + 1.0 / (_RRF_K + rank)
        floor = min(dense.values(), default=0.0)
        best = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
        rows = lexicon.rows_by_id(best)
        return [corpus.hit(rows[pid], fused[pid], dense.get(pid, floor)) for pid in best if pid in rows]

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
        born = generation.documents.born(hit.source)
        stored = self._pair_vectors(born) if born is not None else None
        found = stored.get(ids) if stored is not None else {}
        if len(found) < len(ids):  # no file for the pair (an older index, a new client of a server)
            got = generation.sentences.get(ids=ids, include=["embeddings"])
            found = dict(zip(got["ids"], got["embeddings"], strict=True))
        vectors = np.asarray([found[sid] for sid in ids], dtype=np.float32)
        with self._lock:
            self._vectors[key] = vectors
            while len(self._vectors) > 4096:
                self._vectors.popitem(last=False)
        return vectors

    def _pair_vectors(self, pair: int) -> Vectors | None:
        """The sentence-vector file of collection pair ``pair`` (opened once), or None without one."""
        with self._lock:
            if pair not in self._pair_files:
                path = vectors_file(self.settings.index_dir, pair)
                self._pair_files[pair] = Vectors(path) if path.exists() else None
            return self._pair_files[pair]
