"""The lexical index on disk: one SQLite file per index generation, opened by readers, not rebuilt.

A build writes ``<index>/lexical/g<number>.2.sqlite`` beside the Chroma collection pair of its
generation, before it publishes, and never changes it afterwards; a reader opens the file of the
generation the pointer names. So start-up does not grow with the corpus: nothing is loaded but the
file's header, and a question reads only the postings of its own words and the passages it ranks.

The file holds the passages (text and metadata, read by id), BM25 postings of today's tokenizer
and stemmer (``ingest/lexical.py``: the same scores as the in-memory ``BM25``), one packed array a
word, so scoring a word is one numpy operation over its postings, and the documents' catalog
(catalog.py). Writing the file (a build's, or one a reader finds
missing) is lexicon_writer.py.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant.indexing import catalog
from assistant.ingest.lexical import tokens

log = logging.getLogger(__name__)

K1, B = 1.2, 0.75

SCHEMA = """
CREATE TABLE passages (
    id TEXT UNIQUE, source TEXT, ordinal INTEGER, kind TEXT, title TEXT, date TEXT,
    text TEXT, sentences TEXT, length INTEGER);
CREATE INDEX passages_by_source ON passages (source, ordinal);
CREATE TABLE terms (term TEXT PRIMARY KEY, df INTEGER, postings BLOB);
CREATE TABLE stats (key TEXT PRIMARY KEY, value REAL) WITHOUT ROWID;
"""
#: One posting in a term's ``postings`` blob (packed, little-endian): the passage's rowid, the term's
#: count in it and the passage's length in tokens; numpy reads a term's postings as one array.
POSTING = [("passage", "<i4"), ("tf", "<u2"), ("length", "<u4")]

#: A passage row: id, source, ordinal, kind, title, date, text, sentences (JSON spans).
Row = tuple[str, str, int, str, str, str, str, str]


def folder(index_dir: Path) -> Path:
    """Where the lexical files of an index live."""
    return index_dir / "lexical"


def file_for(index_dir: Path, number: int) -> Path:
    """The lexical file of generation ``number``."""
    # ".2": the postings-as-arrays format; a file of the first format is made anew, not misread
    return folder(index_dir) / f"g{number}.2.sqlite"


def remove_others(index_dir: Path, keep: Iterable[int] | None) -> None:
    """Delete the lexical files of every generation but ``keep`` (None: keep every finished one)
    and the unfinished files killed builds left."""
    names = None if keep is None else {file_for(index_dir, n).name for n in keep}
    with contextlib.suppress(FileNotFoundError):
        for entry in folder(index_dir).iterdir():
            if not entry.name.startswith("g"):
                continue  # a pair's sentence vectors (remove_vectors)
            if entry.name.endswith(".partial") or (names is not None and entry.name not in names):
                with contextlib.suppress(OSError):
                    entry.unlink()


def lexical_text(title: str, text: str) -> list[str]:
    """A passage's tokens: its title counts as its text (a headline names what the story is about)."""
    return tokens(f"{title} {text}")


class Lexicon:
    """A published lexical file, read-only: BM25 search, passages by id, the catalog. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # immutable: a published file never changes, so SQLite skips locking and change checks
        self.db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self.lock = threading.Lock()
        stats = dict(self.db.execute("SELECT key, value FROM stats").fetchall())
        self.n = int(stats.get("passages", 0))
        #: The highest passage rowid: the size of a question's array of scores.
        self.top = int(stats.get("top", 0))
        self.avg_length = stats.get("length", 0) / self.n if self.n else 1.0
        #: The idf a term absent from every passage would have: the rarest possible.
        self.max_idf = math.log(1 + (self.n + 0.5) / 0.5)
        self.catalog = catalog.Catalog(self.db, self.lock)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    # --- term statistics ---------------------------------------------------------------------------

    def _df(self, terms: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(terms))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        return dict(self._all(f"SELECT term, df FROM terms WHERE term IN ({marks})", wanted))

    def _idf_of(self, df: int) -> float:
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def idf(self, term: str) -> float:
        """Inverse document frequency; unseen terms get ``max_idf``."""
        df = self._df([term]).get(term)
        return self.max_idf if df is None else self._idf_of(df)

    def idfs(self, terms: Iterable[str]) -> dict[str, float]:
        """The idf of each of ``terms`` that some passage contains."""
        return {t: self._idf_of(df) for t, df in self._df(terms).items()}

    def known(self, term: str) -> bool:
        """True when some passage contains the term."""
        return term in self._df([term])

    def in_sources(self, term: str, sources: Sequence[str]) -> bool:
        """True when a passage of one of ``sources`` contains the term."""
        import numpy as np

        found = self._postings([term])
        return bool(found) and bool(np.isin(found[0][2]["passage"], self.passages_of(sources)).any())

    # --- search ------------------------------------------------------------------------------------

    def _postings(self, terms: Iterable[str]) -> list[tuple[str, int, Any]]:
        """(term, df, postings array) of each of ``terms`` that some passage contains, rarest first."""
        import numpy as np

        wanted = sorted(set(terms))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        found = self._all(f"SELECT term, df, postings FROM terms WHERE term IN ({marks})", wanted)
        return sorted(
            ((t, df, np.frombuffer(blob, POSTING)) for t, df, blob in found), key=lambda r: (r[1], r[0])
        )

    def search(
        self, query_terms: Sequence[str], k: int, allowed: Sequence[int] = ()
    ) -> list[tuple[int, float]]:
        """The ``k`` best passages (rowid, BM25 score) for the terms, among ``allowed`` when given.

        Exact: every posting of the question's words is scored, at once per word (a word's postings
        are one array), so a question costs the length of its words' postings, never a loop over them.
        """
        import numpy as np

        found = self._postings(query_terms)
        if not found or k <= 0:
            return []
        scores = np.zeros(self.top + 1)
        for _, df, posting in found:  # rarest first: the same sums, in the same order, as BM25
            tf = posting["tf"].astype(np.float64)
            idf = self._idf_of(df)
            scores[posting["passage"]] += (
                idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * posting["length"] / self.avg_length))
            )
        if allowed:
            ids = np.asarray(allowed, dtype=np.int64)
            ids = np.unique(ids[(ids >= 0) & (ids <= self.top)])
            candidates = ids[scores[ids] > 0]  # a passage that shares no word is left out
        else:
            candidates = np.flatnonzero(scores)
        if len(candidates) > k:  # keep the k best and every tie with the k-th
            values = scores[candidates]
            floor = np.partition(values, len(values) - k)[len(values) - k]
            candidates = candidates[values >= floor]
        order = np.lexsort((candidates, -scores[candidates]))[:k]  # best first, then the lower rowid
        return [(int(candidates[i]), float(scores[candidates[i]])) for i in order]

    # --- passages ----------------------------------------------------------------------------------

    _COLUMNS = "rowid, id, source, ordinal, kind, title, date, text, sentences"

    def rows(self, rowids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        """Passage rows by rowid: (rowid, id, source, ordinal, kind, title, date, text, sentences)."""
        out: dict[int, tuple[Any, ...]] = {}
        for start in range(0, len(rowids), 500):
            part = list(rowids[start : start + 500])
            marks = ",".join("?" * len(part))
            for row in self._all(f"SELECT {self._COLUMNS} FROM passages WHERE rowid IN ({marks})", part):
                out[row[0]] = row
        return out

    def rows_by_id(self, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """Passage rows by passage id."""
        out: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            for row in self._all(f"SELECT {self._COLUMNS} FROM passages WHERE id IN ({marks})", part):
                out[row[1]] = row
        return out

    def passages_of(self, sources: Sequence[str]) -> list[int]:
        """The rowids of ``sources``' passages."""
        if not sources:
            return []
        marks = ",".join("?" * len(sources))
        return [
            r[0] for r in self._all(f"SELECT rowid FROM passages WHERE source IN ({marks})", list(sources))
        ]

    def count(self) -> int:
        """How many passages the generation holds."""
        return self.n
