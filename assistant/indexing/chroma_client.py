"""The Chroma client of one index, embedded (a folder) or on a server, and its failures.

Opens the client on first use; notices an index folder deleted, replaced or made read-only under a
running app; turns a lost server, a full disk or a lost folder into one clear error each (the
classification is store_guard.py's); drops a client that met a full disk (its next write hung) and
moves a damaged index aside. The collections and generations on top are store.py's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.environment import offline
from assistant.errors import ChromaUnreachableError, DiskFullError, IndexReadOnlyError, IndexVanishedError
from assistant.indexing.store_guard import DB_FILE, classify, describe, file_id, os_error, writer_lock
from assistant.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

log = logging.getLogger(__name__)


class ChromaClient:
    """One index's Chroma client, opened on first use and reopened when its folder changes. Thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: ClientAPI | None = None
        self._system: Any = None
        self._db_id: tuple[int, int] | None = None
        self._lock = threading.RLock()

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
            self._forgotten()

    def _forgotten(self) -> None:
        """Drop what was read through the forgotten client (a subclass's caches)."""

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
