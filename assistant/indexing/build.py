"""Index: embed the seeds' passages into Chroma, incrementally and atomically.

Only sentences are embedded; a passage's vector is the normalised mean of its sentences'
vectors, so each piece of text goes through the model once and the answerer gets sentence
vectors for free. A build reads every seed's bytes but parses and embeds only new or changed
ones, writes them beside the published records and flips one pointer (see store.py): its cost
follows what changed, not the size of the index.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from assistant.errors import IndexDamagedError, NoSeedsError
from assistant.indexing import generations, lexicon, lexicon_writer
from assistant.indexing.disk import check_space
from assistant.indexing.embedding import embed, fingerprint, shared_embedder
from assistant.indexing.generations import Batch
from assistant.indexing.store import Generation, Store
from assistant.ingest.cleaning import CLEANER_VERSION
from assistant.ingest.passages import SPLITTER_VERSION, Passage, embedding_text, passage_text, split_document
from assistant.ingest.seeds import RawSeed, SeedDocument, SeedProblem, scan_seeds
from assistant.ingest.worker import parse_all
from assistant.results import IndexReport
from assistant.settings import Settings

log = logging.getLogger(__name__)
_WORD = re.compile(r"[^\W_]", re.UNICODE)

#: ``progress``: a bar on stderr (True/False/None = when stderr is a terminal), or a callable
#: ``(done, total)`` called as sentences are embedded (the web's Documents tab shows it).
Progress = bool | Callable[[int, int], None] | None


@dataclass(frozen=True)
class IndexedDocument:
    """A document as the index knows it."""

    source: str
    title: str
    date: str | None
    passages: int
    author: str | None = None
    #: The outlet or site the document names for itself ("Reuters", "Nature"), when it names one.
    site: str | None = None
    #: Sentences addressed to an AI that the document holds (left out of the index; see inspect).
    instructions: int = 0


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
    progress: Progress = None,
    wait: bool = False,
    store: Store | None = None,
) -> IndexReport:
    """Bring the index in line with the seeds folder and report what changed.

    Unchanged documents are left in place; new and changed ones are embedded beside them and
    published at once. Bad seed files are skipped with a reason in ``IndexReport.skipped`` (and
    keep their previous version in the index). Readers see the old index until the new one is
    complete. ``progress`` shows a bar (default: when stderr is a terminal) or is called with
    ``(done, total)`` sentences; ``wait`` waits for another build instead of raising
    IndexBusyError; ``store`` is the caller's Store (one is built from ``settings`` if missing).
    An index folder deleted under a running app is recreated.
    """
    settings = settings or (store.settings if store else Settings())
    if not settings.seeds_dir.is_dir():  # before anything is written: no empty index for a typo
        raise NoSeedsError(settings.seeds_dir)
    store = store or Store(settings)
    started = time.perf_counter()
    target = index_fingerprint(settings)
    with store.writer_lock(wait=wait):
        store.check_folder(repair=True)
        # Read the seeds under the lock: a build that waited must see the folder as it is now.
        raws, problems = scan_seeds(settings.seeds_dir, int(settings.max_seed_mb * 2**20))
        moved = None
        try:
            current = store.current(fresh=True)
        except IndexDamagedError:
            if settings.chroma_host:
                raise  # a server's store is its operator's to repair
            moved, current = str(store.move_aside()), None
        rebuilt = bool(current and current.manifest.get("fingerprint") != target)
        old_docs: dict[str, dict[str, Any]] = dict(current.documents) if current else {}
        reusable = {} if rebuilt else old_docs
        changed = [r for r in raws if reusable.get(r.source, {}).get("digest") != r.digest]
        split, parse_problems = _parse(changed, settings)
        problems = sorted(problems + parse_problems, key=lambda p: p.source.split("/"))
        if not split and len(changed) == len(raws):  # nothing usable at all
            raise NoSeedsError(settings.seeds_dir, len(problems))
        troubled = {p.source for p in problems}
        keep = ({r.source for r in raws} - {r.source for r in changed}) | (troubled & reusable.keys())
        added = sum(doc.source not in old_docs for doc, _ in split)
        updated = len(split) - added
        gone = old_docs.keys() - keep - {doc.source for doc, _ in split}
        removed = len(gone - {doc.source for doc, _ in split} - troubled)
        skipped = tuple(str(p) for p in problems)

        if current and not split and not gone and not rebuilt:
            chunks = sum(d["passages"] for d in old_docs.values())
            return IndexReport(
                0, 0, 0, len(keep), chunks, skipped, False, time.perf_counter() - started, moved
            )

        merge = set() if rebuilt else generations.to_merge(current, {doc.source for doc, _ in split} | gone)
        copied = {s for s in keep if int(old_docs[s]["born"]) in merge}
        writing = sum(len(passages) + sum(len(p.sentences) for p in passages) for _, passages in split)
        writing += sum(old_docs[s]["passages"] + old_docs[s].get("sentences", 0) for s in copied)
        check_space(settings, writing)
        batch = generations.begin(store, current)
        words = None
        try:
            words = _lexicon_writer(
                settings, current if not rebuilt else None, batch.number, old_docs.keys() - keep
            )
            documents = {s: old_docs[s] for s in keep}
            if current and copied:
                generations.copy(current, copied, batch)
                documents |= {s: old_docs[s] | {"born": batch.number} for s in copied}
                words.moved(copied, batch.number)
            embedded = _embed_documents(split, settings, batch, progress, words)
            words.finish(embedded)
            documents |= embedded
            manifest = {"fingerprint": target, "documents": documents, "built_at": time.time()}
            generations.publish(store, batch, manifest)
        except BaseException:
            if words is not None:
                words.abandon()
            generations.discard(store, batch)
            raise
    chunks = sum(d["passages"] for d in documents.values())
    return IndexReport(
        added,
        updated,
        removed,
        len(keep),
        chunks,
        skipped,
        rebuilt,
        time.perf_counter() - started,
        moved,
        embedded=sum(d["sentences"] for d in embedded.values()),
        precision=shared_embedder(
            settings.embedding_model, settings.precision
        ).precision,  # its batches' path
    )


def _lexicon_writer(
    settings: Settings, current: Generation | None, number: int, replaced: Iterable[str]
) -> lexicon_writer.Writer:
    """The writer of generation ``number``'s lexical file: the current one's, less ``replaced``
    (changed and removed documents), or a fresh file when there is no current one to start from."""
    if current is None:
        return lexicon_writer.Writer(lexicon.file_for(settings.index_dir, number), None, ())
    previous = lexicon_writer.open_lexicon(
        settings, current
    )  # made first if an older version built the index
    previous.close()
    path = lexicon.file_for(settings.index_dir, number)
    return lexicon_writer.Writer(path, previous.path, replaced)


def indexed_documents(
    settings: Settings | None = None, *, store: Store | None = None
) -> tuple[IndexedDocument, ...]:
    """The documents in the current index, sorted by source (empty when there is no index)."""
    store = store or Store(settings or Settings())
    generation = store.current(fresh=True)
    if generation is None:
        return ()
    return tuple(
        IndexedDocument(
            source,
            d["title"],
            d.get("date"),
            d["passages"],
            d.get("author"),
            d.get("site"),
            int(d.get("instructions", 0)),
        )
        for source, d in sorted(generation.documents.items())
    )


def _parse(
    raws: list[RawSeed], settings: Settings
) -> tuple[list[tuple[SeedDocument, list[Passage]]], list[SeedProblem]]:
    """Parse and split new or changed seeds; those with no passages, or too many, become problems."""
    split, problems = [], []
    for raw, doc in zip(raws, parse_all(raws, settings.parse_seconds), strict=True):
        if isinstance(doc, SeedProblem):
            problems.append(doc)
            continue
        passages = split_document(doc, settings.passage_chars)
        if not any(_WORD.search(doc.text[a:b]) for p in passages for a, b in p.sentences):
            problems.append(
                SeedProblem(raw.source, "nothing to index: no words (only punctuation or markup)")
            )
        elif len(passages) > settings.max_seed_passages:
            problems.append(
                SeedProblem(
                    raw.source,
                    f"{len(passages)} passages, over the {settings.max_seed_passages}-passage limit for one "
                    "seed; split the file, or raise ASSISTANT_MAX_SEED_PASSAGES",
                )
            )
        else:
            split.append((doc, passages))
    for problem in problems:
        log.info("Skipping seed %s", problem)
    return split, problems


def _embed_documents(
    split: list[tuple[SeedDocument, list[Passage]]],
    settings: Settings,
    batch_out: Batch,
    progress: Progress,
    words: lexicon_writer.Writer,
) -> dict[str, dict[str, Any]]:
    """Embed and store new or changed documents in batches; return their manifest entries."""
    import numpy as np
    from tqdm import tqdm

    total = sum(len(p.sentences) for _, passages in split for p in passages)
    report = progress if callable(progress) else None
    bar = tqdm(
        total=total,
        desc="Embedding sentences",
        unit="sent",
        disable=True if report else None if progress is None else not progress,
    )
    done = 0
    if report:
        report(0, total)
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
                part = embed(
                    settings.embedding_model,
                    [texts[r] for r in rows],
                    settings.batch_size,
                    settings.precision,
                )
                if vectors.shape[1] == 0:
                    vectors = np.empty((len(texts), part.shape[1]), dtype=np.float32)
                vectors[rows] = part
                bar.update(len(rows))
                done += len(rows)
                if report:
                    report(done, total)
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
            batch_out.add("passages", p_ids, np.stack(p_vecs), p_meta, documents=p_docs)
            batch_out.add("sentences", s_ids, vectors, s_meta)
            words.add(
                [
                    (pid, m["source"], m["ordinal"], m["kind"], m["title"], m["date"], text, m["sentences"])
                    for pid, m, text in zip(p_ids, p_meta, p_docs, strict=True)
                ]
            )
    manifest: dict[str, dict[str, Any]] = {}
    for doc, passages in split:
        manifest[doc.source] = {
            "born": batch_out.number,
            "digest": doc.digest,
            "title": doc.title,
            "date": doc.date,
            "author": doc.author,
            "site": doc.site,
            "instructions": doc.instructions,
            "passages": len(passages),
            "sentences": sum(len(p.sentences) for p in passages),
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
