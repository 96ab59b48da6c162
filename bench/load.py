"""Load check for the web chat: N concurrent gradio_client sessions, each asking a short conversation.

    .venv/bin/python -m bench.load                       # starts the app on a free 127.0.0.1 port
    .venv/bin/python -m bench.load --url http://127.0.0.1:7860/ --sessions 8
    .venv/bin/python -m bench.load --mcp --sessions 16 --repeat 8   # half the sessions over MCP

Without --url it serves a throwaway copy of the seeds (default: the project's seeds/) with its own
index, in a subprocess started the way `python app.py` does (assistant.web.app.launch). Each session is
one gradio_client.Client (its own chat history) asking the questions below in order through the
chat endpoint /chat, so follow-ups use the history. With --mcp the app also serves MCP and every
other session is an MCP client (the official `mcp` package over streamable HTTP) calling the `ask`
tool with the conversation so far; an MCP call that fails, or returns an error or empty text, is an
error. --repeat asks the conversation that many times per session. It reports errors (exceptions, timeouts and
error messages in the chat), whether every answer carries a citation, and latency percentiles.
Exit status 1 when there was an error or an uncited answer. Everything is bounded: at most
--sessions x --rounds requests, each with --timeout, and the whole run within --deadline.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: A conversation about the project's seed article; the second question is a follow-up.
QUESTIONS = (
    "How many missiles were approved?",
    "How much are they worth?",
    "Which news agency reported the sale?",
    "Who is the new US ambassador to South Korea?",
    "What did South Korea choose instead of THAAD?",
)
_CITED = re.compile(r'<div class="nw-sources" data-citations="[1-9]')
_MARKER = re.compile(r"\\\[\d+\\\]|\[\d+\]")


@dataclass(frozen=True)
class Outcome:
    """One question's fate."""

    seconds: float
    kind: str  # "cited", "abstained", "uncited" or "error"
    detail: str = ""


def ask_conversation(url: str, questions: tuple[str, ...], timeout: float) -> list[Outcome]:
    """One session: a fresh client asking ``questions`` in order."""
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # the session never started: every question counts as an error
        return [Outcome(0.0, "error", f"connect: {exc}")] * len(questions)
    outcomes = []
    for question in questions:
        started = time.perf_counter()
        try:
            reply = client.submit(question, api_name="/chat").result(timeout=timeout)
        except Exception as exc:
            outcomes.append(Outcome(time.perf_counter() - started, "error", f"{type(exc).__name__}: {exc}"))
            continue
        outcomes.append(Outcome(time.perf_counter() - started, classify(str(reply)), question))
    return outcomes


def ask_over_mcp(url: str, questions: tuple[str, ...], timeout: float) -> list[Outcome]:
    """One MCP session: the ``ask`` tool called for each question, with the conversation so far."""
    import ast
    import asyncio

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def converse() -> list[Outcome]:
        outcomes, history = [], []
        async with (
            streamable_http_client(url + "gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for question in questions:
                started = time.perf_counter()
                try:
                    result = await asyncio.wait_for(
                        session.call_tool("ask", {"question": question, "history": history}), timeout
                    )
                except Exception as exc:
                    outcomes.append(Outcome(time.perf_counter() - started, "error", f"{type(exc).__name__}"))
                    continue
                seconds = time.perf_counter() - started
                text = "".join(getattr(c, "text", "") for c in result.content)
                if result.isError or not text.strip():
                    outcomes.append(Outcome(seconds, "error", f"MCP error: {text[:120]!r}"))
                    continue
                data = ast.literal_eval(text)  # Gradio sends a tool's return value as a Python literal
                kind = (
                    "abstained" if data.get("abstained") else "cited" if data.get("citations") else "uncited"
                )
                outcomes.append(Outcome(seconds, kind, question))
                history += [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": data["text"]},
                ]
        return outcomes

    try:
        return asyncio.run(converse())
    except Exception as exc:  # the session never started or broke down: its questions are errors
        return [Outcome(0.0, "error", f"MCP session: {type(exc).__name__}: {exc}")] * len(questions)


def run_sessions(
    url: str, questions: tuple[str, ...], timeout: float, sessions: int, mcp_from: int = -1
) -> list[Outcome]:
    """``sessions`` concurrent conversations in threads of this process (one worker process's share);
    with ``mcp_from`` >= 0, every other session from that one on speaks MCP."""

    def kind(n: int) -> object:
        return ask_over_mcp if mcp_from >= 0 and (n + mcp_from) % 2 else ask_conversation

    with ThreadPoolExecutor(max_workers=sessions) as pool:
        futures = [pool.submit(kind(n), url, questions, timeout) for n in range(sessions)]  # type: ignore[arg-type]
        return [o for f in futures for o in f.result()]


def classify(reply: str) -> str:
    """What the chat returned: an error message, an abstention, or an answer with or without citations."""
    if 'class="nw-error"' in reply:
        return "error"
    if 'class="nw-abstain"' in reply:
        return "abstained"
    return "cited" if _CITED.search(reply) and _MARKER.search(reply) else "uncited"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def start_app(
    seeds: Path, workdir: Path, ready_timeout: float, mcp: bool = False
) -> tuple[subprocess.Popen, str]:
    """Serve a copy of ``seeds`` with a fresh index on a free port; return the process and its URL."""
    shutil.copytree(seeds, workdir / "seeds", ignore=shutil.ignore_patterns(".*"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "ASSISTANT_SEEDS_DIR": str(workdir / "seeds"),
        "ASSISTANT_INDEX_DIR": str(workdir / "index"),
        "ASSISTANT_HOST": "127.0.0.1",
        "ASSISTANT_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ASSISTANT_MCP": "1" if mcp else "0",
    }
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", "from assistant.web.app import launch; launch()"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The app exited early:\n{(workdir / 'server.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "config", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"The app did not answer on {url} within {ready_timeout:.0f} s")


def _import_client() -> None:
    import gradio_client  # noqa: F401 - imported ahead so the timed run does not pay for it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running app (default: start one on a free 127.0.0.1 port)")
    parser.add_argument("--seeds", type=Path, default=ROOT / "seeds", help="seeds to serve (without --url)")
    parser.add_argument("--sessions", type=int, default=32, help="concurrent chat sessions (max 256)")
    parser.add_argument("--rounds", type=int, default=len(QUESTIONS), help="questions per session")
    parser.add_argument("--workers", type=int, default=4, help="client processes sharing the sessions")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per answer")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds allowed for the whole run")
    parser.add_argument("--mcp", action="store_true", help="serve MCP too; every other session speaks MCP")
    parser.add_argument("--repeat", type=int, default=1, help="times each session asks its conversation")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sessions = max(1, min(args.sessions, 256))
    questions = QUESTIONS[: max(1, min(args.rounds, len(QUESTIONS)))] * max(1, min(args.repeat, 100))

    process, workdir = None, None
    url = args.url
    try:
        if not url:
            workdir = Path(tempfile.mkdtemp(prefix="assistant-load-"))
            started = time.perf_counter()
            process, url = start_app(
                args.seeds, workdir, ready_timeout=min(args.deadline, 300.0), mcp=args.mcp
            )
            print(f"App ready at {url} in {time.perf_counter() - started:.1f} s (index built, model loaded)")
        # Client sessions are spread over a few processes so the clients' own Python (one GIL per
        # process) does not become the bottleneck being measured.
        workers = max(1, min(args.workers, sessions))
        shares = [sessions // workers + (i < sessions % workers) for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            warm = [pool.submit(_import_client) for _ in range(workers)]
            wait(warm, timeout=120)
            started = time.perf_counter()
            # Each worker's MCP sessions alternate with its chat ones, starting where the last left off.
            starts = [sum(shares[:i]) if args.mcp else -1 for i in range(workers)]
            futures = [
                pool.submit(run_sessions, url, questions, args.timeout, n, start)
                for n, start in zip(shares, starts, strict=True)
            ]
            done, late = wait(futures, timeout=args.deadline)
            wall = time.perf_counter() - started
            for future in late:
                future.cancel()
            late_sessions = sum(n for f, n in zip(futures, shares, strict=True) if f in late)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    outcomes = [o for f in done for o in f.result()]
    outcomes += [Outcome(args.deadline, "error", "deadline")] * (late_sessions * len(questions))
    kinds = {k: sum(o.kind == k for o in outcomes) for k in ("cited", "abstained", "uncited", "error")}
    times = [o.seconds for o in outcomes if o.kind != "error"] or [float("nan")]
    answered = len(outcomes) - kinds["error"]
    every_cited = kinds["cited"] == len(outcomes)
    verdict = "every answer cited" if every_cited else "NOT every answer cited"
    rows = [
        ("sessions x questions", f"{sessions} x {len(questions)} = {len(outcomes)}"),
        ("errors", str(kinds["error"])),
        ("cited answers", f"{kinds['cited']}/{len(outcomes)} ({verdict})"),
        ("abstained / uncited", f"{kinds['abstained']} / {kinds['uncited']}"),
        ("latency p50", f"{percentile(times, 50):.2f} s"),
        ("latency p95", f"{percentile(times, 95):.2f} s"),
        ("latency max", f"{max(times):.2f} s"),
        ("wall time", f"{wall:.1f} s ({answered / wall:.1f} answers/s)"),
    ]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    for o in [o for o in outcomes if o.kind in ("error", "uncited")][:5]:
        print(f"  {o.kind}: {o.detail[:200]}")
    return 0 if kinds["error"] == 0 and every_cited else 1


if __name__ == "__main__":
    sys.exit(main())
