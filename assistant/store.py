"""The Chroma store behind the index, embedded (``index/``) or on a Chroma server.

Builds never change what readers see. The index is one pair of collections (passages and
sentences) changed in place, plus one pointer record holding the manifest of the published
*generation*. Each record carries the generation that wrote it (``born``, also the end of its id);
the manifest lists each live document with the generation of its records. A reader at generation
N sees exactly those records (:class:`View`), so a build adds the new versions beside the old ones,
flips the pointer, and deletes the superseded records one generation later (a reader may still be
answering from the previous one). A build costs what changed, not the size of the index.

A killed build leaves only records born after the published generation: the next build deletes
them first. A model or splitter change writes a new pair of collections; the pair before the
previous one is dropped, and since Chroma leaves a dropped collection's HNSW folder on disk, folders
that no segment in ``chroma.sqlite3`` names are removed too.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import (
    ChromaUnreachableError,
    DiskFullError,
    IndexBusyError,
    IndexMissingError,
    IndexReadOnlyError,
    IndexVanishedError,
)
from assistant.settings import Settings
from assistant.views import View, record_key, split_id

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
log = logging.getLogger(__name__)

_POINTER_ID = "current"
#: How long a reader trusts the pointer it read before looking again (another process may rebuild).
POINTER_TTL = 1.0
#: The record layout this code writes; a manifest without it is an older index, rebuilt from scratch.
LAYOUT = 2
_DB = "chroma.sqlite3"
#: Start a fresh collection pair when the records ever added to the current one pass this many
#: times the live records (Chroma's HNSW index keeps the slots of deleted vectors).
COMPACT_AT = 1.5
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DISK_FULL = ("database or disk is full", "no space left", "disk full", "enospc")
_READ_ONLY = ("readonly database", "read-only", "read only file system")


@dataclass(frozen=True)
class Generation:
    """One published build: its manifest and its collections as that build sees them."""

    number: int
    manifest: dict[str, Any]
    passages: View
    sentences: View


@dataclass
class Batch:
    """The records a build is writing (generation ``number``) before it is published."""

    number: int
    base: int  # the generation that created the collection pair written to
    fresh: bool  # a new collection pair (first build, model/splitter change, or compaction)
    previous: Generation | None
    passages: Any
    sentences: Any
    written: int = 0  # records added so far

    def add(self, kind: str, ids: Sequence[str], embeddings: Any, metadatas: list[dict[str, Any]], **kw: Any):
        """Add records of this generation: ids get ``@<number>``, metadata ``born`` and ``doc``."""
        collection = self.passages if kind == "passages" else self.sentences
        self.written += len(ids)
        collection.add(
            ids=[f"{i}@{self.number}" for i in ids],
            embeddings=embeddings,
            metadatas=[
                m | {"born": self.number, "doc": record_key(m["source"], self.number)} for m in metadatas
            ],
            **kw,
        )


def describe(settings: Settings) -> str:
    """Where the index lives, for messages."""
    if settings.chroma_host:
        return f"Chroma server {settings.chroma_host}:{settings.chroma_port}"
    return f"{settings.index_dir}/"


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


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
        return self.settings.index_dir / _DB

    @property
    def client(self) -> ClientAPI:
        """The Chroma client (raises ChromaUnreachableError for a dead server)."""
        with self._lock:
            if self._client is None:
                self._client = self._open()
            return self._client

    def _open(self) -> ClientAPI:
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
        client = self._call(
            chromadb.PersistentClient, path=str(self.settings.index_dir.resolve()), settings=chroma_settings
        )
        self._system = client._system
        self._db_id = _file_id(self.db_path)
        return client

    def _make_folder(self) -> None:
        try:
            self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._os_error(exc) from exc

    def _forget_client(self) -> None:
        """Drop the client of a folder that was deleted or replaced; the next use opens a new one."""
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

    def check_folder(self, *, repair: bool = False) -> None:
        """Embedded mode: notice an index folder deleted, replaced or made read-only under us.

        A replaced folder (a rebuild elsewhere recreated it) is reopened. A vanished one raises
        IndexVanishedError, unless ``repair`` (a build) is set: then a fresh index is started.
        """
        if self.settings.chroma_host:
            return
        with self._lock:
            if self._client is not None:
                now = _file_id(self.db_path)
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

    def _os_error(self, exc: OSError) -> Exception:
        if exc.errno == errno.ENOSPC:
            return DiskFullError(self.settings.index_dir)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return IndexReadOnlyError(describe(self.settings))
        return exc

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a Chroma call, turning a lost server, a full disk or a lost folder into one clear error."""
        try:
            return fn(*args, **kwargs)
        except OSError as exc:
            raise self._os_error(exc) from exc
        except Exception as exc:
            host = self.settings.chroma_host
            text = f"{type(exc).__name__} {exc}".lower()
            if host and _looks_like_connection_error(text):
                raise ChromaUnreachableError(host, self.settings.chroma_port, type(exc).__name__) from exc
            if any(words in text for words in _DISK_FULL):
                raise DiskFullError(self.settings.index_dir if not host else describe(self.settings)) from exc
            if not host and any(words in text for words in _READ_ONLY):
                if _file_id(self.db_path) != self._db_id:
                    raise IndexVanishedError(describe(self.settings)) from exc
                raise IndexReadOnlyError(describe(self.settings)) from exc
            raise

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
        return _Guarded(collection, self._call)

    def _meta(self) -> Any:
        return self._collection(f"{self.prefix}-meta", create=True)

    def _name(self, base: int, kind: str) -> str:
        return f"{self.prefix}-g{base}-{kind}"

    def _pair(self, base: int, create: bool = False) -> tuple[Any, Any]:
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
                passages, sentences = self._pair(int(manifest["collections"]))
                docs = manifest["documents"]
                stale = int(manifest.get("stale", 0))
                self._current = Generation(
                    number,
                    manifest,
                    View(passages, "passages", docs, stale),
                    View(sentences, "sentences", docs, stale),
                )
            return self._current

    def require(self) -> Generation:
        """The current generation, or IndexMissingError."""
        generation = self.current()
        if generation is None:
            raise IndexMissingError(describe(self.settings))
        return generation

    # --- writing (under writer_lock) ----------------------------------------------------------------

    def bases(self) -> set[int]:
        """The generations that created the collection pairs now in the store."""
        numbers = set()
        for item in self._call(self.client.list_collections):
            name = getattr(item, "name", item)
            parts = name.rsplit("-", 2)
            if len(parts) == 3 and parts[0] == self.prefix and parts[1][:1] == "g" and parts[1][1:].isdigit():
                numbers.add(int(parts[1][1:]))
        return numbers

    def begin(self, *, rebuild: bool) -> Batch:
        """Start generation N+1: clear what killed builds left, then the collections to write into."""
        self.check_folder(repair=True)
        current = self.current(fresh=True)
        self._clean(current)
        number = (current.number if current else 0) + 1
        if current is None or rebuild:
            passages, sentences = self._pair(number, create=True)
            return Batch(number, number, True, current, passages, sentences)
        base = int(current.manifest["collections"])
        passages, sentences = self._pair(base)
        return Batch(number, base, False, current, passages, sentences)

    def publish(self, batch: Batch, manifest: dict[str, Any], superseded: dict[str, int]) -> None:
        """Point readers at ``batch`` (one atomic upsert), then delete what no reader can still use.

        ``superseded`` are the passage counts of the document versions this build replaced or
        removed (``record_key``s); they stay one generation for readers still on the previous one.
        """
        previous = batch.previous
        same_pair = previous is not None and not batch.fresh
        purge = list(previous.manifest.get("superseded", {})) if same_pair and previous else []
        manifest = manifest | {
            "layout": LAYOUT,
            "generation": batch.number,
            "collections": batch.base,
            "previous_collections": int(previous.manifest["collections"]) if previous else batch.base,
            "superseded": superseded if not batch.fresh else {},
            "stale": sum(superseded.values()) if not batch.fresh else 0,
            "purge": purge,
            # Records ever added to this pair: Chroma's HNSW index keeps deleted ones, so this is its size.
            "records": batch.written
            + (int(previous.manifest.get("records", 0)) if same_pair and previous else 0),
        }
        self._call(
            self._meta().upsert, ids=[_POINTER_ID], documents=[json.dumps(manifest)], embeddings=[[1.0]]
        )
        with self._lock:
            self._read_at = 0.0
        try:
            self._purge(batch.base, purge)
            self._drop_pairs(keep={batch.base, manifest["previous_collections"]})
            self.remove_orphan_folders()
            self.vacuum_if_sparse()
        except Exception as exc:  # published already; the next build finishes the clean-up
            log.warning("Clean-up after publishing generation %d failed: %s", batch.number, exc)

    def needs_compaction(self, current: Generation) -> bool:
        """True when superseded records fill as much of the collections as live ones (see copy)."""
        docs = current.manifest["documents"].values()
        live = sum(d["passages"] + d.get("sentences", 0) for d in docs)
        return int(current.manifest.get("records", 0)) > COMPACT_AT * max(live, 1)

    def copy(self, current: Generation, sources: set[str], batch: Batch) -> None:
        """Copy these documents' records, vectors included, into ``batch`` (a fresh pair).

        Chroma never reclaims the slots of deleted vectors, so once superseded records outweigh the
        live ones a build starts a fresh pair from the live records (no re-embedding); the old pair is
        dropped, folder and all, one generation later. Amortised, each record is copied about once.
        """
        born = {s: current.manifest["documents"][s]["born"] for s in sources}
        plain = [pid for pid in current.passages.live_ids() if pid.rsplit("::", 1)[0] in born]
        include = ["embeddings", "documents", "metadatas"]
        for start in range(0, len(plain), 1000):
            page = current.passages.get(ids=plain[start : start + 1000], include=include)
            batch.add(
                "passages", page["ids"], page["embeddings"], page["metadatas"], documents=page["documents"]
            )
        where = {"doc": {"$in": [record_key(s, b) for s, b in born.items()]}}
        raw = current.sentences.collection
        offset = 0
        while True:
            page = raw.get(where=where, include=["embeddings", "metadatas"], limit=1000, offset=offset)
            if not page["ids"]:
                break
            batch.add(
                "sentences", [split_id(i)[0] for i in page["ids"]], page["embeddings"], page["metadatas"]
            )
            offset += len(page["ids"])

    def discard(self, batch: Batch) -> None:
        """Remove what an unpublished build wrote (it failed); errors are left to the next build."""
        try:
            if batch.fresh:
                self._drop_pairs(keep=self._keep(batch.previous))
            else:
                for collection in (batch.passages, batch.sentences):
                    collection.delete(where={"born": {"$gte": batch.number}})
            self.remove_orphan_folders()
        except Exception as exc:
            log.warning("Could not remove the records of the failed build: %s", exc)

    def _keep(self, current: Generation | None) -> set[int]:
        if current is None:
            return set()
        return {int(current.manifest["collections"]), int(current.manifest["previous_collections"])}

    def _clean(self, current: Generation | None) -> None:
        """Remove what killed builds left: unpublished pairs and records, unfinished purges, folders."""
        self._drop_pairs(keep=self._keep(current))
        if current is not None:
            base = int(current.manifest["collections"])
            for collection in self._pair(base):
                collection.delete(where={"born": {"$gt": current.number}})
            self._purge(base, current.manifest.get("purge", []))
        self.remove_orphan_folders()

    def _purge(self, base: int, keys: Sequence[str]) -> None:
        if keys:
            for collection in self._pair(base):
                collection.delete(where={"doc": {"$in": list(keys)}})

    def _drop_pairs(self, keep: set[int]) -> None:
        for base in self.bases() - keep:
            with self._lock:
                self._pairs.pop(base, None)
            for kind in ("passages", "sentences"):
                with contextlib.suppress(Exception):
                    self.client.delete_collection(self._name(base, kind))

    def remove_orphan_folders(self) -> list[str]:
        """Delete HNSW segment folders no collection uses (Chroma keeps them after delete_collection).

        Only segments listed in ``chroma.sqlite3`` are in use; every other UUID-named folder in the
        index folder belongs to a dropped collection. Returns the names removed.
        """
        if self.settings.chroma_host or not self.db_path.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)) as db:
            live = {row[0] for row in db.execute("SELECT id FROM segments")}
        removed = []
        for entry in self.settings.index_dir.iterdir():
            if _UUID.fullmatch(entry.name) and entry.is_dir() and entry.name not in live:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
        return removed

    def vacuum_if_sparse(self, share: float = 0.25) -> bool:
        """Give free pages of ``chroma.sqlite3`` back to the disk once they are ``share`` of the file.

        SQLite reuses freed pages but never shrinks the file by itself; after a dropped collection
        pair a quarter or more of it is free. A busy database (a reader mid-query) is left for later.
        """
        if self.settings.chroma_host or not self.db_path.exists():
            return False
        try:
            with contextlib.closing(sqlite3.connect(self.db_path, timeout=5, isolation_level=None)) as db:
                free = db.execute("PRAGMA freelist_count").fetchone()[0]
                pages = db.execute("PRAGMA page_count").fetchone()[0]
                if free <= share * pages:
                    return False
                db.execute("VACUUM")
                return True
        except sqlite3.Error as exc:
            log.info("Not compacting %s now: %s", self.db_path, exc)
            return False

    @contextlib.contextmanager
    def writer_lock(self, wait: bool = False) -> Iterator[None]:
        """One writer at a time per index (a file lock beside the index; its holder's pid beside it)."""
        from filelock import FileLock, Timeout

        self._make_folder()
        path = self.settings.index_dir / ".build.lock"
        owner = self.settings.index_dir / ".build.owner"
        lock = FileLock(path)
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            pid = ""
            with contextlib.suppress(OSError):
                pid = owner.read_text().strip()
            raise IndexBusyError(path, pid) from None
        except OSError as exc:
            raise self._os_error(exc) from exc
        try:
            with contextlib.suppress(OSError):  # only for the message a second writer shows
                owner.write_text(str(os.getpid()))
            yield
        finally:
            with contextlib.suppress(OSError):
                owner.unlink()
            lock.release()


class _Guarded:
    """A collection whose method calls go through Store._call (one clear error for known failures)."""

    def __init__(self, collection: Collection, call: Any) -> None:
        self._collection = collection
        self._call = call

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr
        return lambda *args, **kwargs: self._call(attr, *args, **kwargs)


def _looks_like_connection_error(text: str) -> bool:
    return any(word in text for word in ("connect", "timeout", "timed out", "refused", "unreachable"))


def get_store(settings: Settings) -> Store:
    """A new Store for ``settings`` (kept for callers that do not hold one; owners keep theirs)."""
    return Store(settings)
