"""How the assistant grows with its corpus: 1,000, 3,000 and 10,000 documents, and 100,000 on paper.

    .venv/bin/python -m bench.scale [--sizes 1000 3000 10000] [--questions 50] [--server 10000]

For each size (corpora from bench/scale_corpus.py, kept in $BENCH_CACHE/scale-N between runs):

1. a fresh build (`assistant index` in its own process): minutes, sentences/s, the embedding
   model's precision, peak RSS, and the index's size on disk; at the smallest size also the same
   build in fp32 (ASSISTANT_PRECISION=fp32): the speed-up bf16 gives;
2. cold `assistant ask` (a fresh process) against a bare process that loads the model and encodes
   one question, interleaved, with each one's peak RSS;
3. in a fresh process (bench/scale_child.py): the first answer, warm answer() p50/p95 against the
   question's embedding over ``--questions`` SQuAD questions whose answers the corpus holds, and
   adding one document to the index;
4. at the ``--server`` sizes, 2 and 3 again against `chroma run` serving the same index, with the
   answers compared to embedded mode's.

Each size's figures are saved as they come ($BENCH_CACHE/scale-results.json): a stopped run goes on
where it stopped (``--again`` measures anew). The table and targets go to docs/benchmarks.md, the
plot to docs/scale.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import common, scale_corpus
from bench.build import folder_bytes
from bench.latency import _BARE
from bench.report import Section

RESULTS = common.CACHE / "scale-results.json"
PLOT = common.ROOT / "docs" / "scale.png"
ENV = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


def measured(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``cmd``: its wall seconds, its own peak RSS (MiB, from wait4) and its stdout."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env or ENV, cwd=common.ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise RuntimeError(f"{cmd[0]} {cmd[1]} failed ({proc.returncode}):\n{err.read()[-3000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read()


def assistant_bin() -> str:
    path = common.VENV_BIN / "assistant"
    return str(path) if path.exists() else "assistant"


def build(seeds: Path, index: Path, precision: str = "auto") -> dict[str, Any]:
    """A fresh build in its own process."""
    shutil.rmtree(index, ignore_errors=True)
    env = ENV | {"ASSISTANT_PRECISION": precision}
    seconds, rss, out = measured(
        [assistant_bin(), "index", "--seeds", str(seeds), "--index", str(index)], env
    )
    found = re.search(r"Embedded (\d+) sentences, (\d+)/s \((\w+) ", out)
    passages = re.search(r"; (\d+) passages", out)
    if not found or not passages:
        raise RuntimeError(f"Unexpected `assistant index` output:\n{out}")
    return {
        "build_s": seconds,
        "sentences": int(found.group(1)),
        "passages": int(passages.group(1)),
        "sentences_per_s": int(found.group(1)) / seconds,
        "precision": found.group(3),
        "build_rss_mb": rss,
        "index_mb": folder_bytes(index) / 2**20,
        "lexical_mb": folder_bytes(index / "lexical") / 2**20,
    }


def cold(seeds: Path, index: Path, question: str, runs: int, env: dict[str, str] | None = None) -> dict:
    """Interleaved fresh `assistant ask` and bare load-and-encode processes: medians and peak RSS."""
    from assistant.indexing.embedding import resolve_model
    from assistant.settings import PACKAGED_MODEL

    ours = [assistant_bin(), "ask", question, "--seeds", str(seeds), "--index", str(index)]
    bare = [common.python_bin(), "-c", _BARE, resolve_model(PACKAGED_MODEL), question]
    measured(bare, env)  # untimed: the page cache holds torch, the weights and the index
    measured(ours, env)
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    rss: dict[str, list[float]] = {"ours": [], "bare": []}
    for i in range(runs):
        pair = [("ours", ours), ("bare", bare)]
        for name, cmd in pair if i % 2 == 0 else pair[::-1]:
            seconds, peak, _ = measured(cmd, env)
            times[name].append(seconds)
            rss[name].append(peak)
    return {
        "cold_s": common.p50(times["ours"]),
        "bare_s": common.p50(times["bare"]),
        "cold_ratio": common.p50(times["ours"]) / common.p50(times["bare"]),
        "cold_rss_mb": max(rss["ours"]),
        "bare_rss_mb": max(rss["bare"]),
    }


def warm(
    seeds: Path, index: Path, questions: Path, *, add: bool, host: str | None = None, port: int = 0
) -> dict:
    cmd = [common.python_bin(), "-m", "bench.scale_child", str(questions), "--seeds", str(seeds)]
    cmd += (
        ["--index", str(index)]
        + (["--add"] if add else [])
        + (["--host", host, "--port", str(port)] if host else [])
    )
    _, _, out = measured(cmd)
    return json.loads(out.strip().splitlines()[-1])


class ChromaServer:
    """`chroma run` on 127.0.0.1 serving ``path`` (the embedded index folder) until closed."""

    def __init__(self, path: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        chroma = common.VENV_BIN / "chroma"
        self.proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=ENV,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.5)
        self.close()
        raise RuntimeError("chroma run did not start within 120 s")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def measure_size(n: int, args: Any) -> dict[str, Any]:
    """Every figure at ``n`` documents (the build first; the index is kept for the other steps)."""
    base = common.CACHE / f"scale-{n}"
    seeds, index = base / "seeds", base / "index"
    docs = scale_corpus.documents(n)
    scale_corpus.write(seeds, docs)
    questions = base / "questions.json"
    # The same questions at every size: drawn from the smallest corpus, which every larger one holds.
    asked = scale_corpus.questions(scale_corpus.documents(min(args.sizes)), args.questions)
    questions.write_text(json.dumps(asked))
    print(f"\n== {n:,} documents: building ({seeds})", flush=True)
    figures: dict[str, Any] = {"docs": n} | build(seeds, index)
    if n == min(args.sizes):
        print("   the same build in fp32", flush=True)
        fp32 = build(seeds, base / "index-fp32", "fp32")
        shutil.rmtree(base / "index-fp32", ignore_errors=True)
        figures["fp32_sentences_per_s"] = fp32["sentences_per_s"]
    print(f"   built in {figures['build_s'] / 60:.1f} min; cold asks", flush=True)
    figures |= cold(seeds, index, asked[0]["question"], args.cold_runs)
    print("   warm answers and adding a document", flush=True)
    figures |= warm(seeds, index, questions, add=True)
    if n in args.server:
        print("   the same against a Chroma server", flush=True)
        server = ChromaServer(index)
        try:
            env = ENV | {"ASSISTANT_CHROMA_HOST": "127.0.0.1", "ASSISTANT_CHROMA_PORT": str(server.port)}
            c = cold(seeds, index, asked[0]["question"], args.cold_runs, env)
            w = warm(seeds, index, questions, add=False, host="127.0.0.1", port=server.port)
        finally:
            server.close()
        figures["server"] = {k: v for k, v in (c | w).items() if k != "answers"}
        figures["server"]["same_answers"] = sum(
            a == b for a, b in zip(w["answers"], figures["answers"], strict=True)
        )
    return figures


def main(argv: Sequence[str] | None = None) -> Section:
    p = common.parser(__doc__.splitlines()[0], questions=50)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    p.add_argument("--server", type=int, nargs="*", default=[10000], help="Sizes also measured on a server.")
    # 3 runs gave 1.42x, 1.11x and 1.33x at 1,000, 3,000 and 10,000 in one run; 7 gave 1.19x and 1.17x.
    p.add_argument("--cold-runs", type=int, default=7, help="Cold and bare runs per size (median).")
    p.add_argument("--again", action="store_true", help="Measure sizes already in the saved results anew.")
    args = p.parse_args(argv)
    from bench import scale_report

    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for n in sorted(args.sizes):
        if str(n) in results and not args.again:
            print(f"{n:,} documents: measured already ({RESULTS}; --again to redo)")
            continue
        results[str(n)] = measure_size(n, args)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1))
    rows = [results[str(n)] for n in sorted(args.sizes) if str(n) in results]
    section = scale_report.section(rows)
    scale_report.plot(rows, PLOT)
    section.finish(args.out, args.json)
    return section


if __name__ == "__main__":
    main()
