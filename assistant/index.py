"""Index: embed the seeds' passages into Chroma, incrementally and atomically.

Only sentences are embedded; a passage's vector is the normalised mean of its sentences'
vectors, so each piece of text goes through the model once and the answerer gets sentence
vectors for free.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from assistant.cleaning import CLEANER_VERSION
from assistant.embedding import embed, fingerprint
from assistant.errors import NoSeedsError
from assistant.passages import SPLITTER_VERSION, Passage, embedding_text, passage_text, split_document
from assistant.results import IndexReport
from assistant.seeds import SeedDocument, load_seeds
from assistant.settings import Settings
from assistant.store import Generation, Store

log = logging.getLogger(__name__)

_PAGE = 1000  # records per Chroma read/write call


@dataclass(frozen=True)
class IndexedDocument:
    """A document as the index knows it."""

    source: str
    title: str
    date: str | None
    passages: int
    author: str | None = None


def index_fingerprint(settings: Settings) -> dict[str, Any]:
    """Everything that shapes the vectors: a difference means the old vectors cannot be reused."""
    return fingerprint(settings.embedding_model) | {
        "splitter": SPLITTER_VERSION,
        "cleaner": CLEANER_VERSION,
        "passage_chars": settings.passage_chars,
    }


def build_index(
    settings: Settings | None = None,
    *,
    progress: bool | None = None,
    wait: bool = False,
    store: Store | None = None,
) -> IndexReport:
    """Bring the index in line with the seeds folder and report what changed.

    Unchanged documents are copied, not re-embedded. Bad seed files are skipped with a warning
    (and keep their previous version in the index). Readers see the old index until the new one
    is complete. ``progress`` shows a bar (default: when stderr is a terminal); ``wait`` waits
    for another build instead of raising IndexBusyError.
    """
    settings = settings or Settings()
    started = time.perf_counter()
    store = store or Store(settings)
    target = index_fingerprint(settings)
    with store.writer_lock(wait=wait):
        # Read the seeds under the lock: a build that waited must see the folder as it is now.
        documents, problems = load_seeds(settings.seeds_dir, int(settings.max_seed_mb * 2**20))
        if not documents:
            raise NoSeedsError(settings.seeds_dir, len(problems))
        current = store.current(fresh=True)
        rebuilt = bool(current and current.manifest.get("fingerprint") != target)
        old_docs: dict[str, dict[str, Any]] = current.manifest["documents"] if current else {}
        reusable = {} if rebuilt else old_docs
        troubled = {p.source for p in problems}

        fresh = [d for d in documents if reusable.get(d.source, {}).get("digest") != d.digest]
        keep = {d.source for d in documents if d not in fresh} | (troubled & reusable.keys())
        added = sum(d.source not in old_docs for d in fresh)
        updated = len(fresh) - added
        removed = len(old_docs.keys() - {d.source for d in documents} - troubled)
        unchanged = len(keep)
        skipped = tuple(str(p) for p in problems)

        if current and not fresh and not removed and not rebuilt:
            chunks = sum(d["passages"] for d in old_docs.values())
            return IndexReport(0, 0, 0, unchanged, chunks, skipped, False, time.perf_counter() - started)

        number, passages_col, sentences_col = store.start_generation()
        try:
            manifest_docs = {s: old_docs[s] for s in keep}
            if current and keep:
                _copy(current, keep, passages_col, sentences_col)
            manifest_docs |= _embed_documents(fresh, settings, passages_col, sentences_col, progress)
            store.publish(
                number, {"fingerprint": target, "documents": manifest_docs, "built_at": time.time()}
            )
        except BaseException:
            store.discard(number)
            raise
    chunks = sum(d["passages"] for d in manifest_docs.values())
    return IndexReport(
        added, updated, removed, unchanged, chunks, skipped, rebuilt, time.perf_counter() - started
    )


def indexed_documents(
    settings: Settings | None = None, *, store: Store | None = None
) -> tuple[IndexedDocument, ...]:
    """The documents in the current index, sorted by source (empty when there is no index)."""
    generation = (store or Store(settings or Settings())).current(fresh=True)
    if generation is None:
        return ()
    return tuple(
        IndexedDocument(source, d["title"], d.get("date"), d["passages"], d.get("author"))
        for source, d in sorted(generation.manifest["documents"].items())
    )


def _copy(current: Generation, sources: set[str], passages_col: Any, sentences_col: Any) -> None:
    """Carry unchanged documents' records, vectors included, into the new generation."""
    where = {"source": {"$in": sorted(sources)}}
    for old, new in ((current.passages, passages_col), (current.sentences, sentences_col)):
        offset = 0
        while True:
            page = old.get(
                where=where, include=["embeddings", "documents", "metadatas"], limit=_PAGE, offset=offset
            )
            if not page["ids"]:
                break
            new.add(
                ids=page["ids"],
                embeddings=page["embeddings"],
                documents=page["documents"],
                metadatas=page["metadatas"],
            )
            offset += len(page["ids"])


def _embed_documents(
    documents: list[SeedDocument],
    settings: Settings,
    passages_col: Any,
    sentences_col: Any,
    progress: bool | None,
) -> dict[str, dict[str, Any]]:
    """Split, embed and store new or changed documents in batches; return their manifest entries."""
    import numpy as np
    from tqdm import tqdm

    split = [(doc, split_document(doc, settings.passage_chars)) for doc in documents]
    total = sum(len(p.sentences) for _, passages in split for p in passages)
    manifest: dict[str, dict[str, Any]] = {}
    bar = tqdm(
        total=total,
        desc="Embedding sentences",
        unit="sent",
        disable=None if progress is None else not progress,
    )
    with bar:
        # Groups of ~2k sentences (3 MB of vectors), embedded shortest first in slices: sentences of like
        # length share a batch, so little padding goes through the model, and the bar moves each slice.
        for batch in _batches(split, settings.batch_size * 32):
            texts = [embedding_text(doc.text[s:e]) for doc, passage in batch for s, e in passage.sentences]
            order = np.argsort([len(t) for t in texts], kind="stable")
            vectors = np.empty((len(texts), 0), dtype=np.float32)
            step = settings.batch_size * 4
            for start in range(0, len(texts), step):
                rows = order[start : start + step]
                part = embed(settings.embedding_model, [texts[r] for r in rows], settings.batch_size)
                if vectors.shape[1] == 0:
                    vectors = np.empty((len(texts), part.shape[1]), dtype=np.float32)
                vectors[rows] = part
                bar.update(len(rows))
            p_ids, p_docs, p_meta, p_vecs, s_ids, s_meta = [], [], [], [], [], []
            row = 0
            for doc, passage in batch:
                n = len(passage.sentences)
                mean = vectors[row : row + n].mean(axis=0)
                p_vecs.append(mean / (np.linalg.norm(mean) or 1.0))
                pid = f"{doc.source}::{passage.ordinal}"
                text, spans = passage_text(doc.text, passage)
                p_ids.append(pid)
                p_docs.append(text)
                p_meta.append(_passage_metadata(doc, passage, spans))
                s_ids.extend(f"{pid}::{i}" for i in range(n))
                s_meta.extend({"source": doc.source, "passage": pid} for _ in range(n))
                row += n
            passages_col.add(ids=p_ids, embeddings=np.stack(p_vecs), documents=p_docs, metadatas=p_meta)
            sentences_col.add(ids=s_ids, embeddings=vectors, metadatas=s_meta)
    for doc, passages in split:
        manifest[doc.source] = {
            "digest": doc.digest,
            "title": doc.title,
            "date": doc.date,
            "author": doc.author,
            "passages": len(passages),
        }
    return manifest


def _passage_metadata(
    doc: SeedDocument, passage: Passage, spans: list[tuple[int, int, int, int]]
) -> dict[str, Any]:
    return {
        "source": doc.source,
        "ordinal": passage.ordinal,
        "kind": passage.kind,
        "title": doc.title,
        "date": doc.date or "",
        "sentences": json.dumps(spans),
    }


def _batches(
    split: Iterable[tuple[SeedDocument, list[Passage]]], max_sentences: int
) -> Iterator[list[tuple[SeedDocument, Passage]]]:
    """Group passages so each batch embeds about ``max_sentences`` sentences (bounded memory)."""
    batch: list[tuple[SeedDocument, Passage]] = []
    size = 0
    for doc, passages in split:
        for passage in passages:
            batch.append((doc, passage))
            size += len(passage.sentences)
            if size >= max_sentences:
                yield batch
                batch, size = [], 0
    if batch:
        yield batch
