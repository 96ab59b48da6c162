"""The lexical index on disk: one SQLite file per index generation, opened by readers, not rebuilt.

A build writes ``<index>/lexical/g<number>.sqlite`` beside the Chroma collection pair of its
generation, before it publishes, and never changes it afterwards; a reader opens the file of the
generation the pointer names. So start-up does not grow with the corpus: nothing is loaded but the
file's header, and a question reads only the postings of its own words and the passages it ranks.

The file holds the passages (text and metadata, read by id), BM25 postings of today's tokenizer
and stemmer (``ingest/lexical.py``: the same scores as the in-memory ``BM25`` to the last digit),
and the documents' catalog (catalog.py). Writing the file (a build's, or one a reader finds
missing) is lexicon_writer.py.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.indexing import catalog
from assistant.ingest.lexical import tokens

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

K1, B = 1.2, 0.75
#: Candidate sets up to this size are scored by point lookups (a question narrowed to documents).
_LOOKUP_MAX = 4000

SCHEMA = """
CREATE TABLE passages (
    id TEXT UNIQUE, source TEXT, ordinal INTEGER, kind TEXT, title TEXT, date TEXT,
    text TEXT, sentences TEXT, length INTEGER);
CREATE INDEX passages_by_source ON passages (source, ordinal);
CREATE TABLE postings (term TEXT, passage INTEGER, tf INTEGER, length INTEGER);
CREATE TABLE terms (term TEXT PRIMARY KEY, df INTEGER) WITHOUT ROWID;
CREATE TABLE stats (key TEXT PRIMARY KEY, value REAL) WITHOUT ROWID;
"""
POSTINGS_INDEX = "CREATE INDEX IF NOT EXISTS postings_by_term ON postings (term, passage, tf, length)"

#: A passage row: id, source, ordinal, kind, title, date, text, sentences (JSON spans).
Row = tuple[str, str, int, str, str, str, str, str]


def folder(index_dir: Path) -> Path:
    """Where the lexical files of an index live."""
    return index_dir / "lexical"


def file_for(index_dir: Path, number: int) -> Path:
    """The lexical file of generation ``number``."""
    return folder(index_dir) / f"g{number}.sqlite"


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
        marks = ",".join("?" * len(sources))
        found = self._all(
            "SELECT 1 FROM postings p JOIN passages q ON q.rowid = p.passage "
            f"WHERE p.term = ? AND q.source IN ({marks}) LIMIT 1",
            [term, *sources],
        )
        return bool(found)

    # --- search ------------------------------------------------------------------------------------

    def search(
        self, query_terms: Sequence[str], k: int, allowed: Sequence[int] = ()
    ) -> list[tuple[int, float]]:
        """The ``k`` best passages (rowid, BM25 score) for the terms, among ``allowed`` when given.

        Exact top ``k`` without scoring every passage that shares a word: terms are read rarest
        first, and once the ``k``-th best score beats what the unread terms could add at most, the
        rest only refine the passages still in reach (the MaxScore method).
        """
        df = self._df(query_terms)
        terms = sorted(df, key=lambda t: (df[t], t))  # rarest first
        if not terms or k <= 0:
            return []
        idf = {t: self._idf_of(df[t]) for t in terms}
        if allowed and len(allowed) <= _LOOKUP_MAX:
            return self._top(self._lookup(terms, idf, list(allowed)), k)
        keep = set(allowed)
        scores: dict[int, float] = {}
        reach = sum(idf.values()) * (K1 + 1)  # the most the unread terms can add
        for j, term in enumerate(terms):
            reach -= idf[term] * (K1 + 1)
            for rowid, tf, length in self._all(
                "SELECT passage, tf, length FROM postings WHERE term = ?", [term]
            ):
                if not keep or rowid in keep:
                    scores[rowid] = scores.get(rowid, 0.0) + self._weight(idf[term], tf, length)
            if len(scores) >= k and j + 1 < len(terms):
                floor = heapq.nlargest(k, scores.values())[-1]
                if reach < floor:  # a passage not yet seen cannot reach the top k any more
                    near = [r for r, s in scores.items() if s + reach >= floor]
                    extra = self._lookup(terms[j + 1 :], idf, near)
                    for rowid, value in extra.items():
                        scores[rowid] += value
                    break
        return self._top(scores, k)

    def _lookup(self, terms: Sequence[str], idf: Mapping[str, float], rowids: list[int]) -> dict[int, float]:
        """The BM25 scores of ``rowids`` over ``terms`` (those that share none are left out)."""
        scores: dict[int, float] = {}
        for start in range(0, len(rowids), 500):
            part = rowids[start : start + 500]
            marks = ",".join("?" * len(part))
            for term in terms:
                for rowid, tf, length in self._all(
                    f"SELECT passage, tf, length FROM postings WHERE term = ? AND passage IN ({marks})",
                    [term, *part],
                ):
                    scores[rowid] = scores.get(rowid, 0.0) + self._weight(idf[term], tf, length)
        return scores

    def _weight(self, idf: float, tf: int, length: int) -> float:
        return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / self.avg_length))

    @staticmethod
    def _top(scores: Mapping[int, float], k: int) -> list[tuple[int, float]]:
        return heapq.nlargest(k, scores.items(), key=lambda item: (item[1], -item[0]))

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
