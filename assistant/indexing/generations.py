"""Writing a generation: what a build adds, which older collection pairs it merges, and publishing.

A build writes its new and changed documents into a collection pair of its own (``g<number>``);
published pairs are never changed (a reader in another process caches their vectors). A document's
records live in the pair of the build that wrote them (``born`` in the manifest). So that the pairs
stay few and the disk stays near the live data, a build also copies, vectors included, the live
documents of pairs that are mostly superseded or small next to the largest, and of the smallest
pairs when there are more than ``MAX_PAIRS``: an unchanged document is copied a few times over its
life, and a build copies at most an eighth of the index (copying costs far less than embedding).
Pairs no generation can still read (the current or the previous one) are dropped with their folders.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from assistant.indexing import lexicon
from assistant.indexing.disk import remove_orphan_folders, vacuum_if_sparse
from assistant.indexing.store import MAX_PAIRS, Generation, Store
from assistant.indexing.vectors import VectorWriter, remove_vectors, vectors_file
from assistant.indexing.views import live_passages

log = logging.getLogger(__name__)

#: A pair whose live records fall below this share of what it holds is merged into the next build.
MIN_LIVE_SHARE = 0.5
#: A pair this many times smaller than the largest one is merged into the next build.
SMALL_SHARE = 8


@dataclass
class Batch:
    """The records a build is writing (generation ``number``) before it is published."""

    number: int
    previous: Generation | None
    passages: Any
    sentences: Any
    #: The pair's vectors, also kept in a file of their own (vectors.py).
    vectors: VectorWriter | None = None
    written: tuple[int, int] = (0, 0)  # passages, sentences

    def add(
        self, kind: str, ids: list[str], embeddings: Any, metadatas: list[dict[str, Any]], **kw: Any
    ) -> None:
        """Add records of this generation (their metadata gains ``born``)."""
        collection = self.passages if kind == "passages" else self.sentences
        collection.add(
            ids=ids, embeddings=embeddings, metadatas=[m | {"born": self.number} for m in metadatas], **kw
        )
        if self.vectors is not None:
            self.vectors.add(ids, embeddings, kind)
        p, s = self.written
        self.written = (p + len(ids), s) if kind == "passages" else (p, s + len(ids))


def _keep(current: Generation | None) -> set[int]:
    if current is None:
        return set()
    return {int(n) for n in current.manifest["pairs"]} | set(current.manifest.get("previous_pairs", []))


def begin(store: Store, current: Generation | None) -> Batch:
    """Start generation N+1: clear what killed builds left, then a fresh pair to write into."""
    store.drop_pairs(keep=_keep(current))
    remove_orphan_folders(store.settings)
    lexicon.remove_others(store.settings.index_dir, None)
    remove_vectors(store.settings.index_dir, _keep(current))
    # A new index starts from the clock, not 1: a reader that knew an index deleted and recreated
    # under it must never take the new generation 1 for the old one it has cached.
    number = current.number + 1 if current else int(time.time() * 1000)
    passages, sentences = store.pair(number, create=True)
    writer = VectorWriter(vectors_file(store.settings.index_dir, number))
    return Batch(number, current, passages, sentences, writer)


def to_merge(current: Generation | None, changed: set[str]) -> set[int]:
    """The pairs whose live, unchanged documents this build copies into its own pair."""
    if current is None:
        return set()
    docs = current.documents
    live: dict[int, int] = {}
    for source, d in docs.items():
        if source not in changed:
            live[int(d["born"])] = live.get(int(d["born"]), 0) + d["passages"] + d.get("sentences", 0)
    held = {int(n): v["passages"] + v["sentences"] for n, v in current.manifest["pairs"].items()}
    largest = max(live.values(), default=0)
    merge = {
        n
        for n, count in live.items()
        # mostly superseded (reclaim the disk), or small next to the largest pair: copying it costs
        # little, and every pair has a fixed cost (Chroma preallocates each HNSW folder)
        if count < MIN_LIVE_SHARE * held.get(n, count) or count * SMALL_SHARE < largest
    }
    rest = sorted((n for n in live if n not in merge), key=live.__getitem__)
    while len(rest) + 1 > MAX_PAIRS:
        merge.add(rest.pop(0))
    return merge


def copy(current: Generation, sources: set[str], batch: Batch) -> None:
    """Copy these documents' records, vectors included, into ``batch``'s pair."""
    include = ["embeddings", "documents", "metadatas"]
    plain = [pid for pid in current.passages.live_ids() if pid.rsplit("::", 1)[0] in sources]
    for start in range(0, len(plain), 1000):
        page = current.passages.get(ids=plain[start : start + 1000], include=include)
        batch.add("passages", page["ids"], page["embeddings"], page["metadatas"], documents=page["documents"])
    docs = current.documents
    by_pair: dict[int, list[str]] = {}
    for source in sources:
        by_pair.setdefault(int(docs[source]["born"]), []).append(source)
    for number, names in by_pair.items():
        raw = current.sentences.pairs[number]
        offset = 0
        while True:  # the pair is published, so nothing changes it while we page
            page = raw.get(
                where={"source": {"$in": sorted(names)}},
                include=["embeddings", "metadatas"],
                limit=1000,
                offset=offset,
            )
            if not page["ids"]:
                break
            batch.add("sentences", page["ids"], page["embeddings"], page["metadatas"])
            offset += len(page["ids"])


def publish(store: Store, batch: Batch, manifest: dict[str, Any]) -> None:
    """Point readers at ``batch`` (``manifest`` lists the live documents), then clean up."""
    previous = batch.previous
    held = {int(n): v for n, v in (previous.manifest["pairs"].items() if previous else [])}
    held[batch.number] = {"passages": batch.written[0], "sentences": batch.written[1]}
    live = live_passages(manifest["documents"])  # what each pair holds for it (the rest are stale)
    pairs = {str(n): {**v, "live": live[n]} for n, v in held.items() if n in live}
    previous_pairs = sorted(int(n) for n in previous.manifest["pairs"]) if previous else []
    if batch.vectors is not None:
        batch.vectors.finish()  # before the pointer flips: a reader of the new pair finds its file
    store.publish_manifest(
        manifest
        | {"generation": batch.number, "pairs": pairs, "previous_pairs": previous_pairs}
        | ({"previous": previous.number} if previous else {})
    )
    try:  # what neither this generation nor the previous one reads
        store.drop_pairs(keep={int(n) for n in pairs} | set(previous_pairs))
        remove_orphan_folders(store.settings)
        lexicon.remove_others(
            store.settings.index_dir, {batch.number} | ({previous.number} if previous else set())
        )
        remove_vectors(store.settings.index_dir, {int(n) for n in pairs} | set(previous_pairs))
        vacuum_if_sparse(store.settings)
    except Exception as exc:  # published already; the next build finishes the clean-up
        log.warning("Clean-up after publishing generation %d failed: %s", batch.number, exc)


def discard(store: Store, batch: Batch) -> None:
    """Remove what an unpublished build wrote (it failed); errors are left to the next build."""
    if batch.vectors is not None:
        batch.vectors.abandon()
    try:
        store.drop_pairs(keep=_keep(batch.previous))
        remove_orphan_folders(store.settings)
    except Exception as exc:
        log.warning("Could not remove the collections of the failed build: %s", exc)
