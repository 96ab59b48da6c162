"""The Chroma store behind the index, embedded (``index/``) or on a Chroma server.

Builds never change what readers see. Each build writes its new and changed documents into a
collection pair (passages, sentences) of its own and then flips one pointer record to a manifest
naming, for each live document, the build whose pair holds it (generations.py). Readers follow the
pointer and read each document from that pair only (views.py), so they see the old index or the
new one, never a half-built mix; a build killed midway leaves only an unreferenced pair, which the
next build drops. This module holds the client, the pointer and the collections, and turns a lost
server, a full disk or an index folder deleted or made read-only under a running app into one
clear error each.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.environment import offline
from assistant.errors import (
    ChromaUnreachableError,
    DiskFullError,
    IndexBusyError,
    IndexMissingError,
    IndexReadOnlyError,
    IndexVanishedError,
)
from assistant.indexing.store_guard import (
    DB_FILE,
    Guarded,
    classify,
    describe,
    file_id,
    os_error,
    writer_lock,
)
from assistant.indexing.views import Documents, View
from assistant.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

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


class Store:
    """The index's collections for one Settings, with generation bookkeeping. Built by its owner."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefix = settings.collection
        self._client: ClientAPI | None = None
        self._system: Any = None
        self._db_id: tuple[int, int] | None = None
        self._read_at = 0.0
        self._current: Generation | None = None
        self._pairs: dict[int, tuple[Any, Any]] = {}
        self._meta_collection: Any = None
        self._lock = threading.RLock()

    # --- the client and its folder ---------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.settings.index_dir / DB_FILE

    @property
    def client(self) -> ClientAPI:
        """The Chroma client (raises ChromaUnreachableError for a dead server)."""
        with self._lock:
            if self._client is None:
                self._client = self._open()
            return self._client

    def _open(self) -> ClientAPI:
        offline()  # before chromadb is imported: it reads its telemetry setting once
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        host, port = self.settings.chroma_host, self.settings.chroma_port
        if host:
            try:
                client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
                client.heartbeat()
            except Exception as exc:
                raise ChromaUnreachableError(host, port, type(exc).__name__) from exc
            return client
        self._make_folder()
        path = str(self.settings.index_dir.resolve())
        try:
            client = self._call(chromadb.PersistentClient, path=path, settings=chroma_settings)
        except Exception:
            # Chroma caches a system before starting it: one whose start raised (a full disk) stays cached
            # without its database bindings and fails every later client for the path.
            _drop_system(path, only_unstarted=True)
            raise
        self._system = client._system
        self._db_id = file_id(self.db_path)
        return client

    def _make_folder(self) -> None:
        try:
            self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise os_error(exc, self.settings) from exc

    def _forget_client(self) -> None:
        """Drop the client of a folder that was deleted or replaced; the next use opens a new one.

        The old client is not stopped: a build that failed still holds its collections, to remove them.
        """
        from chromadb.api.shared_system_client import SharedSystemClient

        with self._lock:
            if self._client is not None:
                ident = self._client._identifier
                # Chroma keeps one system per path for the process; only ours is stale. Holders of the old
                # one (another Store) keep it until they notice themselves.
                if SharedSystemClient._identifier_to_system.get(ident) is self._system:
                    SharedSystemClient._identifier_to_system.pop(ident, None)
                    SharedSystemClient._identifier_to_refcount.pop(ident, None)
            self._client, self._system, self._db_id = None, None, None
            self._current, self._pairs, self._meta_collection = None, {}, None

    def reopen(self) -> None:
        """Open the index anew on next use: another process moved a damaged one aside and rebuilt it,
        and Chroma's cached system for the folder still reads the old files."""
        self._forget_client()
        if not self.settings.chroma_host:
            _drop_system(str(self.settings.index_dir.resolve()))

    def check_folder(self, *, repair: bool = False) -> None:
        """Embedded mode: notice an index folder deleted, replaced or made read-only under us.

        A replaced folder (a rebuild elsewhere recreated it) is reopened. A vanished one raises
        IndexVanishedError, unless ``repair`` (a build) is set: then a fresh index is started.
        """
        if self.settings.chroma_host:
            return
        with self._lock:
            if self._client is not None:
                now = file_id(self.db_path)
                if now is None and not repair:
                    raise IndexVanishedError(describe(self.settings))
                if now != self._db_id:
                    self._forget_client()
            folder = self.settings.index_dir
            if repair:
                self._make_folder()
            if folder.exists() and not os.access(folder, os.W_OK):
                raise IndexReadOnlyError(describe(self.settings))
            if self.db_path.exists() and not os.access(self.db_path, os.W_OK):
                raise IndexReadOnlyError(describe(self.settings))

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a Chroma call, turning a lost server, a full disk or a lost folder into one clear error."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            error = classify(exc, self.settings, self._db_id)
            if isinstance(error, DiskFullError) and not self.settings.chroma_host:
                # A client that met ENOSPC mid-write is left with state it cannot finish: its next write
                # hung forever, holding the interpreter lock. The next use opens a fresh client.
                self._forget_client()
            if error is exc:
                raise
            raise error from exc

    def _collection(self, name: str, create: bool = False) -> Any:
        client = self.client
        if create:
            collection = self._call(
                client.get_or_create_collection,
                name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        else:
            collection = self._call(client.get_collection, name, embedding_function=None)
        # Every later call (a build's add, a reader's query) can meet a lost server or a full disk too.
        return Guarded(collection, self._call)

    def _meta(self) -> Any:
        with self._lock:
            if self._meta_collection is None:
                collection = self._call(
                    self.client.get_or_create_collection,
                    f"{self.prefix}-meta",
                    embedding_function=None,
                    configuration=_META_CONFIGURATION,
                )
                self._meta_collection = Guarded(collection, self._call)
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
            live: dict[int, int] = {}
            for d in documents.values():
                live[int(d["born"])] = live.get(int(d["born"]), 0) + d["passages"]
            stats = {n: v | {"live": live.get(n, 0)} for n, v in stats.items()}
        stale = {n: v["passages"] - v["live"] for n, v in stats.items()}
        pairs = {n: self.pair(n) for n in stats}
        return Generation(
            number,
            manifest,
            documents,
            View({n: p for n, (p, _) in pairs.items()}, "passages", documents, stale),
            View({n: q for n, (_, q) in pairs.items()}, "sentences", documents),
        )

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

    def move_aside(self) -> Path:
        """Move a damaged embedded index's files into a sibling ``<index>.damaged-<time>/`` folder.

        The writer lock's files stay (the caller holds the lock); the next use starts a fresh index.
        Called by a build under the writer lock, so no other writer is mid-way.
        """
        folder = self.settings.index_dir
        self._forget_client()
        _drop_system(str(folder.resolve()))  # any client Chroma cached for the path reads the damaged file
        aside = folder.with_name(f"{folder.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while aside.exists():
            n += 1
            aside = aside.with_name(f"{aside.name.split('~')[0]}~{n}")
        try:
            aside.mkdir()
            for entry in folder.iterdir():
                if entry.name not in (".build.lock", ".build.owner"):
                    entry.rename(aside / entry.name)
        except OSError as exc:
            raise os_error(exc, self.settings) from exc
        log.warning("Moved the damaged index %s to %s", folder, aside)
        return aside

    @contextlib.contextmanager
    def writer_lock(self, wait: bool = False) -> Iterator[None]:
        """One writer at a time per index (store_guard.writer_lock, in a folder made if missing)."""
        self._make_folder()
        with writer_lock(self.settings, wait):
            yield


def _drop_system(path: str, only_unstarted: bool = False) -> None:
    """Forget the Chroma system Chroma caches for ``path`` (the next client for the path starts anew)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.get(path)
    if system is None:
        return
    if only_unstarted and any(hasattr(c, "bindings") for c in system.components()):
        return
    SharedSystemClient._identifier_to_system.pop(path, None)
    SharedSystemClient._identifier_to_refcount.pop(path, None)
