"""Each collection pair's sentence vectors in a file of their own, read by id.

A question reads the vectors of the sentences of the passages it ranks. Read from Chroma, the first
such read loads the whole sentences collection's HNSW index (0.4 s and 45 MB at 1,000 documents,
growing with the corpus), so each pair's sentence vectors are also kept in ``v<pair>.sqlite`` beside
the lexical files: written with the pair, never changed after, dropped with it. A reader that finds
no file for a pair (an index built by an older version, another client of a Chroma server) reads
Chroma as before.
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


def vectors_file(index_dir: Path, pair: int) -> Path:
    """The sentence-vector file of collection pair ``pair``."""
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
        self.db.execute("BEGIN")

    def add(self, ids: Sequence[str], vectors: Any) -> None:
        import numpy as np

        rows = np.asarray(vectors, dtype=np.float32)
        self.db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
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

    def close(self) -> None:
        with self.lock:
            self.db.close()


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
