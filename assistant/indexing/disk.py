"""The index folder's disk: free-space checks before a build, and giving space back after one.

Chroma leaves a dropped collection's HNSW folder behind (Chroma issues #5259, #5520) and SQLite
never shrinks ``chroma.sqlite3`` by itself; without this, every build would keep what it replaced.
Embedded mode only: a Chroma server manages its own disk.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import sqlite3
from pathlib import Path

from assistant.errors import DiskFullError
from assistant.settings import Settings

log = logging.getLogger(__name__)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Disk a record needs, generously: its vector about three times (Chroma's log, its HNSW index and
#: the copy a compaction makes), its text and metadata.
BYTES_PER_RECORD = 8 * 1024
#: Room kept free besides (SQLite journals, the pointer record).
SPARE_BYTES = 2 * 2**20


def _db(settings: Settings) -> Path:
    return settings.index_dir / "chroma.sqlite3"


def check_space(settings: Settings, records: int) -> None:
    """Refuse a build the disk cannot hold before it writes anything (DiskFullError).

    A build that fills the disk midway leaves Chroma a log it cannot apply, which stops readers
    too until space is freed; refusing up front keeps the old index answering.
    """
    if settings.chroma_host:
        return
    free = shutil.disk_usage(settings.index_dir).free
    if free < records * BYTES_PER_RECORD + SPARE_BYTES:
        raise DiskFullError(settings.index_dir)


def remove_orphan_folders(settings: Settings) -> list[str]:
    """Delete the HNSW segment folders no collection uses any more; returns their names.

    Only segments listed in ``chroma.sqlite3`` are in use; every other UUID-named folder in the index
    folder belongs to a dropped collection. Call it under the writer lock (no collection is being
    created meanwhile).
    """
    if settings.chroma_host or not _db(settings).exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{_db(settings)}?mode=ro", uri=True, timeout=30)) as db:
        live = {row[0] for row in db.execute("SELECT id FROM segments")}
    removed = []
    for entry in settings.index_dir.iterdir():
        if _UUID.fullmatch(entry.name) and entry.is_dir() and entry.name not in live:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def vacuum_if_sparse(settings: Settings, share: float = 0.25) -> bool:
    """Give the free pages of ``chroma.sqlite3`` back to the disk once they are ``share`` of it.

    SQLite reuses freed pages but never shrinks the file; after collections are dropped a quarter
    or more of it can be free. A busy database (a reader mid-query) is left for the next build.
    """
    if settings.chroma_host or not _db(settings).exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(_db(settings), timeout=5, isolation_level=None)) as db:
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            if free <= share * pages:
                return False
            db.execute("VACUUM")
            return True
    except sqlite3.Error as exc:
        log.info("Not compacting %s now: %s", _db(settings), exc)
        return False
