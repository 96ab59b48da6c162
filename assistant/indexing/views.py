"""An index generation's records, spread over several collection pairs, seen as one collection.

Each build writes its new and changed documents into a pair of collections of its own, named by
its generation number, and never changes it after publishing (a Chroma reader in another process
caches a collection's vectors, so a collection must not change under it). A generation's documents
say which generation wrote each live document (``born``); :class:`View` reads each document from
that pair only, so older versions of a document, still stored in older pairs, are never seen.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

_PAGE = 1000  # ids per Chroma get call


class Documents(Mapping[str, dict[str, Any]]):
    """A generation's documents (source -> manifest entry), read from the store on first use.

    Answering needs only which pair holds a document (``born``): once the generation's lexical file
    is open (``answer_born_from``), that comes from its catalog by source, so a process that only
    answers never loads a list that grows with the corpus. Builds and listings load it whole.
    """

    def __init__(self, load: Callable[[], dict[str, dict[str, Any]]]) -> None:
        self._load = load
        self._all: dict[str, dict[str, Any]] | None = None
        self._born_of: Callable[[str], int | None] | None = None
        self._lock = threading.Lock()

    def _entries(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._all is None:
                self._all = self._load()
            return self._all

    def answer_born_from(self, lookup: Callable[[str], int | None]) -> None:
        """Look ``born`` up with ``lookup`` (the lexical file's catalog) instead of loading the list."""
        self._born_of = lookup

    def born(self, source: str) -> int | None:
        """The generation whose collection pair holds ``source``'s records; None if not live."""
        if self._born_of is not None and self._all is None:
            return self._born_of(source)
        entry = self._entries().get(source)
        return None if entry is None else int(entry["born"])

    def __getitem__(self, source: str) -> dict[str, Any]:
        return self._entries()[source]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __len__(self) -> int:
        return len(self._entries())


def live_passages(documents: Mapping[str, Mapping[str, Any]]) -> dict[int, int]:
    """How many passages each collection pair holds for these documents (pair -> count)."""
    live: dict[int, int] = {}
    for d in documents.values():
        live[int(d["born"])] = live.get(int(d["born"]), 0) + d["passages"]
    return live


class View:
    """Read access to a generation's passages or sentences, as if they were one collection.

    Supports the calls readers make: ``get`` (by ids, by ``where``, or a page of every live
    passage), ``query`` and ``count``.
    """

    def __init__(
        self,
        pairs: dict[int, Any],
        kind: str,
        documents: Documents,
        stale: dict[int, int] | None = None,
        exact: Callable[[int], tuple[list[str], Any] | None] | None = None,
    ) -> None:
        self.pairs = pairs  # generation that wrote the pair -> that pair's collection of this kind
        self.kind = kind
        self.documents = documents
        self.stale = stale or {}  # records of other versions still stored in each pair (skipped)
        self._parts = 2 if kind == "sentences" else 1  # "::ordinal" (and "::n") after the source
        self._ids: list[str] | None = None
        #: A small pair's passage ids and vectors, searched exactly instead of through Chroma (None:
        #: ask Chroma). Chroma's cache keeps every HNSW index it loads, so a reader that loaded each
        #: build's small pair grew with every rebuild.
        self.exact = exact

    def _born(self, record_id: str) -> int | None:
        return self.documents.born(record_id.rsplit("::", self._parts)[0])

    def visible(self, record_id: str, pair: int) -> bool:
        """True when the record of that id stored in ``pair`` is the version this generation sees."""
        return self._born(record_id) == pair

    def live_ids(self) -> list[str]:
        """Every live passage id, in a stable order (sources sorted, then ordinals)."""
        if self.kind != "passages":
            raise TypeError("only the passages view lists its ids")
        if self._ids is None:
            docs = self.documents
            self._ids = [f"{s}::{i}" for s in sorted(docs) for i in range(docs[s]["passages"])]
        return self._ids

    def count(self) -> int:
        """How many passages this generation sees (passages view only)."""
        return len(self.live_ids())

    def get(
        self,
        ids: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        include: Sequence[str] = ("metadatas", "documents"),
    ) -> dict[str, Any]:
        """Like ``Collection.get``; without ids and where, pages through the live passages."""
        include = list(include)
        if ids is None and where is None:
            start = offset or 0
            ids = self.live_ids()[start : None if limit is None else start + limit]
        if ids is not None:
            by_pair: dict[int, list[str]] = {}
            for record_id in ids:
                born = self._born(record_id)
                if born is not None and born in self.pairs:
                    by_pair.setdefault(born, []).append(record_id)
            rows: dict[str, dict[str, Any]] = {}
            for born, wanted in by_pair.items():
                for start in range(0, len(wanted), _PAGE):
                    page = self.pairs[born].get(ids=wanted[start : start + _PAGE], include=include)
                    rows |= _rows(page, include)
            found = [i for i in ids if i in rows]
            return _result(found, [rows[i] for i in found], include)
        found_ids, picked = [], []
        for born, collection in sorted(self.pairs.items()):
            for record_id, row in _rows(collection.get(where=where, include=include), include).items():
                if self.visible(record_id, born):
                    found_ids.append(record_id)
                    picked.append(row)
        start = offset or 0
        end = None if limit is None else start + limit
        return _result(found_ids[start:end], picked[start:end], include)

    def query(
        self,
        query_embeddings: Any,
        n_results: int = 10,
        include: Sequence[str] = ("distances",),
        where: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Like ``Collection.query``: the ``n_results`` nearest live records per query vector.

        Each pair is asked for as many more as it holds records of other versions, those are
        dropped, and the pairs' answers are merged by distance.
        """
        include = list(include)
        asked = sorted(set(include) | {"distances"})
        out: dict[str, list[Any]] = {"ids": []} | {key: [] for key in include}
        for vector in query_embeddings:
            found: list[tuple[float, str, dict[str, Any]]] = []
            for born, collection in self.pairs.items():
                n = n_results + self.stale.get(born, 0) + 8
                page = self._exact_query(born, vector, n, asked, where) or collection.query(
                    query_embeddings=[vector], n_results=n, include=asked, where=where
                )
                for pos, record_id in enumerate(page["ids"][0]):
                    if self.visible(record_id, born):
                        row = {key: page[key][0][pos] for key in asked}
                        found.append((float(row["distances"]), record_id, row))
            best = heapq.nsmallest(n_results, found, key=lambda item: item[0])
            out["ids"].append([record_id for _, record_id, _ in best])
            for key in include:
                out[key].append([row[key] for _, _, row in best])
        return out

    def _exact_query(
        self, born: int, vector: Any, n: int, include: list[str], where: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Chroma's answer for a small pair, computed from its file: cosine distances of every
        passage (None: ask Chroma, for a pair without a file, a large one, or another filter)."""
        import numpy as np

        sources = _sources(where)
        if self.exact is None or set(include) != {"distances"} or (where is not None and sources is None):
            return None
        found = self.exact(born)
        if found is None:
            return None
        ids, matrix = found
        distances = 1.0 - matrix @ np.asarray(vector, dtype=np.float32)
        if sources is not None:
            keep = np.fromiter((i.rsplit("::", 1)[0] in sources for i in ids), dtype=bool, count=len(ids))
            distances = np.where(keep, distances, np.inf)
        best = [int(i) for i in np.argsort(distances, kind="stable")[:n] if np.isfinite(distances[i])]
        return {"ids": [[ids[i] for i in best]], "distances": [[float(distances[i]) for i in best]]}


def _sources(where: dict[str, Any] | None) -> set[str] | None:
    """The sources a ``where`` filter on ``source`` allows (None: no filter, or another kind)."""
    if not where or set(where) != {"source"}:
        return None
    value = where["source"]
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict) and set(value) == {"$in"}:
        return set(value["$in"])
    return None


def _rows(page: dict[str, Any], include: list[str]) -> dict[str, dict[str, Any]]:
    return {
        record_id: {key: page[key][pos] for key in include if page.get(key) is not None}
        for pos, record_id in enumerate(page["ids"])
    }


def _result(ids: list[str], rows: list[dict[str, Any]], include: list[str]) -> dict[str, Any]:
    return {"ids": ids} | {key: [row.get(key) for row in rows] for key in include}
