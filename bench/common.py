"""Shared helpers for the benchmarks: corpora in temporary seed folders, timing, percentiles, tables.

Every script in ``bench/`` prints its tables and rewrites its own section of ``docs/benchmarks.md``
(between ``<!-- bench:NAME -->`` markers), so each can be run alone and the page stays whole.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.environment import offline  # noqa: E402  (needs ROOT on sys.path when run as a script)
from assistant.evaluate import percentile  # noqa: E402

offline()  # before anything imports transformers or chromadb

ARTICLE = ROOT / "seeds" / "us-missile-sales-two-koreas.txt"
BBC_CSV = Path(os.environ.get("BENCH_BBC_CSV", ROOT.parent / "shared" / "eval" / "bbc-news-928.csv"))
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
VENV_BIN = ROOT / ".venv" / "bin"
#: Where corpora and indexes are kept between scripts of one run (an unchanged index is reused).
CACHE = Path(os.environ.get("BENCH_CACHE", Path(tempfile.gettempdir()) / "news-assistant-bench"))

#: Generic questions a reader might ask about the project's article (not tuned to the answerer).
ARTICLE_QUESTIONS = [
    "What is the article about?",
    "How much is the missile sale worth?",
    "Who approved the sale?",
    "How many missiles will South Korea buy?",
    "What is THAAD?",
    "Who is Mark Lippert?",
    "Why did South Korea choose the PAC-3?",
    "What did Yonhap report?",
    "What does North Korea do with its missiles?",
    "When was the article published?",
]

#: Generic questions over a news corpus, asked before the ones made from its sentences.
GENERIC_QUESTIONS = [
    "What did the government announce?",
    "Who won the match?",
    "How much did the company earn?",
    "What did the minister say about the economy?",
    "Which film won the award?",
]

_STOP_WORDS = (
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this "
    "that these those he she they we you i his her their our my me him them us not no so than then there "
    "here what which who whom whose when where why how will would can could should may might must has "
    "have had do does did also just said says say about into over after before more most some any all "
    "one two new mr mrs ms s t up out"
)
_STOP = set(_STOP_WORDS.split())


# --- arguments -----------------------------------------------------------------------------------------


def parser(description: str, *, questions: int) -> argparse.ArgumentParser:
    """The options every script shares: --docs, --questions, --rounds, --out, --json."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--docs", type=int, default=928, help="BBC documents to use (default: all 928).")
    p.add_argument(
        "--questions", type=int, default=questions, help=f"Questions per corpus (default {questions})."
    )
    p.add_argument("--rounds", type=int, default=3, help="Timed passes over the questions (default 3).")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown page to update.")
    p.add_argument("--json", type=Path, default=None, help="Also write the raw figures as JSON here.")
    p.add_argument("--csv", type=Path, default=BBC_CSV, help="The BBC news CSV (category,text).")
    return p


# --- corpora -------------------------------------------------------------------------------------------


def load_bbc(n: int, path: Path = BBC_CSV) -> list[dict[str, str]]:
    """The first ``n`` rows of the BBC news CSV (columns category, text)."""
    if not path.exists():
        raise SystemExit(f"The BBC corpus is missing: {path} (set BENCH_BBC_CSV or pass --csv).")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[: max(0, n)]


def bbc_name(i: int, row: dict[str, str]) -> str:
    """The seed file name of row ``i``."""
    category = re.sub(r"[^a-z0-9]+", "-", row.get("category", "news").lower()).strip("-") or "news"
    return f"bbc-{i:04d}-{category}.txt"


def write_bbc_seeds(seeds: Path, rows: Sequence[dict[str, str]]) -> list[Path]:
    """One .txt seed per row in ``seeds`` (rewritten only when different; stale files removed)."""
    seeds.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for i, row in enumerate(rows):
        wanted[bbc_name(i, row)] = row["text"].strip() + "\n"
    for old in seeds.glob("*.txt"):
        if old.name not in wanted:
            old.unlink()
    paths = []
    for name, text in wanted.items():
        path = seeds / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def article_workspace() -> Path:
    """A temporary folder with ``seeds/`` holding only the project's article."""
    base = Path(tempfile.mkdtemp(prefix="bench-article-"))
    (base / "seeds").mkdir()
    shutil.copy(ARTICLE, base / "seeds" / ARTICLE.name)
    return base


def bbc_workspace(n: int, path: Path = BBC_CSV, *, fresh: bool = False) -> Path:
    """The shared cache folder for ``n`` BBC docs (``seeds/`` written, ``index/`` possibly reused)."""
    base = CACHE / f"bbc-{n}"
    if fresh and (base / "index").exists():
        shutil.rmtree(base / "index")
    write_bbc_seeds(base / "seeds", load_bbc(n, path))
    return base


def corpus_questions(rows: Sequence[dict[str, str]], n: int, seed: int = 0) -> list[str]:
    """``n`` questions: the generic ones, then one per sampled sentence built from its key phrase."""
    out = list(GENERIC_QUESTIONS[: min(n, max(1, n // 6))])
    rng = random.Random(seed)
    sentences = [
        s.strip()
        for row in rows
        for s in re.split(r"(?<=[.!?])\s+", row["text"])
        if 8 <= len(s.split()) <= 40
    ]
    rng.shuffle(sentences)
    for sentence in sentences:
        if len(out) >= n:
            break
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", sentence) if w.lower() not in _STOP]
        if len(words) < 4:
            continue
        start = rng.randrange(0, max(1, len(words) - 4))
        phrase = " ".join(words[start : start + 4])
        out.append(f"What about {phrase}?")
    extra = [q for q in GENERIC_QUESTIONS if q not in out]
    return (out + extra * n)[:n]


# --- timing --------------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def p50(values: Sequence[float]) -> float:
    """Median (NaN for no values)."""
    result = percentile(values, 50)
    return float("nan") if result is None else result


def p95(values: Sequence[float]) -> float:
    """95th percentile, linear between closest ranks (NaN for no values)."""
    result = percentile(values, 95)
    return float("nan") if result is None else result


def ms(seconds: float) -> str:
    """Seconds shown as milliseconds."""
    return f"{seconds * 1000:.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def ratio(x: float) -> str:
    return f"{x:.2f}x"


# --- memory --------------------------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident memory now (MiB)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def max_rss_mb() -> float:
    """This process's peak resident memory so far (MiB), from getrusage."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Samples resident memory on a background thread: peak, and the trace over time."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - start, rss_mb()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((self.samples[-1][0] if self.samples else 0.0, rss_mb()))

    @property
    def peak(self) -> float:
        return max((mb for _, mb in self.samples), default=float("nan"))

    def peak_between(self, lo: float, hi: float) -> float:
        """Peak RSS in the fraction [lo, hi) of the sampled time."""
        if not self.samples:
            return float("nan")
        end = self.samples[-1][0] or 1.0
        picked = [mb for t, mb in self.samples if lo * end <= t <= hi * end]
        return max(picked, default=float("nan"))


# --- the machine ---------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    for name in ("torch", "sentence_transformers", "chromadb", "langchain_core"):
        try:
            module = __import__(name)
            info[name] = getattr(module, "__version__", "?")
        except ImportError:
            info[name] = "not installed"
    try:
        import torch

        info["torch threads"] = str(torch.get_num_threads())
    except ImportError:
        pass
    return info


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- tables and the page -------------------------------------------------------------------------------


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    rows = [[str(c) for c in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The same table aligned for a terminal."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


@dataclass(frozen=True)
class Target:
    """One goal from issue #5: what was measured against what was wanted."""

    name: str
    measured: str
    target: str
    met: bool
    absolute: str = ""


class Section:
    """One script's part of the page: a heading, a note on how it was measured, tables, targets."""

    def __init__(self, key: str, title: str) -> None:
        self.key = key
        self.title = title
        self.parts: list[str] = []
        self.targets: list[Target] = []
        self.figures: dict[str, Any] = {}

    def text(self, paragraph: str) -> None:
        self.parts.append(paragraph.strip())
        print("\n" + paragraph.strip())

    def table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.parts.append(f"**{title}**\n\n{md_table(headers, rows)}")
        print(f"\n== {title}\n{text_table(headers, rows)}", flush=True)

    def target(self, target: Target) -> None:
        self.targets.append(target)

    def markdown(self) -> str:
        header = f"## {self.title}\n\n_Measured {now()}; load average (1/5/15 min) {load_average()}._"
        body = [header, *self.parts]
        if self.targets:
            body.append(
                "**Targets**\n\n"
                + md_table(
                    ["Target", "Measured", "Wanted", "Met", "Absolute"],
                    [
                        (t.name, t.measured, t.target, "yes" if t.met else "**no**", t.absolute)
                        for t in self.targets
                    ],
                )
            )
        body.append(f"<!-- bench:targets {json.dumps([asdict(t) for t in self.targets])} -->")
        return "\n\n".join(body)

    def finish(self, out: Path | None, json_path: Path | None = None) -> None:
        """Print the targets, update ``out``'s section and write the JSON figures."""
        if self.targets:
            print(
                f"\n== Targets ({self.title})\n"
                + text_table(
                    ["target", "measured", "wanted", "met", "absolute"],
                    [
                        (t.name, t.measured, t.target, "yes" if t.met else "NO", t.absolute)
                        for t in self.targets
                    ],
                ),
                flush=True,
            )
        if out is not None:
            update_page(out, self.key, self.markdown())
            print(f"\nWrote section '{self.key}' of {out}")
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            data = {"key": self.key, "figures": self.figures, "targets": [asdict(t) for t in self.targets]}
            json_path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


#: The sections of the page, in order.
SECTIONS = ("summary", "latency", "build", "recipe")

_INTRO = """# Benchmarks

Speed and cost of the assistant measured against the embedding model's own floor (encoding with the
same model in the same process) and against the usual LangChain tutorial recipe (issue #5).
Generated by the scripts in `bench/`; do not edit by hand. Regenerate everything with

    .venv/bin/python bench/run_all.py            # all 928 BBC docs; a few minutes on 2 cores

or one part with `bench/latency.py`, `bench/build.py`, `bench/recipe.py` (each takes `--docs N`
and `--out PATH`). Ratios are measured within one run, with the absolute times beside them;
the machine may be shared with other work, so read the absolute times with the load average.
"""


def _marker(key: str) -> tuple[str, str]:
    return f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"


def update_page(out: Path, key: str, markdown: str) -> None:
    """Replace section ``key`` of the page (creating the page if needed) and refresh machine + summary."""
    out.parent.mkdir(parents=True, exist_ok=True)
    page = out.read_text(encoding="utf-8") if out.exists() else ""
    sections: dict[str, str] = {}
    for name in SECTIONS:
        start, end = _marker(name)
        match = re.search(re.escape(start) + r"\n(.*?)\n" + re.escape(end), page, re.S)
        if match:
            sections[name] = match.group(1)
    sections[key] = markdown
    sections["summary"] = _summary(sections)
    lines = [_INTRO, "## Machine\n\n" + md_table(["", ""], machine().items())]
    for name in SECTIONS:
        if name in sections:
            start, end = _marker(name)
            lines.append(f"{start}\n{sections[name]}\n{end}")
    out.write_text("\n\n".join(lines) + "\n", encoding="utf-8")


def _summary(sections: dict[str, str]) -> str:
    rows = []
    for name in SECTIONS[1:]:
        text = sections.get(name, "")
        match = re.search(r"<!-- bench:targets (.*?) -->", text)
        if not match:
            continue
        for t in json.loads(match.group(1)):
            rows.append(
                (t["name"], t["measured"], t["target"], "yes" if t["met"] else "**no**", t["absolute"])
            )
    if not rows:
        return "## Summary\n\n(no targets measured yet)"
    met = sum(r[3] == "yes" for r in rows)
    return f"## Summary\n\n{met} of {len(rows)} targets met.\n\n" + md_table(
        ["Target", "Measured", "Wanted", "Met", "Absolute"], rows
    )


def python_bin() -> str:
    """The virtualenv's python (the one running this, when it is the venv's)."""
    candidate = VENV_BIN / "python"
    return str(candidate) if candidate.exists() else sys.executable
