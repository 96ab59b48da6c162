"""Focus: which of the indexed documents a question is about.

With several documents in one chat, a question is narrowed to some of them, in this order:

1. the user's **choice** (``documents=[...]``, the web picker, ``--document``), matched by file
   name, title, site or author;
2. a document the question **names** when it speaks of a document ("the Reuters story", "the
   Guardian piece", "the article by Jane Doe", "the Federer Dubai story"): its outlet or site, its
   author, its file name, or words of its headline. Names come from the documents themselves
   (their site name, dateline, byline, title and file name), never from a list in the code;
3. for a **follow-up**, the documents the previous answer quoted (worked out in retrieval.py);
4. otherwise none: every document, as with one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.errors import UnknownDocumentError
from assistant.indexing.catalog import ALIAS, FILE, STEM, TITLE, Catalog, fold
from assistant.ingest.lexical import compact, tokens

#: Words that make a question speak of a document rather than of the news in it.
_DOCUMENT_NOUN = re.compile(
    r"\b(?:article|story|stories|piece|report|page|post|column|op-?ed|document|file|coverage|"
    r"editorial|feature|interview|write-?up|blog)s?\b|\baccording to\b|\b\w+(?:'s|’s) (?:take|account)\b",
    re.I,
)
_WORD = re.compile(r"[\w][\w.'’&-]*")
_MAX_NGRAM = 4


@dataclass(frozen=True)
class Focus:
    """The documents a question is narrowed to (empty: every document) and why."""

    sources: tuple[str, ...] = ()
    #: "chosen" (by the user), "named" (in the question), "follow-up" (the previous answer's), or "".
    reason: str = ""
    #: Ask every document when nothing in ``sources`` answers (a follow-up whose subject moved on).
    widen: bool = False


def speaks_of_a_document(question: str) -> bool:
    """True when the question refers to a document ("the Reuters story", "according to Nature")."""
    return bool(_DOCUMENT_NOUN.search(question))


def named_documents(question: str, catalog: Catalog) -> tuple[str, ...]:
    """The documents ``question`` names, or () when it names none (see the module docstring)."""
    if len(catalog) < 2:
        return ()
    titled = catalog.titles_in(fold(question))
    if titled:  # the whole headline, pasted
        return tuple(titled)
    words = [m.group().rstrip(".'’") for m in _WORD.finditer(question)]
    # A file name is a name wherever it is written; an outlet or author only when the question speaks
    # of a document: "How many deals has Reuters signed?" may be about a story that mentions Reuters.
    speaks = speaks_of_a_document(question)
    by_alias = _alias_matches(words, catalog, ALIAS if speaks else FILE)
    if by_alias or not speaks:
        return by_alias
    return _headline_matches(question, catalog)


def _alias_matches(words: list[str], catalog: Catalog, kind: str) -> tuple[str, ...]:
    count = len(catalog)
    lower_case = not any(w[:1].isupper() for w in words[1:])
    found: set[str] = set()
    for n in range(_MAX_NGRAM, 0, -1):
        for i in range(len(words) - n + 1):
            if not lower_case and not _whole_name(words, i, i + n):
                continue
            hits = catalog.named(compact(" ".join(words[i : i + n])), kind)
            if hits and len(hits) < count:  # a name every document shares names none of them
                found |= hits
        if found:
            break  # the longest name wins: "Vancouver Sun" before "Sun"
    return tuple(sorted(found))


def _whole_name(words: list[str], i: int, j: int) -> bool:
    """Is ``words[i:j]`` a whole name, not part of a longer one ("Reuters" in "Thomson Reuters")?"""

    def capital(k: int) -> bool:
        return 0 < k < len(words) and words[k][:1].isupper()

    return not capital(i - 1) and not capital(j)


def _headline_matches(question: str, catalog: Catalog) -> tuple[str, ...]:
    """The documents whose headline (or file name) shares the rarest words with the question."""
    n = len(catalog)
    described, df = catalog.describing(tokens(_DOCUMENT_NOUN.sub(" ", question)))
    scores = {
        s: sum(math.log((n + 1) / (df[w] + 0.5)) for w in words if df[w] < n)
        for s, words in described.items()
    }
    best = max(scores.values(), default=0.0)
    if best <= 0:
        return ()
    return tuple(sorted(s for s, v in scores.items() if v >= best - 1e-9))


def chosen_documents(names: Sequence[str], catalog: Catalog) -> tuple[str, ...]:
    """The indexed documents the user chose by ``names`` (file name, title, site or author).

    Raises UnknownDocumentError naming what was not found and what is indexed.
    """
    chosen: set[str] = set()
    for name in names:
        key = compact(str(name))
        hits = catalog.named(key, FILE, STEM) or (catalog.named(key, TITLE) if key else set())
        hits = hits or catalog.named(key, ALIAS)
        if not hits:
            listed = ", ".join(catalog.first(10)) + (", ..." if len(catalog) > 10 else "")
            raise UnknownDocumentError(
                f"No indexed document is called {str(name)!r}. Name one by its file name, title, site or "
                f"author; the index holds: {listed or 'nothing'} (`assistant documents` lists them)."
            )
        chosen |= hits
    return tuple(sorted(chosen))
