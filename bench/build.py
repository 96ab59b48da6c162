"""Index build throughput against raw `model.encode`, peak memory, and incremental rebuilds.

    .venv/bin/python -m bench.build [--docs 928]

3. A full build of ``--docs`` BBC articles (a fresh index) in passages per second, against encoding
   the very sentences the builder embeds (same splitter, same model object, same batch size) with
   one plain ``model.encode`` call in the same process. Resident memory is sampled during the build.
4. Rebuilds: nothing changed (time vs the full build; sentences embedded must be 0), then one
   article changed (only its sentences may be embedded), then one article added (target: at most 5%
   of the full build).
5. Disk: the index folder's size after ``--rebuilds`` one-article rebuilds, against its size after
   the full build (target: at most 2x).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import common
from bench.common import RssSampler, ratio, secs
from bench.report import Section, Target

THROUGHPUT_TARGET = 0.85
NOOP_TARGET = 0.05
ADD_ONE_TARGET = 0.05
DISK_TARGET = 2.0


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder``."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


class EmbedCounter:
    """Wraps the index module's embed(): counts calls and sentences, so 'nothing re-embedded' is checked."""

    def __init__(self) -> None:
        import assistant.indexing.build as index_module

        self.module = index_module
        self.original = index_module.embed
        self.calls = 0
        self.texts = 0
        self.largest = 0

    def __enter__(self) -> EmbedCounter:
        def counting(name: str, texts: Sequence[str], batch_size: int = 64, precision: str = "auto") -> Any:
            self.calls += 1
            self.texts += len(texts)
            self.largest = max(self.largest, len(texts))
            return self.original(name, texts, batch_size, precision)

        self.module.embed = counting
        return self

    def __exit__(self, *exc: object) -> None:
        self.module.embed = self.original


def sentences_of(settings: Any) -> tuple[list[str], int, int]:
    """The sentence texts the builder embeds for these seeds, the passage count and document count."""
    from assistant.ingest.passages import split_document
    from assistant.ingest.seeds import load_seeds

    documents, _ = load_seeds(settings.seeds_dir, int(settings.max_seed_mb * 2**20))
    texts: list[str] = []
    passages = 0
    for doc in documents:
        split = split_document(doc, settings.passage_chars)
        passages += len(split)
        texts += [doc.text[s:e] for p in split for s, e in p.sentences]
    return texts, passages, len(documents)


def read_seconds(settings: Any) -> float:
    """Seconds to read and clean every seed (no embedding): the cleaner's share of a build."""
    import time

    from assistant.ingest.seeds import load_seeds

    started = time.perf_counter()
    load_seeds(settings.seeds_dir, int(settings.max_seed_mb * 2**20))
    return time.perf_counter() - started


def report_row(label: str, report: Any, seconds: float, counter: EmbedCounter) -> list[str]:
    return [
        label,
        secs(seconds),
        str(report.added),
        str(report.updated),
        str(report.removed),
        str(report.unchanged),
        str(report.chunks),
        str(counter.texts),
        str(counter.calls),
    ]


def main(argv: Sequence[str] | None = None) -> Section:
    p = common.parser(__doc__.splitlines()[0], questions=0)
    p.add_argument("--rebuilds", type=int, default=20, help="One-article rebuilds before measuring the disk.")
    args = p.parse_args(argv)

    from assistant import Settings, build_index
    from assistant.indexing.embedding import shared_embedder

    section = Section("build", "Index build throughput, memory and incremental rebuilds")
    rows = common.load_bbc(args.docs, args.csv)
    base = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        common.write_bbc_seeds(base / "seeds", rows)
        settings = Settings(seeds_dir=base / "seeds", index_dir=base / "index")
        model = shared_embedder(settings.embedding_model).model
        model.encode(["warm up"], normalize_embeddings=True)
        import chromadb  # noqa: F401  (imported before the baseline, like the model)

        texts, passages, documents = sentences_of(settings)
        sentence_mb = sum(len(t.encode()) for t in texts) / 2**20
        vector_mb = len(texts) * shared_embedder(settings.embedding_model).dimension() * 4 / 2**20
        baseline = common.rss_mb()

        # 3. Full build into an empty index.
        with EmbedCounter() as full_count, RssSampler() as rss:
            t_build, full = common.timed(lambda: build_index(settings, progress=False))
        peak = rss.peak
        first_half, second_half = rss.peak_between(0.0, 0.5), rss.peak_between(0.5, 1.0)

        # The floor: the same sentences through one plain encode call, same model, same batch size.
        t_raw, _ = common.timed(
            lambda: model.encode(
                texts,
                batch_size=settings.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        )
        build_rate = full.chunks / t_build
        raw_rate = passages / t_raw
        t_read = read_seconds(settings)
        section.figures["throughput"] = {
            "docs": documents,
            "passages": full.chunks,
            "sentences": len(texts),
            "sentences_embedded_by_build": full_count.texts,
            "build_seconds": t_build,
            "raw_encode_seconds": t_raw,
            "build_passages_per_s": build_rate,
            "raw_passages_per_s": raw_rate,
            "ratio": build_rate / raw_rate,
            "read_and_clean_seconds": t_read,
            "read_and_clean_share": t_read / t_build,
        }
        section.text(
            f"Corpus: the first {documents} articles of `bbc-news-928.csv`, one `.txt` seed each "
            f"({sum(len(r['text']) for r in rows) / 1e6:.2f} M characters) → {full.chunks} passages, "
            f"{len(texts)} sentences. The builder embeds each sentence once (a passage vector is the mean "
            f"of its sentences), so the floor is one `model.encode(sentences, batch_size="
            f"{settings.batch_size}, normalize_embeddings=True)` over exactly those sentences, run right "
            "after the build in the same process (splitting excluded from the floor, included in the build)."
        )
        section.table(
            "Full build vs raw encode",
            ["", "seconds", "passages/s", "sentences/s", "sentences embedded"],
            [
                [
                    "`build_index` (fresh index)",
                    secs(t_build),
                    f"{build_rate:.1f}",
                    f"{len(texts) / t_build:.1f}",
                    str(full_count.texts),
                ],
                [
                    "raw `model.encode` (same sentences)",
                    secs(t_raw),
                    f"{raw_rate:.1f}",
                    f"{len(texts) / t_raw:.1f}",
                    str(len(texts)),
                ],
                ["build rate / raw rate", "", ratio(build_rate / raw_rate), "", ""],
                [
                    f"of which reading + cleaning the seeds ({t_read / t_build:.1%} of the build)",
                    secs(t_read),
                    "",
                    "",
                    "",
                ],
            ],
        )
        section.figures["memory"] = {
            "baseline_mb": baseline,
            "peak_mb": peak,
            "first_half_peak_mb": first_half,
            "second_half_peak_mb": second_half,
            "ru_maxrss_mb": common.max_rss_mb(),
            "largest_embed_call": full_count.largest,
            "sentence_text_mb": sentence_mb,
            "all_vectors_mb": vector_mb,
        }
        section.table(
            "Memory during the full build (resident set, sampled every 50 ms)",
            ["", "MiB"],
            [
                ["before the build (model and chromadb loaded)", f"{baseline:.0f}"],
                ["peak during the build", f"{peak:.0f}"],
                ["growth (peak - before)", f"{peak - baseline:.0f}"],
                ["peak in the first / second half of the build", f"{first_half:.0f} / {second_half:.0f}"],
                [
                    f"largest single embed() call (sentences; {full_count.calls} calls)",
                    str(full_count.largest),
                ],
                [
                    "for scale: all sentence texts / all sentence vectors",
                    f"{sentence_mb:.1f} / {vector_mb:.1f}",
                ],
            ],
        )

        # 4. Incremental rebuilds.
        with EmbedCounter() as noop_count:
            t_noop, noop = common.timed(lambda: build_index(settings, progress=False))
        changed = sorted((base / "seeds").glob("*.txt"))[len(rows) // 2]
        changed.write_text(
            changed.read_text(encoding="utf-8") + "\nThis sentence was added to test an incremental build.\n",
            encoding="utf-8",
        )
        with EmbedCounter() as one_count:
            t_one, one = common.timed(lambda: build_index(settings, progress=False))
        from assistant.ingest.passages import split_document
        from assistant.ingest.seeds import read_seed

        doc = read_seed(changed, changed.name, 2**30)
        doc_sentences = sum(len(p.sentences) for p in split_document(doc, settings.passage_chars))
        full_bytes = folder_bytes(settings.index_dir)
        added_path = base / "seeds" / "zz-added-article.txt"
        # An article of ordinary length: the first one again, as a follow-up story under a new name.
        added_path.write_text(
            f"Follow-up\n\n{rows[0]['text'].strip()}\nThis follow-up was added last.\n", encoding="utf-8"
        )
        with EmbedCounter() as add_count:
            t_add, add = common.timed(lambda: build_index(settings, progress=False))
        seeds_list = sorted((base / "seeds").glob("*.txt"))
        sizes = []
        t_rebuilds = 0.0
        for r in range(args.rebuilds):
            path = seeds_list[(r * 37) % len(seeds_list)]
            path.write_text(path.read_text(encoding="utf-8") + f"\nEdit {r}.\n", encoding="utf-8")
            t_r, _ = common.timed(lambda: build_index(settings, progress=False))
            t_rebuilds += t_r
            sizes.append(folder_bytes(settings.index_dir))
        section.figures["incremental"] = {
            "full_seconds": t_build,
            "noop_seconds": t_noop,
            "noop_fraction": t_noop / t_build,
            "noop_sentences_embedded": noop_count.texts,
            "one_seconds": t_one,
            "one_fraction": t_one / t_build,
            "one_sentences_embedded": one_count.texts,
            "changed_doc_sentences": doc_sentences,
            "add_seconds": t_add,
            "add_fraction": t_add / t_build,
            "add_sentences_embedded": add_count.texts,
            "reports": {"full": repr(full), "noop": repr(noop), "one": repr(one), "add": repr(add)},
        }
        section.figures["disk"] = {
            "after_full_build_bytes": full_bytes,
            "rebuilds": args.rebuilds,
            "after_rebuilds_bytes": sizes[-1] if sizes else full_bytes,
            "max_bytes": max(sizes, default=full_bytes),
            "ratio": (sizes[-1] if sizes else full_bytes) / full_bytes,
            "mean_rebuild_seconds": t_rebuilds / max(args.rebuilds, 1),
        }
        section.table(
            "Builds and their IndexReport",
            [
                "build",
                "seconds",
                "added",
                "updated",
                "removed",
                "unchanged",
                "passages",
                "sentences embedded",
                "embed calls",
            ],
            [
                report_row("full (empty index)", full, t_build, full_count),
                report_row("again, nothing changed", noop, t_noop, noop_count),
                report_row(f"one article changed (`{changed.name}`)", one, t_one, one_count),
                report_row("one article added", add, t_add, add_count),
            ],
        )
        final = sizes[-1] if sizes else full_bytes
        section.table(
            f"Index folder size after {args.rebuilds} one-article rebuilds",
            ["", "MiB"],
            [
                ["after the full build", f"{full_bytes / 2**20:.1f}"],
                [f"after {args.rebuilds} rebuilds", f"{final / 2**20:.1f}"],
                ["largest along the way", f"{max(sizes, default=full_bytes) / 2**20:.1f}"],
                ["mean rebuild time", secs(t_rebuilds / max(args.rebuilds, 1))],
            ],
        )
        section.text(
            f"Nothing changed: {t_noop / t_build:.1%} of the full build. One article changed: "
            f"{t_one / t_build:.1%} of the full build; the changed article has {doc_sentences} sentences; "
            "the other articles' records stay where they are (a build writes only what changed). "
            f"One article added: {t_add / t_build:.1%} of the full build."
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)

    section.target(
        Target(
            "3. build passages/s / raw encode passages/s",
            ratio(build_rate / raw_rate),
            f">= {THROUGHPUT_TARGET}",
            build_rate / raw_rate >= THROUGHPUT_TARGET,
            f"{build_rate:.1f} vs {raw_rate:.1f} passages/s ({secs(t_build)} vs {secs(t_raw)})",
        )
    )
    section.target(
        Target(
            "3. sentences embedded by a full build = sentences (each once)",
            f"{full_count.texts} / {len(texts)}",
            "equal",
            full_count.texts == len(texts),
            f"peak RSS +{peak - baseline:.0f} MiB over {baseline:.0f} MiB; "
            f"largest batch {full_count.largest}",
        )
    )
    section.target(
        Target(
            "4. no-change rebuild time / full build, sentences embedded",
            f"{t_noop / t_build:.1%}, {noop_count.texts}",
            f"<= {NOOP_TARGET:.0%}, 0",
            t_noop / t_build <= NOOP_TARGET and noop_count.texts == 0,
            f"{secs(t_noop)} vs {secs(t_build)}",
        )
    )
    section.target(
        Target(
            "4. one article changed: only it re-embedded",
            f"{one_count.texts} sentences, updated={one.updated}",
            f"{doc_sentences} sentences, updated=1",
            one_count.texts == doc_sentences and one.updated == 1 and one.added == 0,
            f"{secs(t_one)} ({t_one / t_build:.1%} of full)",
        )
    )
    section.target(
        Target(
            "4. one article added: time / full build",
            f"{t_add / t_build:.1%}",
            f"<= {ADD_ONE_TARGET:.0%}",
            t_add / t_build <= ADD_ONE_TARGET and add.added == 1,
            f"{secs(t_add)} vs {secs(t_build)}; {add_count.texts} sentences embedded",
        )
    )
    final = sizes[-1] if sizes else full_bytes
    section.target(
        Target(
            f"5. index folder after {args.rebuilds} rebuilds / after the full build",
            ratio(final / full_bytes),
            f"<= {DISK_TARGET:.0f}x",
            final / full_bytes <= DISK_TARGET,
            f"{final / 2**20:.1f} vs {full_bytes / 2**20:.1f} MiB",
        )
    )
    section.finish(args.out, args.json)
    return section


if __name__ == "__main__":
    main()
