"""Writing a generation's lexical file (lexicon.py reads it): a build's, or one a reader finds missing.

An incremental build copies the previous generation's file and changes only what changed; a file
that is missing (an index an older version built, or a Chroma server's index seen from a new
client) is made from the store's passages on first use.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.indexing import catalog
from assistant.indexing.lexicon import POSTING, SCHEMA, Lexicon, Row, file_for, lexical_text
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.indexing.store import Generation

log = logging.getLogger(__name__)


class Writer:
    """Writes one generation's lexical file: a copy of the previous one, changed, then published.

    New postings wait in a temporary table; ``finish`` merges them, word by word, into the words'
    arrays (``lexicon.POSTING``), with the removed passages' postings taken out.
    """

    def __init__(self, path: Path, previous: Path | None, remove: Iterable[str]) -> None:
        self.path = path
        self.partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()
        if previous is not None:
            shutil.copyfile(previous, self.partial)
        self.db = sqlite3.connect(self.partial, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")  # the file is unpublished until renamed: no journal
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("BEGIN")
        self.fresh = previous is None
        #: Words whose arrays lose postings, and the passages they lose.
        self.touched: set[str] = set()
        self.removed: set[int] = set()
        if self.fresh:
            for statement in (SCHEMA + catalog.SCHEMA).split(";"):
                if statement.strip():
                    self.db.execute(statement)
        else:
            self._remove(set(remove))
        self.db.execute("CREATE TEMP TABLE fresh (term TEXT, passage INTEGER, tf INTEGER, length INTEGER)")

    def _remove(self, sources: set[str]) -> None:
        if not sources:
            return
        marks = ",".join("?" * len(sources))
        gone = self.db.execute(
            f"SELECT rowid, title, text FROM passages WHERE source IN ({marks})", sorted(sources)
        ).fetchall()
        for rowid, title, text in gone:
            self.touched.update(lexical_text(title, text))
            self.removed.add(rowid)
        self.db.execute(f"DELETE FROM passages WHERE source IN ({marks})", sorted(sources))
        catalog.remove(self.db, sources)

    def add(self, rows: Sequence[Row]) -> None:
        """Add passages (their postings too)."""
        postings = []
        for row in rows:
            counts = Counter(lexical_text(row[4], row[6]))
            length = sum(counts.values())
            cursor = self.db.execute(
                "INSERT INTO passages (id, source, ordinal, kind, title, date, text, sentences, length) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, length),
            )
            rowid = cursor.lastrowid
            postings += [(t, rowid, min(tf, 65535), length) for t, tf in counts.items()]
        self.db.executemany("INSERT INTO fresh VALUES (?, ?, ?, ?)", postings)

    def moved(self, sources: Iterable[str], born: int) -> None:
        """Record that these documents' records were copied into generation ``born``'s pair."""
        self.db.executemany("UPDATE documents SET born = ? WHERE source = ?", [(born, s) for s in sources])

    def _merge(self) -> None:
        """Write every changed word's array: its old postings, less the removed passages', plus the new."""
        import numpy as np

        removed = np.fromiter(self.removed, dtype=np.int64)
        old_of = self.db.execute  # one statement per word: an incremental build touches few words

        def store(term: str, new: Any) -> None:
            parts = [new] if new is not None else []
            if not self.fresh:
                found = old_of("SELECT postings FROM terms WHERE term = ?", [term]).fetchone()
                if found:
                    old = np.frombuffer(found[0], POSTING)
                    parts.insert(0, old[~np.isin(old["passage"], removed)] if len(removed) else old)
            merged = np.concatenate(parts) if parts else np.zeros(0, POSTING)
            if len(merged):
                self.db.execute(
                    "INSERT OR REPLACE INTO terms VALUES (?, ?, ?)", (term, len(merged), merged.tobytes())
                )
            elif not self.fresh:
                self.db.execute("DELETE FROM terms WHERE term = ?", [term])

        cursor = self.db.cursor()  # read the new postings word by word, while writing the arrays
        rows = cursor.execute("SELECT term, passage, tf, length FROM fresh ORDER BY term, passage")
        for term, group in itertools.groupby(rows, key=lambda r: r[0]):
            store(term, np.array([r[1:] for r in group], dtype=POSTING))
            self.touched.discard(term)
        for term in sorted(self.touched):  # words only removed passages held
            store(term, None)
        self.db.execute("DROP TABLE fresh")

    def finish(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        """Merge the postings, write the catalog of ``documents`` (the new ones) and publish the file."""
        self._merge()
        catalog.add(self.db, documents)
        n, total, top = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(length), 0), COALESCE(MAX(rowid), 0) FROM passages"
        ).fetchone()
        self.db.executemany(
            "INSERT OR REPLACE INTO stats VALUES (?, ?)", [("passages", n), ("length", total), ("top", top)]
        )
        self.db.execute("COMMIT")
        self.db.close()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        """Drop the unfinished file (the build failed)."""
        with contextlib.suppress(Exception):
            self.db.close()
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()


def build_from(path: Path, rows: Iterable[Row], documents: Mapping[str, Mapping[str, Any]]) -> None:
    """Write a whole lexical file from ``rows`` (a file a reader finds missing, or a full build)."""
    writer = Writer(path, None, ())
    try:
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 2000:
                writer.add(batch)
                batch = []
        writer.add(batch)
        writer.finish(documents)
    except BaseException:
        writer.abandon()
        raise


def open_lexicon(settings: Settings, generation: Generation) -> Lexicon:
    """The lexical file of ``generation``, made from the store's passages first when it is missing
    (an index built by an older version, or a Chroma server's index seen from a new client).

    A client that cannot write its index folder keeps the file in the temporary folder instead.
    """
    path = file_for(settings.index_dir, generation.number)
    if not path.exists():
        try:
            _make(path, generation)
        except OSError:
            where = Path(tempfile.gettempdir()) / "news-assistant-lexical" / settings.collection
            path = file_for(where, generation.number)
            if not path.exists():
                _make(path, generation)
    return Lexicon(path)


def _make(path: Path, generation: Generation) -> None:
    count = generation.passages.count()
    log.warning("Making the lexical index %s from the store's %d passages (once)", path, count)

    def rows() -> Iterable[Row]:
        for start in range(0, count, 1000):
            page = generation.passages.get(limit=1000, offset=start, include=["documents", "metadatas"])
            for pid, text, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
                yield (pid, m["source"], int(m.get("ordinal", 0)), m.get("kind", "body"),
                       m.get("title", ""), m.get("date", ""), text, m["sentences"])  # fmt: skip

    build_from(path, rows(), generation.documents)
