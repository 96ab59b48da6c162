"""Each collection pair's vectors in a file of their own: sentences read by id, passages whole.

A question reads the vectors of the sentences of the passages it ranks. Read from Chroma, the first
such read loads the whole sentences collection's HNSW index (0.4 s and 45 MB at 1,000 documents,
growing with the corpus), so each pair's sentence vectors are also kept in ``v<pair>.sqlite`` beside
the lexical files: written with the pair, never changed after, dropped with it. A reader that finds
no file for a pair (an index built by an older version, another client of a Chroma server) reads
Chroma as before.

The pair's passage vectors are kept there too: a small pair (the few documents a build added) is
searched exactly from them (views.View), so a long-running reader never loads its HNSW index into
Chroma, whose cache keeps every index it loads, deleted collections' included.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant.indexing.lexicon import folder

#: Pairs of up to this many passages are searched exactly, from their file, not through Chroma.
EXACT_MAX = 2000


def vectors_file(index_dir: Path, pair: int) -> Path:
    """The vector file of collection pair ``pair``."""
    return folder(index_dir) / f"v{pair}.sqlite"


class VectorWriter:
    """Writes one pair's sentence vectors (float32 rows, by sentence id) beside its collections."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.partial, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        # A rowid table: its leaf pages hold a 1,536-byte vector inline, where a WITHOUT ROWID table's
        # spill each one to an overflow page of its own (2.8 KB a sentence on disk instead of ~1.7).
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (id TEXT PRIMARY KEY, v BLOB)")
        self.db.execute("CREATE TABLE IF NOT EXISTS passages (id TEXT PRIMARY KEY, v BLOB)")
        self.db.execute("BEGIN")

    def add(self, ids: Sequence[str], vectors: Any, kind: str = "sentences") -> None:
        """Keep these records' vectors (``kind``: "sentences" or "passages")."""
        import numpy as np

        rows = np.asarray(vectors, dtype=np.float32)
        table = "passages" if kind == "passages" else "vectors"
        self.db.executemany(
            f"INSERT OR REPLACE INTO {table} VALUES (?, ?)",
            [(i, rows[n].tobytes()) for n, i in enumerate(ids)],
        )

    def finish(self) -> None:
        self.db.execute("COMMIT")
        self.db.close()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()


class Vectors:
    """A pair's sentence-vector file, read-only and thread-safe."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self.lock = threading.Lock()

    def get(self, ids: Sequence[str]) -> dict[str, Any]:
        """The vectors of these sentence ids (float32 arrays); ids it does not hold are left out."""
        import numpy as np

        marks = ",".join("?" * len(ids))
        with self.lock:
            rows = self.db.execute(f"SELECT id, v FROM vectors WHERE id IN ({marks})", list(ids)).fetchall()
        return {i: np.frombuffer(v, dtype=np.float32) for i, v in rows}

    def passages(self) -> tuple[list[str], Any] | None:
        """Every passage id of the pair and their vectors (a matrix, one row each); None for a file
        an older version wrote, without them."""
        import numpy as np

        with self.lock:
            try:
                rows = self.db.execute("SELECT id, v FROM passages ORDER BY id").fetchall()
            except sqlite3.OperationalError:  # no such table
                return None
        if not rows:
            return None
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return [r[0] for r in rows], matrix

    def close(self) -> None:
        with self.lock:
            self.db.close()


def exact_passages(index_dir: Path, pair: int) -> tuple[list[str], Any] | None:
    """Pair ``pair``'s passage ids and vectors from its file, or None without one (read once)."""
    path = vectors_file(index_dir, pair)
    if not path.exists():
        return None
    stored = Vectors(path)
    try:
        return stored.passages()
    except sqlite3.DatabaseError:  # a damaged file: Chroma still answers
        return None
    finally:
        stored.close()


def remove_vectors(index_dir: Path, keep: Iterable[int] | None) -> None:
    """Delete the sentence-vector files of pairs not in ``keep`` (None: only unfinished files)."""
    names = None if keep is None else {vectors_file(index_dir, n).name for n in keep}
    with contextlib.suppress(FileNotFoundError):
        for entry in folder(index_dir).iterdir():
            if not entry.name.startswith("v"):
                continue
            if entry.name.endswith(".partial") or (names is not None and entry.name not in names):
                with contextlib.suppress(OSError):
                    entry.unlink()
