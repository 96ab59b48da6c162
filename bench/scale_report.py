"""bench/scale.py's write-up: the table, the targets of issue #33, the 100,000 line, and the plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import ms, ratio
from bench.report import Section, Target

PAPER = 100_000
#: (key, label, unit scale, format) of the figures extrapolated to PAPER documents.
LINES = [
    ("index_mb", "index on disk (MiB)", 1, "{:,.0f}"),
    ("build_s", "build on this machine (hours)", 1 / 3600, "{:.1f}"),
    ("cold_s", "cold `assistant ask` (s)", 1, "{:.1f}"),
    ("cold_rss_mb", "cold ask peak RSS (MiB)", 1, "{:,.0f}"),
    ("answer_p50", "warm answer p50 (ms)", 1000, "{:.0f}"),
]


def fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares line (intercept, slope)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return my - slope * mx, slope


def path(r: dict[str, Any], reader: bool) -> tuple[float, float]:
    """Warm (p50, p95) of the reader's path or the scorer's, whichever was the default."""
    if r.get("reader", False) == reader:
        return r["answer_p50"], r["answer_p95"]
    return r["other_answer_p50"], r["other_answer_p95"]


def section(rows: list[dict[str, Any]]) -> Section:
    s = Section("scale", "Scale: 1,000 to 10,000 documents (bench/scale.py)")
    s.text(
        "Corpora: the 928 BBC articles, then SQuAD v1.1 train paragraphs grouped by article into documents "
        "of 3-8 paragraphs, regrouped with fixed seeds (bench/scale_corpus.py). Questions: SQuAD's own, on "
        "paragraphs every size holds; a hit is a gold answer text in the answer or its quotes. Each figure "
        "comes from fresh processes; cold and bare runs interleaved (median of 3)."
    )
    s.figures["sizes"] = rows
    s.table(
        "Build",
        ["docs", "passages", "sentences", "build", "sentences/s", "precision", "peak RSS", "index",
         "lexical"],
        [
            [f"{r['docs']:,}", f"{r['passages']:,}", f"{r['sentences']:,}", f"{r['build_s'] / 60:.1f} min",
             f"{r['sentences_per_s']:.0f}", r["precision"], f"{r['build_rss_mb']:.0f} MiB",
             f"{r['index_mb']:.0f} MiB", f"{r['lexical_mb']:.0f} MiB"]
            for r in rows
        ],
    )  # fmt: skip
    s.table(
        "Questions (warm: after one untimed pass; the default answerer interleaved with the embedding)",
        ["docs", "cold ask", "bare load+encode", "ratio", "cold RSS", "first answer", "embedding p50",
         "scorer p50", "p95", "reader p50", "p95", "add 1 doc", "hits"],
        [
            [f"{r['docs']:,}", f"{r['cold_s']:.2f} s", f"{r['bare_s']:.2f} s", ratio(r["cold_ratio"]),
             f"{r['cold_rss_mb']:.0f} MiB", f"{r['first_answer_s']:.2f} s", ms(r["encode_p50"]),
             ms(path(r, False)[0]), ms(path(r, False)[1]), ms(path(r, True)[0]), ms(path(r, True)[1]),
             f"{r['add_one_s']:.2f} s", f"{r['hits']}/{r['questions']}"]
            for r in rows
        ],
    )  # fmt: skip
    served = [r for r in rows if "server" in r]
    if served:
        s.table(
            "The same index on a Chroma server (`chroma run` on 127.0.0.1)",
            ["docs", "cold ask", "ratio", "cold RSS", "warm p50", "p95", "p50/emb", "same answers"],
            [
                [f"{r['docs']:,}", f"{r['server']['cold_s']:.2f} s", ratio(r["server"]["cold_ratio"]),
                 f"{r['server']['cold_rss_mb']:.0f} MiB", ms(r["server"]["answer_p50"]),
                 ms(r["server"]["answer_p95"]), ratio(r["server"]["answer_p50"] / r["server"]["encode_p50"]),
                 f"{r['server']['same_answers']}/{r['questions']}"]
                for r in served
            ],
        )  # fmt: skip
    if len(rows) >= 2:
        xs = [r["docs"] for r in rows]
        lines = []
        for key, label, unit, fmt in LINES:
            ys = [r[key] for r in rows]
            a, b = fit(xs, ys)
            # A figure that does not grow (noise tilts its line down) is carried flat: its largest value.
            far = a + b * PAPER if b > 0 else max(ys)
            lines.append([label, fmt.format((a + b * 1000) * unit), fmt.format(far * unit)])
        s.table(f"{PAPER:,} documents on paper (a line through the measured sizes; flat if it falls)",
                ["figure", "at 1,000 (fit)", f"at {PAPER:,}"], lines)  # fmt: skip
    targets(s, rows)
    return s


def targets(s: Section, rows: list[dict[str, Any]]) -> None:
    small, large = rows[0], rows[-1]
    n, emb = f"{large['docs']:,}", large["encode_p50"]
    checks = [
        (f"cold ask at {n} / bare load+encode", large["cold_ratio"], 1.3, ratio),
        (f"cold ask at {n} / at {small['docs']:,}", large["cold_s"] / small["cold_s"], 1.2, ratio),
        (f"cold ask peak RSS at {n} (MiB)", large["cold_rss_mb"], 1200, "{:.0f}".format),
        (f"cold RSS at {n} / at {small['docs']:,}", large["cold_rss_mb"] / small["cold_rss_mb"], 1.2, ratio),
        (f"warm p50 at {n} / question embedding (scorer)", path(large, False)[0] / emb, 2.5, ratio),
        (f"warm p95 at {n} / question embedding (scorer)", path(large, False)[1] / emb, 4.0, ratio),
        (f"warm p50 at {n} / question embedding (reader, #32)", path(large, True)[0] / emb, 4.0, ratio),
        (f"adding one document at {n} (s)", large["add_one_s"], 3.0, "{:.2f}".format),
    ]
    for name, value, wanted, fmt in checks:
        s.target(Target(name, fmt(value), f"<= {fmt(wanted)}", value <= wanted))
    if "fp32_sentences_per_s" in small:
        speed = small["sentences_per_s"] / small["fp32_sentences_per_s"]
        wanted = 1.5 if small["precision"] == "bf16" else 1.0
        s.target(Target(f"build sentences/s, {small['precision']} / fp32", ratio(speed), f">= {wanted}x",
                        speed >= wanted))  # fmt: skip
    for r in rows:
        if "server" in r:
            same = r["server"]["same_answers"]
            s.target(Target(f"server answers = embedded at {r['docs']:,}", f"{same}/{r['questions']}",
                            "all", same == r["questions"]))  # fmt: skip


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Each figure against corpus size, so growth is seen at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["docs"] for r in rows]

    def col(key: str, scale: float = 1.0) -> list[float]:
        return [scale * r[key] for r in rows]

    panels = [
        ("build (sentences/s)", [("sentences/s", col("sentences_per_s"))]),
        ("cold ask (s)", [("assistant ask", col("cold_s")), ("bare", col("bare_s"))]),
        ("peak RSS (MiB)", [("cold ask", col("cold_rss_mb")), ("build", col("build_rss_mb"))]),
        (
            "warm answer (ms)",
            [("default answerer p50", col("answer_p50", 1000)), ("p95", col("answer_p95", 1000)),
             ("embedding p50", col("encode_p50", 1000))],
        ),
        ("index on disk (MiB)", [("all", col("index_mb")), ("lexical", col("lexical_mb"))]),
        ("add one document (s)", [("build_index", col("add_one_s"))]),
    ]  # fmt: skip
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (title, series) in zip(axes.flat, panels, strict=True):
        for label, ys in series:
            ax.plot(xs, ys, marker="o", label=label)
        ax.set_title(title)
        ax.set_xlabel("documents")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    fig.suptitle("bench/scale.py: figures against corpus size")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
