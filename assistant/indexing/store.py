"""The Chroma store behind the index, embedded (``index/``) or on a Chroma server.

Builds never change what readers see. Each build writes its new and changed documents into a
collection pair (passages, sentences) of its own and then flips one pointer record to a manifest
naming, for each live document, the build whose pair holds it (generations.py). Readers follow the
pointer and read each document from that pair only (views.py), so they see the old index or the
new one, never a half-built mix; a build killed midway leaves only an unreferenced pair, which the
next build drops. This module holds the pointer and the collections; the client under them, and
its failures turned into one clear error each, are chroma_client.py's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from assistant.errors import IndexBusyError, IndexMissingError
from assistant.indexing.chroma_client import ChromaClient
from assistant.indexing.store_guard import Guarded, describe
from assistant.indexing.vectors import EXACT_MAX, exact_passages
from assistant.indexing.views import Documents, View, live_passages
from assistant.settings import Settings

log = logging.getLogger(__name__)

_POINTER_ID = "current"
#: Each generation's list of documents, in its own record beside the pointer: the pointer, read
#: every POINTER_TTL seconds, stays a few hundred bytes however many documents the index holds.
_DOCUMENTS_ID = "documents-{}"
#: The meta collection's write-ahead log is applied and purged after every publish (Chroma's default,
#: 1,000 records, kept each generation's manifest there, and every reader's first read loaded them).
_META_CONFIGURATION = {"hnsw": {"space": "cosine", "batch_size": 2, "sync_threshold": 2}}
#: How long a reader trusts the pointer it read before looking again (another process may rebuild).
POINTER_TTL = 1.0
#: Collection pairs a generation may span (every query asks each; generations.py keeps to it).
MAX_PAIRS = 4
#: The manifest layout this code writes; a manifest without it is an older index, rebuilt from scratch.
LAYOUT = 3


@dataclass(frozen=True)
class Generation:
    """One published build: its manifest and its collections as that build sees them."""

    number: int
    manifest: dict[str, Any]  # the pointer: generation, pairs (records and live passages), fingerprint
    documents: Documents  # source -> entry (born, digest, title, ...), loaded on first use
    passages: View
    sentences: View


class Store(ChromaClient):
    """The index's collections for one Settings, with generation bookkeeping. Built by its owner."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.prefix = settings.collection
        self._read_at = 0.0
        self._current: Generation | None = None
        self._pairs: dict[int, tuple[Any, Any]] = {}
        self._meta_collection: Any = None
        self._exact_pairs: dict[int, tuple[list[str], Any] | None] = {}

    def _forgotten(self) -> None:
        self._current, self._pairs, self._meta_collection, self._exact_pairs = None, {}, None, {}

    def _collection(
        self, name: str, create: bool = False, configuration: dict[str, Any] | None = None
    ) -> Any:
        client = self.client
        if create:
            collection = self._call(
                client.get_or_create_collection,
                name,
                embedding_function=None,
                configuration=configuration or {"hnsw": {"space": "cosine"}},
            )
        else:
            collection = self._call(client.get_collection, name, embedding_function=None)
        # Every later call (a build's add, a reader's query) can meet a lost server or a full disk too.
        return Guarded(collection, self._call)

    def _meta(self) -> Any:
        with self._lock:
            if self._meta_collection is None:
                name = f"{self.prefix}-meta"
                self._meta_collection = self._collection(name, create=True, configuration=_META_CONFIGURATION)
            return self._meta_collection

    def _name(self, base: int, kind: str) -> str:
        return f"{self.prefix}-g{base}-{kind}"

    def pair(self, base: int, create: bool = False) -> tuple[Any, Any]:
        """The (passages, sentences) collections written by generation ``base``."""
        with self._lock:
            if base not in self._pairs:
                self._pairs[base] = (
                    self._collection(self._name(base, "passages"), create),
                    self._collection(self._name(base, "sentences"), create),
                )
            return self._pairs[base]

    # --- reading ---------------------------------------------------------------------------------

    def current(self, *, fresh: bool = False) -> Generation | None:
        """The generation the pointer names, re-read at most once per POINTER_TTL seconds."""
        with self._lock:
            if not fresh and self._current and time.monotonic() - self._read_at < POINTER_TTL:
                return self._current
            self.check_folder()
            record = self._call(self._meta().get, ids=[_POINTER_ID], include=["documents"])
            self._read_at = time.monotonic()
            manifest = json.loads(record["documents"][0]) if record["ids"] else None
            if manifest is None or manifest.get("layout") != LAYOUT:
                self._current = None  # no index, or one an older version wrote: rebuilt from scratch
                return None
            number = int(manifest["generation"])
            if self._current is None or self._current.number != number:
                self._current = self._generation(number, manifest)
            return self._current

    def _generation(self, number: int, manifest: dict[str, Any]) -> Generation:
        inline = manifest.pop("documents", None)  # a pointer an earlier version wrote holds them
        documents = Documents((lambda: inline) if inline is not None else (lambda: self._documents(number)))
        stats = {int(n): v for n, v in manifest["pairs"].items()}
        if not all("live" in v for v in stats.values()):  # an earlier version's pointer
            live = live_passages(documents)
            stats = {n: v | {"live": live.get(n, 0)} for n, v in stats.items()}
        stale = {n: v["passages"] - v["live"] for n, v in stats.items()}
        pairs = {n: self.pair(n) for n in stats}
        small = {n for n, v in stats.items() if v["passages"] <= EXACT_MAX}
        return Generation(
            number,
            manifest,
            documents,
            View(
                {n: p for n, (p, _) in pairs.items()},
                "passages",
                documents,
                stale,
                exact=lambda pair: self._exact(pair) if pair in small else None,
            ),
            View({n: q for n, (_, q) in pairs.items()}, "sentences", documents),
        )

    def _exact(self, pair: int) -> tuple[list[str], Any] | None:
        """A small pair's passage ids and vectors from its file (read once; None without one)."""
        with self._lock:
            if pair not in self._exact_pairs:
                self._exact_pairs[pair] = exact_passages(self.settings.index_dir, pair)
                for old in sorted(self._exact_pairs)[
                    : -2 * MAX_PAIRS
                ]:  # beyond this and the previous generation
                    self._exact_pairs.pop(old)
            return self._exact_pairs[pair]

    def require(self) -> Generation:
        """The current generation, or IndexMissingError."""
        generation = self.current()
        if generation is None:
            raise IndexMissingError(describe(self.settings))
        return generation

    # --- collection pairs -------------------------------------------------------------------------

    def pair_numbers(self) -> set[int]:
        """The generations whose collection pairs are in the store now."""
        numbers = set()
        for item in self._call(self.client.list_collections):
            name = getattr(item, "name", item)
            parts = name.rsplit("-", 2)
            if len(parts) == 3 and parts[0] == self.prefix and parts[1][:1] == "g" and parts[1][1:].isdigit():
                numbers.add(int(parts[1][1:]))
        return numbers

    def drop_pairs(self, keep: set[int]) -> None:
        """Delete every collection pair but ``keep`` (a dropped pair's folder: remove_orphan_folders)."""
        for number in self.pair_numbers() - keep:
            with self._lock:
                self._pairs.pop(number, None)
            for kind in ("passages", "sentences"):
                with contextlib.suppress(Exception):
                    self.client.delete_collection(self._name(number, kind))

    def _documents(self, number: int) -> dict[str, dict[str, Any]]:
        """Generation ``number``'s documents (read once per generation, and only by those who list them)."""
        record = self._meta().get(ids=[_DOCUMENTS_ID.format(number)], include=["documents"])
        if not record["ids"]:  # two newer builds published since this generation was read
            raise IndexBusyError(self.settings.index_dir / ".build.lock")
        return json.loads(record["documents"][0])

    def publish_manifest(self, manifest: dict[str, Any]) -> None:
        """Point readers at ``manifest``'s generation: its documents' record first, then one atomic
        upsert of the pointer record; the documents of generations before the previous one go."""
        number = int(manifest["generation"])
        pointer = {k: v for k, v in manifest.items() if k != "documents"} | {"layout": LAYOUT}
        meta = self._meta()
        hnsw = (getattr(meta, "configuration", None) or {}).get("hnsw") or {}
        if hnsw.get("sync_threshold") != 2:  # made by an older version: purge its log from now on
            with contextlib.suppress(Exception):
                meta.modify(configuration={"hnsw": {"batch_size": 2, "sync_threshold": 2}})
        mine = _DOCUMENTS_ID.format(number)
        meta.upsert(ids=[mine], documents=[json.dumps(manifest["documents"])], embeddings=[[1.0]])
        meta.upsert(ids=[_POINTER_ID], documents=[json.dumps(pointer)], embeddings=[[1.0]])
        with self._lock:
            self._read_at = 0.0
        kept = {mine, _DOCUMENTS_ID.format(manifest.get("previous", number))}
        with contextlib.suppress(Exception):  # the next publish tries again
            old = [i for i in meta.get(include=[])["ids"] if i.startswith("documents-") and i not in kept]
            if old:
                meta.delete(ids=old)
