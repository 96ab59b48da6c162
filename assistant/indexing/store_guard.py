"""What can go wrong around the store, turned into one clear error each, and the one-writer lock.

Chroma reports a lost server, a full disk or an index folder made read-only under a running app
as whatever its internals raised (an HTTP error, a SQLite message, an OSError). ``classify`` maps
those onto the project's errors so every interface shows a message that says what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import (
    ChromaUnreachableError,
    DiskFullError,
    IndexBusyError,
    IndexDamagedError,
    IndexReadOnlyError,
    IndexVanishedError,
)
from assistant.settings import Settings

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

#: Chroma's embedded database file inside the index folder.
DB_FILE = "chroma.sqlite3"
# Words SQLite and the OS use in these failures (Chroma wraps them in its own exception types).
_DISK_FULL = ("database or disk is full", "no space left", "disk full", "enospc")
_READ_ONLY = ("readonly database", "read-only", "read only file system")
_CONNECTION = ("connect", "timeout", "timed out", "refused", "unreachable")
# SQLite's words for a database file that is not one any more (overwritten, zeroed, truncated).
_DAMAGED = ("file is not a database", "database disk image is malformed", "malformed database schema")
#: Below this much free space, an unexplained Chroma failure means a full disk (its message rarely says so).
_NEARLY_FULL_BYTES = 2 * 2**20


def describe(settings: Settings) -> str:
    """Where the index lives, for messages."""
    if settings.chroma_host:
        return f"Chroma server {settings.chroma_host}:{settings.chroma_port}"
    return f"{settings.index_dir}/"


def file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, or None if it is gone: tells a replaced database from ours."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def os_error(exc: OSError, settings: Settings) -> Exception:
    """The project's error for an OSError met while writing the index, or ``exc`` itself."""
    if exc.errno == errno.ENOSPC:
        return DiskFullError(settings.index_dir)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return IndexReadOnlyError(describe(settings))
    return exc


def classify(exc: Exception, settings: Settings, db_id: tuple[int, int] | None) -> Exception:
    """The project's error for a failed Chroma call, or ``exc`` itself when it is none we know.

    ``db_id`` is the database file the client opened: if it is no longer the one on disk, a
    "read-only" failure means the folder was deleted or replaced, not made read-only.
    """
    if isinstance(exc, OSError):
        return os_error(exc, settings)
    host = settings.chroma_host
    text = f"{type(exc).__name__} {exc}".lower()
    if host and any(word in text for word in _CONNECTION):
        return ChromaUnreachableError(host, settings.chroma_port, type(exc).__name__)
    if not host and any(words in text for words in _DAMAGED):
        reason = next(words for words in _DAMAGED if words in text)
        return IndexDamagedError(describe(settings), f"{DB_FILE}: {reason}")
    if any(words in text for words in _DISK_FULL):
        return DiskFullError(settings.index_dir if not host else describe(settings))
    if not host and _nearly_full(settings.index_dir):
        return DiskFullError(settings.index_dir)
    if not host and any(words in text for words in _READ_ONLY):
        if file_id(settings.index_dir / DB_FILE) != db_id:
            return IndexVanishedError(describe(settings))
        return IndexReadOnlyError(describe(settings))
    return exc


class Guarded:
    """A collection whose method calls go through ``call`` (one clear error for known failures)."""

    def __init__(self, collection: Collection, call: Callable[..., Any]) -> None:
        self._collection = collection
        self._call = call

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr
        return lambda *args, **kwargs: self._call(attr, *args, **kwargs)


@contextlib.contextmanager
def writer_lock(settings: Settings, wait: bool = False) -> Iterator[None]:
    """One writer at a time per index (a file lock beside the index; its holder's pid beside it)."""
    from filelock import FileLock, Timeout

    folder = settings.index_dir
    path, owner = folder / ".build.lock", folder / ".build.owner"
    lock = FileLock(path)
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        pid = ""
        with contextlib.suppress(OSError):
            pid = owner.read_text().strip()
        raise IndexBusyError(path, pid) from None
    except OSError as exc:
        raise os_error(exc, settings) from exc
    try:
        with contextlib.suppress(OSError):  # only for the message a second writer shows
            owner.write_text(str(os.getpid()))
        yield
    finally:
        with contextlib.suppress(OSError):
            owner.unlink()
        lock.release()


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < _NEARLY_FULL_BYTES
    except OSError:
        return False
