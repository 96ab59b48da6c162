"""How the benchmarks write up what they measured: tables, targets, and the page.

Every script in ``bench/`` prints its tables and rewrites its own section of ``docs/benchmarks.md``
(between ``<!-- bench:NAME -->`` markers), so each can be run alone and the page stays whole.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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

    .venv/bin/python -m bench.run_all            # all 928 BBC docs; a few minutes on 2 cores

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
