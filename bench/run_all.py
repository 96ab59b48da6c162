"""Run every benchmark and regenerate docs/benchmarks.md.

    .venv/bin/python -m bench.run_all [--docs 928] [--questions 30] [--out docs/benchmarks.md]

Each script runs in its own fresh process (so one's memory and caches do not colour another's):
build.py, then recipe.py (whose fresh BBC index latency.py then reuses), then latency.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import common, report

SCRIPTS = ("build", "recipe", "latency")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=928, help="BBC documents to use (default: all 928).")
    p.add_argument("--questions", type=int, default=30, help="Questions over the BBC corpus.")
    p.add_argument("--rounds", type=int, default=3, help="Timed passes over the questions.")
    p.add_argument("--cold-runs", type=int, default=3, help="Fresh processes per side for cold start.")
    p.add_argument("--out", type=Path, default=common.DEFAULT_OUT, help="Markdown page to write.")
    p.add_argument("--only", choices=SCRIPTS, action="append", help="Run only these (repeatable).")
    args = p.parse_args(argv)

    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-json-") as tmp:
        for name in args.only or SCRIPTS:
            cmd = [
                common.python_bin(),
                "-m",
                f"bench.{name}",
                "--docs",
                str(args.docs),
                "--out",
                str(args.out),
                "--json",
                str(Path(tmp) / f"{name}.json"),
            ]
            if name != "build":
                cmd += ["--questions", str(args.questions), "--rounds", str(args.rounds)]
            if name == "latency":
                cmd += ["--cold-runs", str(args.cold_runs)]
            print(f"\n##### {name}: {' '.join(cmd[1:])}", flush=True)
            t = time.perf_counter()
            done = subprocess.run(cmd, cwd=common.ROOT)
            print(
                f"##### {name} finished in {time.perf_counter() - t:.0f} s (exit {done.returncode})",
                flush=True,
            )
            if done.returncode:
                return done.returncode
            results[name] = json.loads((Path(tmp) / f"{name}.json").read_text(encoding="utf-8"))

    rows = [
        (t["name"], t["measured"], t["target"], "yes" if t["met"] else "NO", t["absolute"])
        for name in args.only or SCRIPTS
        for t in results[name]["targets"]
    ]
    print(f"\n== Summary ({time.perf_counter() - started:.0f} s in all; page: {args.out})")
    print(report.text_table(["target", "measured", "wanted", "met", "absolute"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
