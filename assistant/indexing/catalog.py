"""The documents' catalog: what a question may call each document, kept on disk in the lexical file.

Each document goes by names taken from itself, never from a list in the code: its file name, its
site or outlet, its authors (and their surnames), its headline and the stemmed words describing it
(answering/focus.py matches questions against them). The catalog lives in each generation's lexical
file (lexicon.py), so a process looks names up instead of holding every document's entry.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from assistant.ingest.lexical import compact, tokens

SCHEMA = """
CREATE TABLE documents (source TEXT PRIMARY KEY, title TEXT, folded TEXT, born INTEGER) WITHOUT ROWID;
CREATE TABLE names (key TEXT, kind TEXT, source TEXT);
CREATE INDEX names_by_key ON names (key, kind);
CREATE INDEX names_by_source ON names (source);
CREATE TABLE words (word TEXT, source TEXT);
CREATE INDEX words_by_word ON words (word, source);
CREATE INDEX words_by_source ON words (source);
"""
#: The kinds of name: an alias (site, author, surname, file), a file name, a file stem, a whole title.
ALIAS, FILE, STEM, TITLE = "alias", "file", "stem", "title"


def _people(author: str | None) -> list[str]:
    """The separate names in a byline's names: "Dean Yates and Robert Birsel" -> two names."""
    if not author:
        return []
    return [p.strip() for p in re.split(r"\s*(?:,|;|\band\b|&)\s*", author) if p.strip()]


def aliases(source: str, entry: Mapping[str, Any]) -> set[str]:
    """The compact names a document goes by: its site, its authors (and their surnames), its file."""
    names = {source, PurePosixPath(source).name}
    stem = PurePosixPath(source).stem
    if re.search(r"[-_\d]", stem):  # "reuters-2014-airasia", not "article" (of article.txt): a word
        names.add(stem)
    site = entry.get("site") or ""
    # "Associated Press (AP)" (ingest/doc_meta.find_outlet) goes by either name.
    for name in filter(None, re.split(r"\s*[()]\s*", site)):
        names |= {name, re.sub(r"^the\s+", "", name, flags=re.I)}
    for person in _people(entry.get("author")):
        names.add(person)
        parts = person.split()
        if len(parts) >= 2 and len(parts[-1]) >= 3:
            names.add(parts[-1])  # "the Gibney article"
    return {c for c in map(compact, names) if len(c) >= 2}


def describing_words(source: str, entry: Mapping[str, Any]) -> set[str]:
    """The stemmed words that describe a document: its headline, file name, site and authors."""
    stem = re.sub(r"[_.-]+", " ", PurePosixPath(source).stem)
    return set(
        tokens(" ".join([entry.get("title") or "", stem, entry.get("site") or "", entry.get("author") or ""]))
    )


def fold(title: str) -> str:
    """A title as a question would hold it pasted: lower case, single spaces."""
    return " ".join(title.lower().split())


def add(db: sqlite3.Connection, documents: Mapping[str, Mapping[str, Any]]) -> None:
    """Write the catalog entries of ``documents`` (source -> manifest entry)."""
    names, words = [], []
    for source, entry in documents.items():
        title = str(entry.get("title") or "")
        born = entry.get("born")
        row = (source, title, fold(title), None if born is None else int(born))
        db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)", row)
        names += [(key, ALIAS, source) for key in aliases(source, entry)]
        names += [(key, FILE, source) for key in {compact(source), compact(PurePosixPath(source).name)}]
        names.append((compact(PurePosixPath(source).stem), STEM, source))
        if compact(title):
            names.append((compact(title), TITLE, source))
        words += [(w, source) for w in describing_words(source, entry)]
    db.executemany("INSERT INTO names VALUES (?, ?, ?)", names)
    db.executemany("INSERT INTO words VALUES (?, ?)", words)


def remove(db: sqlite3.Connection, sources: Iterable[str]) -> None:
    """Drop these documents' catalog entries."""
    rows = [(s,) for s in sources]
    for table in ("documents", "names", "words"):
        db.executemany(f"DELETE FROM {table} WHERE source = ?", rows)


class Catalog:
    """Lookups in a generation's catalog (a question is matched in lookups, not a pass over documents)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock | None = None) -> None:
        self.db = db
        self.lock = lock or threading.Lock()
        self._count: int | None = None

    @classmethod
    def of(cls, entries: Mapping[str, Mapping[str, Any]]) -> Catalog:
        """A catalog of ``entries`` held in memory (for a caller without an index)."""
        db = sqlite3.connect(":memory:", check_same_thread=False)
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        add(db, entries)
        return cls(db)

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def __len__(self) -> int:
        if self._count is None:
            self._count = int(self._all("SELECT COUNT(*) FROM documents")[0][0])
        return self._count

    def title(self, source: str) -> str | None:
        """The document's title, or None for a source the catalog does not hold."""
        found = self._all("SELECT title FROM documents WHERE source = ?", [source])
        return found[0][0] if found else None

    def born(self, source: str) -> int | None:
        """The collection pair that holds the document's records, or None for one it does not hold."""
        found = self._all("SELECT born FROM documents WHERE source = ?", [source])
        return found[0][0] if found else None

    def first(self, n: int) -> list[str]:
        """The first ``n`` sources in sorted order."""
        return [r[0] for r in self._all("SELECT source FROM documents ORDER BY source LIMIT ?", [n])]

    def named(self, key: str, *kinds: str) -> set[str]:
        """The sources going by compact name ``key`` as one of ``kinds``."""
        marks = ",".join("?" * len(kinds))
        return {
            r[0]
            for r in self._all(f"SELECT source FROM names WHERE key = ? AND kind IN ({marks})", [key, *kinds])
        }

    def titles_in(self, folded_question: str, min_chars: int = 12) -> list[str]:
        """The sources whose whole title (``min_chars`` or longer) the question holds, pasted."""
        words = sorted(set(tokens(folded_question)))
        if not words:
            return []
        marks = ",".join("?" * len(words))
        candidates = self._all(
            f"SELECT d.source, d.folded FROM documents d JOIN (SELECT source, COUNT(*) AS c FROM words "
            f"WHERE word IN ({marks}) GROUP BY source ORDER BY c DESC LIMIT 50) w ON w.source = d.source",
            words,
        )
        return sorted(s for s, title in candidates if len(title) >= min_chars and title in folded_question)

    def describing(self, words: Iterable[str]) -> tuple[dict[str, set[str]], dict[str, int]]:
        """For these stemmed words: each document's describing words among them, and each word's
        document frequency over the whole catalog."""
        wanted = sorted(set(words))
        if not wanted:
            return {}, {}
        marks = ",".join("?" * len(wanted))
        by_source: dict[str, set[str]] = {}
        df: dict[str, int] = {}
        for word, source in self._all(f"SELECT word, source FROM words WHERE word IN ({marks})", wanted):
            by_source.setdefault(source, set()).add(word)
            df[word] = df.get(word, 0) + 1
        return by_source, df
