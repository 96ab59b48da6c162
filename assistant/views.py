"""A collection as one index generation sees it: only its live records, under their plain ids.

Records are stored under ``<id>@<born>`` (born: the generation that wrote them), so a document's
old and new versions can live side by side while a build runs. A generation's manifest names the
``born`` of each live document; :class:`View` shows exactly those records, by their ``<id>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_PAGE = 1000  # ids per Chroma get call


def record_key(source: str, born: int) -> str:
    """The ``doc`` metadata value of a document version's records (used to delete them)."""
    return f"{source}@{born}"


def split_id(raw: str) -> tuple[str, int]:
    """``("<id>", born)`` from a stored record id."""
    plain, _, born = raw.rpartition("@")
    return plain, int(born) if born.isdigit() else -1


class View:
    """Read access to a passages or sentences collection, filtered to one generation's records.

    Supports the calls readers make: ``get`` (by ids, or a page of every live passage), ``query``
    and ``count``; ids go in and come out without the ``@born`` suffix.
    """

    def __init__(
        self, collection: Any, kind: str, documents: dict[str, dict[str, Any]], stale: int = 0
    ) -> None:
        self.collection = collection
        self.kind = kind
        self.documents = documents
        self.stale = stale  # records of superseded versions still stored (a query skips over them)
        self._parts = 2 if kind == "sentences" else 1  # "::ordinal" (and "::n") after the source
        self._ids: list[str] | None = None

    def _source(self, plain: str) -> str:
        return plain.rsplit("::", self._parts)[0]

    def _raw(self, plain: str) -> str | None:
        entry = self.documents.get(self._source(plain))
        return None if entry is None else f"{plain}@{entry['born']}"

    def visible(self, raw: str) -> str | None:
        """The plain id of a stored record this generation sees, else None."""
        plain, born = split_id(raw)
        entry = self.documents.get(self._source(plain))
        return plain if entry is not None and entry.get("born") == born else None

    def live_ids(self) -> list[str]:
        """Every live passage id, in a stable order (sources sorted, then ordinals)."""
        if self.kind != "passages":
            raise TypeError("only the passages view lists its ids")
        if self._ids is None:
            self._ids = [
                f"{s}::{i}" for s in sorted(self.documents) for i in range(self.documents[s]["passages"])
            ]
        return self._ids

    def count(self) -> int:
        """How many records this generation sees (passages view only)."""
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
            wanted = [raw for raw in map(self._raw, ids) if raw is not None]
            rows: dict[str, dict[str, Any]] = {}
            for start in range(0, len(wanted), _PAGE):
                page = self.collection.get(ids=wanted[start : start + _PAGE], include=include)
                rows |= _rows(page, include)
            found = [raw for raw in wanted if raw in rows]
            return _result([split_id(raw)[0] for raw in found], [rows[raw] for raw in found], include)
        plain_ids, picked = [], []
        page = self.collection.get(where=where, include=include)
        for raw, row in _rows(page, include).items():
            plain = self.visible(raw)
            if plain is not None:
                plain_ids.append(plain)
                picked.append(row)
        start = offset or 0
        end = None if limit is None else start + limit
        return _result(plain_ids[start:end], picked[start:end], include)

    def query(
        self,
        query_embeddings: Any,
        n_results: int = 10,
        include: Sequence[str] = ("distances",),
        where: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Like ``Collection.query``: the ``n_results`` nearest live records per query vector.

        Superseded records are still in the HNSW graph for a generation; asking for that many more
        and dropping them keeps the answer exact without a metadata filter (which is 30x slower).
        """
        include = list(include)
        out: dict[str, list[Any]] = {"ids": []} | {key: [] for key in include}
        for vector in query_embeddings:
            n = n_results + self.stale + 8
            while True:
                found = self.collection.query(
                    query_embeddings=[vector], n_results=n, include=include, where=where
                )
                ids, kept = [], {key: [] for key in include}
                for pos, raw in enumerate(found["ids"][0]):
                    plain = self.visible(raw)
                    if plain is None:
                        continue
                    ids.append(plain)
                    for key in include:
                        kept[key].append(found[key][0][pos])
                if len(ids) >= n_results or len(found["ids"][0]) < n:
                    break
                n *= 4  # a build in progress added close records: look further
            out["ids"].append(ids[:n_results])
            for key in include:
                out[key].append(kept[key][:n_results])
        return out


def _rows(page: dict[str, Any], include: list[str]) -> dict[str, dict[str, Any]]:
    return {
        raw: {key: page[key][pos] for key in include if page.get(key) is not None}
        for pos, raw in enumerate(page["ids"])
    }


def _result(ids: list[str], rows: list[dict[str, Any]], include: list[str]) -> dict[str, Any]:
    return {"ids": ids} | {key: [row.get(key) for row in rows] for key in include}
