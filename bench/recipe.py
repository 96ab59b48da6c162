"""The usual recipe side by side with ours, on the same corpus and questions in the same run.

    .venv/bin/python -m bench.recipe [--docs 928] [--questions 30] [--rounds 3]

The recipe is the LangChain RAG tutorial's indexing and retrieval: RecursiveCharacterTextSplitter
(chunk_size=1000, chunk_overlap=200, add_start_index=True), the chunks embedded with the same model
object (``model.encode``, batch 64, normalised) and stored with **chromadb directly** (persistent
client, cosine HNSW, precomputed embeddings), then a top-4 similarity search per question; the four
chunks are what a reader (an LLM) would be handed. Ours: ``build_index`` into an empty index, then
``answer()``; we report the answer's length, the passages retrieved and their characters.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import common
from bench.common import ms, p50, p95, ratio, secs
from bench.report import Section


class Recipe:
    """The tutorial pipeline over a folder of .txt files."""

    def __init__(self, seeds: Path, store: Path, model: Any) -> None:
        self.seeds = seeds
        self.store = store
        self.model = model
        self.collection: Any = None
        self.chunks = 0
        self.chunk_chars = 0
        self.doc_chars = 0

    def build(self) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        docs = [
            Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.name})
            for p in sorted(self.seeds.glob("*.txt"))
        ]
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        chunks = splitter.split_documents(docs)
        texts = [c.page_content for c in chunks]
        vectors = self.model.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        client = chromadb.PersistentClient(
            path=str(self.store), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self.collection = client.get_or_create_collection(
            "recipe", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        step = min(5000, client.get_max_batch_size())
        for i in range(0, len(texts), step):
            self.collection.add(
                ids=[f"chunk-{n}" for n in range(i, min(i + step, len(texts)))],
                embeddings=vectors[i : i + step],
                documents=texts[i : i + step],
                metadatas=[c.metadata for c in chunks[i : i + step]],
            )
        self.chunks = len(texts)
        self.chunk_chars = sum(len(t) for t in texts)
        self.doc_chars = sum(len(d.page_content) for d in docs)

    def query(self, question: str, k: int = 4) -> list[str]:
        vector = self.model.encode(
            [question], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        found = self.collection.query(query_embeddings=vector, n_results=k, include=["documents"])
        return found["documents"][0]


def main(argv: Sequence[str] | None = None) -> Section:
    p = common.parser(__doc__.splitlines()[0], questions=30)
    args = p.parse_args(argv)

    from assistant import Assistant, Settings, answer, build_index

    section = Section("recipe", "Side by side with the usual LangChain recipe")
    section.text(
        "The recipe: the LangChain tutorial's `RecursiveCharacterTextSplitter(chunk_size=1000, "
        "chunk_overlap=200)`, chunks embedded with the same model object and stored with **chromadb "
        "used directly** (precomputed embeddings, cosine HNSW, persistent client), then a top-4 "
        "similarity search; the 4 chunks are what its reader (an LLM) is handed. Ours: `build_index` "
        "into an empty index (sentence vectors, passage = mean), then `answer()` (hybrid dense + BM25 "
        "retrieval of `top_k` passages, extractive answer). Same documents, same questions, same process; "
        "query timings interleaved."
    )
    rows = common.load_bbc(args.docs, args.csv)
    questions = common.corpus_questions(rows, args.questions)
    ws = common.bbc_workspace(args.docs, args.csv, fresh=True)
    settings = Settings(seeds_dir=ws / "seeds", index_dir=ws / "index")
    bot = Assistant(settings)
    model = bot.embedder.model
    model.encode(["warm up"], normalize_embeddings=True)

    tmp = Path(tempfile.mkdtemp(prefix="bench-recipe-"))
    try:
        recipe = Recipe(settings.seeds_dir, tmp / "chroma", model)
        t_recipe, _ = common.timed(recipe.build)
        t_ours, report = common.timed(lambda: build_index(settings, progress=False))

        searcher = bot.searcher
        for q in questions:  # warm both
            recipe.query(q)
            answer(q, settings=settings)
        r_times, o_times = [], []
        for r in range(max(1, args.rounds)):
            for q in questions:
                pair = [
                    (lambda q=q: recipe.query(q), r_times),
                    (lambda q=q: answer(q, settings=settings), o_times),
                ]
                for fn, sink in pair if r % 2 == 0 else pair[::-1]:
                    sink.append(common.timed(fn)[0])

        r_chars, o_answer, o_passages, o_chars, o_cited, o_abstained = [], [], [], [], [], 0
        for q in questions:
            r_chars.append(sum(len(c) for c in recipe.query(q)))
            result = answer(q, settings=settings)
            hits = searcher.search(q, settings.top_k)
            o_answer.append(len(result.text))
            o_passages.append(len(hits))
            o_chars.append(sum(len(h.text) for h in hits))
            o_cited.append(sum(len(c.quote) for c in result.citations))
            o_abstained += result.abstained
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n = len(questions)
    mean = lambda xs: sum(xs) / max(1, len(xs))  # noqa: E731
    section.figures = {
        "docs": len(rows),
        "questions": n,
        "recipe": {
            "build_seconds": t_recipe,
            "chunks": recipe.chunks,
            "query_p50": p50(r_times),
            "query_p95": p95(r_times),
            "chars_to_reader": mean(r_chars),
            "chunk_chars_over_corpus": recipe.chunk_chars / max(1, recipe.doc_chars),
        },
        "ours": {
            "build_seconds": t_ours,
            "passages": report.chunks,
            "answer_p50": p50(o_times),
            "answer_p95": p95(o_times),
            "answer_chars": mean(o_answer),
            "passages_retrieved": mean(o_passages),
            "passage_chars": mean(o_chars),
            "quoted_chars": mean(o_cited),
            "abstained": o_abstained,
        },
    }
    section.table(
        f"Recipe vs ours: {len(rows)} BBC docs, {n} questions × {max(1, args.rounds)} rounds",
        ["", "LangChain recipe (chromadb, top-4)", "ours (`answer()`)", "ours / recipe"],
        [
            ["build time (empty store)", secs(t_recipe), secs(t_ours), ratio(t_ours / t_recipe)],
            [
                "units indexed",
                f"{recipe.chunks} chunks (≤1000 chars, 200 overlap)",
                f"{report.chunks} passages (~600 chars)",
                "",
            ],
            [
                "query → result, p50",
                f"{ms(p50(r_times))} (retrieval only)",
                f"{ms(p50(o_times))} (retrieval + answer)",
                ratio(p50(o_times) / p50(r_times)),
            ],
            ["query → result, p95", ms(p95(r_times)), ms(p95(o_times)), ratio(p95(o_times) / p95(r_times))],
            [
                "characters handed to the reader / question",
                f"{mean(r_chars):.0f} (4 chunks, for an LLM)",
                f"{mean(o_chars):.0f} ({mean(o_passages):.1f} passages, to the extractive answerer)",
                ratio(mean(o_chars) / max(1.0, mean(r_chars))),
            ],
            [
                "characters the user reads / question",
                "— (needs an LLM call)",
                f"{mean(o_answer):.0f} (answer text, {mean(o_cited):.0f} of it quoted; "
                f"{o_abstained}/{n} abstained)",
                "",
            ],
        ],
    )
    section.text(
        "The recipe's query time stops at retrieval: turning its chunks into an answer needs an LLM "
        "call on top (not measured here). Ours includes the finished, cited answer; ours retrieves "
        f"`top_k` = {settings.top_k} passages. The recipe's overlapping chunks hold "
        f"{recipe.chunk_chars / max(1, recipe.doc_chars):.2f}x the corpus's characters, and each chunk "
        "of up to 1000 characters is one long model input; ours embeds every sentence once."
    )
    section.finish(args.out, args.json)
    return section


if __name__ == "__main__":
    main()
