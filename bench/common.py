"""Shared helpers for the benchmarks: corpora in temporary seed folders, question lists, timing,
percentiles and memory. How the figures are written up (tables, targets, the page) is bench/report.py.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.environment import offline
from assistant.eval.evaluate import percentile

ROOT = Path(__file__).resolve().parents[1]
offline()  # before anything imports transformers or chromadb

#: The page the benchmarks write (bench/report.py).
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
ARTICLE = ROOT / "seeds" / "us-missile-sales-two-koreas.txt"
BBC_CSV = Path(os.environ.get("BENCH_BBC_CSV", ROOT.parent / "shared" / "eval" / "bbc-news-928.csv"))
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


def python_bin() -> str:
    """The virtualenv's python (the one running this, when it is the venv's)."""
    candidate = VENV_BIN / "python"
    return str(candidate) if candidate.exists() else sys.executable
