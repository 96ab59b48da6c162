"""The lexical index on disk (indexing/lexicon.py): the same BM25 as the in-memory reference, exact
top k with pruning, and incremental files equal to fresh ones."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assistant.indexing import lexicon, lexicon_writer
from assistant.indexing.catalog import Catalog
from assistant.ingest.lexical import BM25, tokens

WORDS = [f"w{i}" for i in range(400)]


def zipf_texts(n: int, seed: int) -> list[str]:
    """Texts whose words follow a Zipf law: a few words in most passages, most in a few."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(WORDS))]
    return [" ".join(rng.choices(WORDS, weights, k=rng.randint(5, 60))) for _ in range(n)]


def rows(texts: list[str], source_of, title: str = "") -> list[lexicon.Row]:
    return [
        (f"{source_of(i)}::{i}", source_of(i), i, "body", title, "", t, json.dumps([[0, len(t), 0, len(t)]]))
        for i, t in enumerate(texts)
    ]


def reference_top(texts: list[str], query: list[str], k: int, allowed: set[int] | None = None):
    scores = BM25(texts).scores(query)
    if allowed is not None:
        scores = {i: v for i, v in scores.items() if i in allowed}
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[list[str], lexicon.Lexicon]:
    texts = zipf_texts(3000, seed=1)
    path = tmp_path_factory.mktemp("lex") / "g1.sqlite"
    lexicon_writer.build_from(path, rows(texts, lambda i: f"doc{i // 10}.txt"), {})
    return texts, lexicon.Lexicon(path)


def test_scores_and_ranks_equal_the_in_memory_bm25(corpus) -> None:
    texts, lex = corpus
    rng = random.Random(2)
    for _ in range(60):
        # Questions of common and rare words alike, so the pruning stops at every point.
        query = rng.sample(WORDS[:20], rng.randint(0, 3)) + rng.sample(WORDS, rng.randint(1, 4))
        k = rng.choice([1, 5, 30])
        got = lex.search(query, k)
        want = reference_top(texts, query, k)
        # rowids count from 1 in SQLite; passage i is rowid i + 1
        assert [r - 1 for r, _ in got] == [i for i, _ in want], query
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-12)


def test_search_within_documents_ranks_only_their_passages(corpus) -> None:
    texts, lex = corpus
    allowed = lex.passages_of(["doc3.txt", "doc250.txt"])
    assert len(allowed) == 20
    got = lex.search(["w1", "w50", "w300"], 5, allowed)
    want = reference_top(texts, ["w1", "w50", "w300"], 5, {r - 1 for r in allowed})
    assert [r - 1 for r, _ in got] == [i for i, _ in want]
    assert lex.search(["nosuchword"], 5) == []


def test_idf_and_known_follow_the_reference(corpus) -> None:
    texts, lex = corpus
    ref = BM25(texts)
    for word in ("w0", "w7", "w399", "absent"):
        assert lex.known(word) == ref.known(word)
        assert lex.idf(word) == pytest.approx(ref.idf(word))
    assert lex.idfs(["w0", "absent"]).keys() == {"w0"}


def test_an_incremental_file_equals_a_fresh_one(tmp_path: Path) -> None:
    texts = zipf_texts(400, seed=3)
    source = lambda i: f"doc{i // 20}.txt"  # noqa: E731
    first = tmp_path / "g1.sqlite"
    lexicon_writer.build_from(
        first, rows(texts, source), {f"doc{d}.txt": {"title": f"Doc {d}"} for d in range(20)}
    )
    # Generation 2: doc0 changes, doc1 goes, doc20 arrives.
    changed = zipf_texts(15, seed=4)
    writer = lexicon_writer.Writer(tmp_path / "g2.sqlite", first, {"doc0.txt", "doc1.txt"})
    new_rows = rows(changed, lambda i: "doc0.txt") + [
        (f"doc20.txt::{i}", "doc20.txt", i, "body", "", "", t, "[]") for i, t in enumerate(zipf_texts(5, 5))
    ]
    writer.add(new_rows)
    writer.finish({"doc0.txt": {"title": "Doc zero, changed"}, "doc20.txt": {"title": "Doc 20"}})
    after = lexicon.Lexicon(tmp_path / "g2.sqlite")
    live = [r for r in rows(texts, source) if r[1] not in ("doc0.txt", "doc1.txt")] + new_rows
    live_texts = [r[6] for r in live]
    assert after.count() == len(live)
    for query in (["w0", "w3"], ["w100", "w7", "w2"], ["w250"]):
        got = [after.rows([r])[r][1] for r, _ in after.search(query, 10)]
        want = [live[i][0] for i, _ in reference_top(live_texts, query, 10)]
        assert got == want
    assert after.idf("w5") == pytest.approx(BM25(live_texts).idf("w5"))
    # The catalog changed with it; the first file, still readable by an older reader, did not.
    assert after.catalog.title("doc0.txt") == "Doc zero, changed" and after.catalog.title("doc1.txt") is None
    assert lexicon.Lexicon(first).catalog.title("doc1.txt") == "Doc 1"
    assert not list(tmp_path.glob("*.partial"))


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    writer = lexicon_writer.Writer(tmp_path / "g9.sqlite", None, ())
    writer.add(rows(["one two"], lambda i: "a.txt"))
    writer.abandon()
    assert list(tmp_path.iterdir()) == []


def test_the_catalog_finds_documents_by_their_names() -> None:
    catalog = Catalog.of({
        "reuters-airasia.txt": {"title": "AirAsia plane missing", "site": "Reuters", "author": "Jane Doe"},
        "bbc/tennis.html": {"title": "Federer wins in Dubai", "site": "BBC Sport"},
    })  # fmt: skip
    assert len(catalog) == 2
    assert catalog.named("reuters", "alias") == {"reuters-airasia.txt"}
    assert catalog.named("doe", "alias") == {"reuters-airasia.txt"}
    assert catalog.named("tennis", "stem") == {"bbc/tennis.html"}
    assert catalog.titles_in("what happened in federer wins in dubai?") == ["bbc/tennis.html"]
    (dubai,), (plane,) = tokens("Dubai"), tokens("plane")
    described, df = catalog.describing([dubai, plane])
    assert described == {"bbc/tennis.html": {dubai}, "reuters-airasia.txt": {plane}}
    assert df == {dubai: 1, plane: 1}
