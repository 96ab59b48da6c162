"""Builds in a child process with a watchdog: what a long-running app (the web chat) runs.

A build inside a server process has two costs the server cannot pay back: Chroma keeps native
memory for every collection a process creates, even after it is deleted (about 5 MB a rebuild,
issue #34), and a build stuck in C code (a full disk, a hung write) cannot be stopped from a
thread. So the web app builds in a child: the memory goes with the child, and a child that runs
past ``Settings.build_seconds`` is killed. The old index stays served either way: a build
publishes atomically (store.py), and what a killed one wrote is cleared by the next.

The child reports on its stdout in lines starting with ``MARK``: progress ``[done, total]``, then
the IndexReport or the error. Parse results the parent already holds (an upload it checked) are
handed over, so an upload is parsed once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.environment import OFFLINE_ENV
from assistant.errors import AssistantError, BuildFailedError, BuildTimeoutError
from assistant.results import IndexReport
from assistant.settings import Settings

log = logging.getLogger(__name__)

MARK = "\x1ebuild "


def build_in_child(
    settings: Settings,
    *,
    progress: bool | Callable[[int, int], None] | None = None,
    wait: bool = False,
) -> IndexReport:
    """``build_index(settings)`` in a child process, stopped after ``settings.build_seconds``.

    ``progress`` is as for build_index (True: a tqdm bar here, which Gradio can track). Raises the
    child's error as BuildFailedError (same message), or BuildTimeoutError.
    """
    from assistant.ingest.worker import remembered

    with tempfile.NamedTemporaryFile("wb", suffix=".pickle", delete=False) as handed:
        pickle.dump(remembered(), handed)
    request = {"settings": settings.model_dump(mode="json"), "wait": wait, "parsed": handed.name}
    env = os.environ | OFFLINE_ENV
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.indexing.child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its parse worker goes with it when it is killed
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(request).encode())
        proc.stdin.close()
        return _follow(proc, settings.build_seconds, _progress(progress))
    finally:
        _stop(proc)
        with contextlib.suppress(OSError):
            os.unlink(handed.name)


def _progress(progress: bool | Callable[[int, int], None] | None) -> Callable[[int, int], None]:
    if callable(progress):
        return progress
    if not progress:
        return lambda done, total: None
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def show(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc="Embedding sentences", unit="sent")
        bar["bar"].update(done - bar["bar"].n)
        if done >= total:
            bar.pop("bar").close()

    return show


def _follow(
    proc: subprocess.Popen[bytes], seconds: float, progress: Callable[[int, int], None]
) -> IndexReport:
    """Read the child's messages until its report or error, or until ``seconds`` have passed."""
    assert proc.stdout is not None
    deadline = time.monotonic() + seconds
    poller = select.poll()
    poller.register(proc.stdout, select.POLLIN)
    buffer = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BuildTimeoutError(seconds)
        # poll, not select: a server holding over 1,024 descriptors gets a pipe select() cannot watch
        if not poller.poll(min(left, 1.0) * 1000):
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            proc.wait()
            raise BuildFailedError(
                f"The index build stopped unexpectedly (exit status {proc.returncode}); the previous index "
                "is still served. The server log has the details."
            )
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            text = line.decode("utf-8", "replace")
            if not text.startswith(MARK):
                continue
            kind, _, body = text[len(MARK) :].partition(" ")
            data = json.loads(body)
            if kind == "progress":
                progress(*data)
            elif kind == "report":
                return IndexReport(**(data | {"skipped": tuple(data["skipped"])}))
            elif kind == "error":
                raise BuildFailedError(data["message"], data["public"])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(30)


def _send(kind: str, data: Any) -> None:
    sys.stdout.write(f"{MARK}{kind} {json.dumps(data)}\n")
    sys.stdout.flush()


def main() -> None:
    """The child: build, report, exit."""
    request = json.loads(sys.stdin.read())
    from assistant.indexing.build import build_index
    from assistant.ingest.worker import remember

    with contextlib.suppress(OSError, EOFError, pickle.UnpicklingError):
        remember(pickle.loads(Path(request["parsed"]).read_bytes()))
    settings = Settings(**request["settings"])
    try:
        report = build_index(
            settings, progress=lambda done, total: _send("progress", [done, total]), wait=request["wait"]
        )
    except AssistantError as exc:
        _send("error", {"message": str(exc), "public": exc.public})
        return
    _send("report", asdict(report))


if __name__ == "__main__":
    main()
