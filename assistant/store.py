"""The Chroma store behind the index, embedded (``index/``) or on a Chroma server.

Builds never change what readers use. Each build writes a new *generation* (a pair of
collections: passages and sentences) and then flips one pointer record to it. Readers follow the
pointer, so they see the old index or the new one, never a half-built mix; a build killed midway
leaves only an unreferenced generation, which the next build deletes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import ChromaUnreachableError, IndexBusyError, IndexMissingError
from assistant.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

_POINTER_ID = "current"
#: How long a reader trusts the pointer it read before looking again (another process may rebuild).
POINTER_TTL = 1.0


@dataclass(frozen=True)
class Generation:
    """One complete build: its collections and the manifest that describes it."""

    number: int
    manifest: dict[str, Any]
    passages: Collection
    sentences: Collection


def describe(settings: Settings) -> str:
    """Where the index lives, for messages."""
    if settings.chroma_host:
        return f"Chroma server {settings.chroma_host}:{settings.chroma_port}"
    return f"{settings.index_dir}/"


@lru_cache(maxsize=8)
def _client(index_dir: str, host: str | None, port: int) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if host:
        try:
            client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:
            raise ChromaUnreachableError(host, port, type(exc).__name__) from exc
        return client
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=index_dir, settings=chroma_settings)


class Store:
    """The index's collections for one Settings, with generation bookkeeping."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefix = settings.collection
        self._read_at = 0.0
        self._current: Generation | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> ClientAPI:
        """The Chroma client (raises ChromaUnreachableError for a dead server)."""
        host = self.settings.chroma_host
        try:
            return _client(str(self.settings.index_dir.resolve()), host, self.settings.chroma_port)
        except ChromaUnreachableError:
            raise
        except Exception as exc:
            if host:
                raise ChromaUnreachableError(host, self.settings.chroma_port, type(exc).__name__) from exc
            raise

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a Chroma call, turning a lost server into one clear error."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            host = self.settings.chroma_host
            if host and _looks_like_connection_error(exc):
                raise ChromaUnreachableError(host, self.settings.chroma_port, type(exc).__name__) from exc
            raise

    def _collection(self, name: str, create: bool = False) -> Collection:
        if create:
            collection = self._call(
                self.client.get_or_create_collection,
                name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        else:
            collection = self._call(self.client.get_collection, name, embedding_function=None)
        # On a server, every later call (a build's add, a reader's query) can meet a lost server too.
        return _Guarded(collection, self._call) if self.settings.chroma_host else collection  # type: ignore[return-value]

    def _meta(self) -> Collection:
        return self._collection(f"{self.prefix}-meta", create=True)

    # --- reading -----------------------------------------------------------------------------

    def current(self, *, fresh: bool = False) -> Generation | None:
        """The generation the pointer names, re-read at most once per POINTER_TTL seconds."""
        with self._lock:
            if not fresh and self._current and time.monotonic() - self._read_at < POINTER_TTL:
                return self._current
            record = self._call(self._meta().get, ids=[_POINTER_ID], include=["documents"])
            self._read_at = time.monotonic()
            if not record["ids"]:
                self._current = None
                return None
            manifest = json.loads(record["documents"][0])
            number = int(manifest["generation"])
            if self._current is None or self._current.number != number:
                self._current = Generation(
                    number,
                    manifest,
                    self._collection(self._name(number, "passages")),
                    self._collection(self._name(number, "sentences")),
                )
            return self._current

    def require(self) -> Generation:
        """The current generation, or IndexMissingError."""
        generation = self.current()
        if generation is None:
            raise IndexMissingError(describe(self.settings))
        return generation

    # --- writing -----------------------------------------------------------------------------

    def _name(self, number: int, kind: str) -> str:
        return f"{self.prefix}-g{number}-{kind}"

    def _generations(self) -> set[int]:
        numbers = set()
        for name in self._call(self.client.list_collections):
            name = getattr(name, "name", name)
            parts = name.rsplit("-", 2)
            if len(parts) == 3 and parts[0] == self.prefix and parts[1][1:].isdigit():
                numbers.add(int(parts[1][1:]))
        return numbers

    def start_generation(self) -> tuple[int, Collection, Collection]:
        """Fresh, empty collections for a new build; leftovers of killed builds are removed first."""
        current = self.current(fresh=True)
        keep = {current.number} if current else set()
        for number in self._generations() - keep:
            if current is None or number > current.number:
                self._drop(number)
        number = max(self._generations() | keep | {0}) + 1
        return (
            number,
            self._collection(self._name(number, "passages"), create=True),
            self._collection(self._name(number, "sentences"), create=True),
        )

    def publish(self, number: int, manifest: dict[str, Any]) -> None:
        """Point readers at generation ``number`` (one atomic upsert), then drop old generations."""
        manifest = manifest | {"generation": number}
        self._call(
            self._meta().upsert, ids=[_POINTER_ID], documents=[json.dumps(manifest)], embeddings=[[1.0]]
        )
        with self._lock:
            self._read_at = 0.0
        # Keep the previous generation: a reader may be halfway through a query on it.
        for old in self._generations():
            if old < number - 1:
                self._drop(old)

    def discard(self, number: int) -> None:
        """Remove an unpublished generation (a build that failed)."""
        self._drop(number)

    def _drop(self, number: int) -> None:
        for kind in ("passages", "sentences"):
            with contextlib.suppress(Exception):
                self.client.delete_collection(self._name(number, kind))

    @contextlib.contextmanager
    def writer_lock(self, wait: bool = False) -> Iterator[None]:
        """One writer at a time per index (a lock file beside the index, held by this process)."""
        self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        path = self.settings.index_dir / ".build.lock"
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                handle.seek(0)
                raise IndexBusyError(path, handle.read().strip()) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            try:
                yield
            finally:
                handle.truncate(0)
                fcntl.flock(handle, fcntl.LOCK_UN)


class _Guarded:
    """A collection whose method calls go through Store._call (a lost server: one clear error)."""

    def __init__(self, collection: Collection, call: Any) -> None:
        self._collection = collection
        self._call = call

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr
        return lambda *args, **kwargs: self._call(attr, *args, **kwargs)


def _looks_like_connection_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(word in text for word in ("connect", "timeout", "timed out", "refused", "unreachable"))


_STORES: dict[tuple[str, str | None, int, str], Store] = {}
_STORES_LOCK = threading.Lock()


def get_store(settings: Settings) -> Store:
    """The process-wide Store for these settings, so a build here is seen at once by readers here."""
    key = (str(settings.index_dir.resolve()), settings.chroma_host, settings.chroma_port, settings.collection)
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None or store.settings != settings:
            store = _STORES[key] = Store(settings)
        return store
