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
from assistant.indexing.views import View
from assistant.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

log = logging.getLogger(__name__)

_POINTER_ID = "current"
#: How long a reader trusts the pointer it read before looking again (another process may rebuild).
POINTER_TTL = 1.0
#: The manifest layout this code writes; a manifest without it is an older index, rebuilt from scratch.
LAYOUT = 3


@dataclass(frozen=True)
class Generation:
    """One published build: its manifest and its collections as that build sees them."""

    number: int
    manifest: dict[str, Any]
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
            self._current, self._pairs = None, {}

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
        return self._collection(f"{self.prefix}-meta", create=True)

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
                docs = manifest["documents"]
                stats = {int(n): v for n, v in manifest["pairs"].items()}
                pairs = {n: self.pair(n) for n in stats}
                live: dict[int, int] = {}
                for d in docs.values():
                    live[int(d["born"])] = live.get(int(d["born"]), 0) + d["passages"]
                stale = {n: v["passages"] - live.get(n, 0) for n, v in stats.items()}
                self._current = Generation(
                    number,
                    manifest,
                    View({n: p for n, (p, _) in pairs.items()}, "passages", docs, stale),
                    View({n: q for n, (_, q) in pairs.items()}, "sentences", docs),
                )
            return self._current

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

    def publish_manifest(self, manifest: dict[str, Any]) -> None:
        """Point readers at ``manifest``'s generation: one atomic upsert of the pointer record."""
        manifest = manifest | {"layout": LAYOUT}
        self._call(
            self._meta().upsert, ids=[_POINTER_ID], documents=[json.dumps(manifest)], embeddings=[[1.0]]
        )
        with self._lock:
            self._read_at = 0.0

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
