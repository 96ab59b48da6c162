"""How the web app's memory moves across upload-rebuilds (issue #34: within 50 MB over 20).

    .venv/bin/python -m bench.rebuild_memory [--rebuilds 20]

One document at first; then, as a user uploading one story at a time, each round writes one more
seed and rebuilds through the web backend (a build in a child process, as the app does), asks a
question, and reads the app's RSS. Prints the RSS after each rebuild and the growth after the first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    """This process's resident memory now (MiB)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def main(argv: list[str] | None = None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rebuilds", type=int, default=20)
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))  # the lifecycle tests' generated stories
    from test_lifecycle import THINGS, TOWNS, story, write_docs

    from assistant import Settings
    from assistant.web.api import make_backend

    asked = f"How many new {THINGS[0]} did the {TOWNS[0]} council approve?"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(seeds_dir=Path(tmp) / "seeds", index_dir=Path(tmp) / "index")
        write_docs(settings.seeds_dir, {"s0.txt": story(0)})
        backend = make_backend(settings)
        backend.build(False, False)
        sizes = []
        for i in range(1, args.rebuilds + 1):
            write_docs(settings.seeds_dir, {f"s{i}.txt": story(i)})
            backend.build(False, False)
            backend.answer(asked)
            sizes.append(rss_mb())
            print(f"rebuild {i:3d}: {sizes[-1]:.0f} MiB", flush=True)
    growth = sizes[-1] - sizes[0]
    print(f"growth after the first rebuild, over {len(sizes) - 1} more: {growth:.1f} MiB")
    return growth


if __name__ == "__main__":
    main()
