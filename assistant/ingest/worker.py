"""Parsing off the caller's critical path: each seed is parsed in a worker process with a time limit.

A hostile or pathological file (a PDF whose text layer makes a parser crawl, a page built to trip a
regular expression) must neither stall a build for minutes nor freeze the web server: parsing in a
thread would still hold the interpreter lock inside C code and could not be stopped. So parsing
runs in one long-lived child process per parent (started on first use, reused by every build); a
file that takes longer than ``Settings.parse_seconds`` gets the worker killed and replaced, and
becomes a one-line SeedProblem. The last few results are kept by (name, digest), so an upload the
web chat checked is not parsed a second time by the build that follows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from assistant.ingest.cleaning import SeedDocument
from assistant.ingest.seeds import RawSeed, SeedProblem, parse_seed

log = logging.getLogger(__name__)

#: Parse results kept for reuse (an upload's check, then its build).
_KEEP = 16
#: From this many files on, a build parses on two worker processes (parse_all).
_PARALLEL_FROM = 16


#: How long a new worker may take to import its parsers (not counted against any file).
_START_SECONDS = 120.0


def _send(stream: Any, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream: Any) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("the parser worker closed its pipe")
    (size,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(size))


def serve() -> None:
    """The worker's loop (``python -m assistant.ingest.worker``): parse each raw seed sent on stdin,
    send the result back on stdout. It only ever unpickles what its own parent process sent."""
    import pypdf  # noqa: F401  (imported before "ready": a file's time limit is for parsing only)
    import trafilatura  # noqa: F401

    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a library that prints must not corrupt the pipe
    _send(sink, "ready")
    while True:
        try:
            raw = _receive(source)
        except EOFError:
            return
        try:
            result: Any = parse_seed(raw)
        except Exception as exc:  # a parser bug on one file must not end the worker
            result = SeedProblem(raw.source, f"could not be read ({type(exc).__name__})")
        _send(sink, result)


class ParseWorker:
    """One parsing child process, shared by the threads of this process; thread-safe.

    A plain subprocess (``python -m assistant.ingest.worker``), not multiprocessing: spawning would
    re-run the caller's main script in the child, which breaks a user's script without a
    ``if __name__ == "__main__"`` guard, and forking would copy torch's and Chroma's threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._done: OrderedDict[tuple[str, str], SeedDocument | SeedProblem] = OrderedDict()

    def _start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.ingest.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        self._process = process
        if not self._ready(_START_SECONDS) or _receive(process.stdout) != "ready":
            self._stop()
            raise OSError("the seed parser's worker process did not start")
        return process

    def _ready(self, seconds: float) -> bool:
        """True when the worker's reply has begun to arrive within ``seconds``."""
        assert self._process is not None and self._process.stdout is not None
        # poll, not select: select fails on descriptors past 1023, which a long-running app reaches.
        poller = select.poll()
        poller.register(self._process.stdout.fileno(), select.POLLIN | select.POLLHUP)
        return bool(poller.poll(seconds * 1000))

    def _stop(self) -> None:
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(5)
            for stream in (self._process.stdin, self._process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()  # type: ignore[union-attr]
        self._process = None

    def parse(self, raw: RawSeed, seconds: float) -> SeedDocument | SeedProblem:
        """``raw`` parsed in the worker, or a SeedProblem if that takes longer than ``seconds``."""
        key = (raw.source, raw.digest)
        with self._lock:
            if raw.digest and key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            try:
                process = self._process if self._process and self._process.poll() is None else self._start()
                _send(process.stdin, raw)
                result = _receive(process.stdout) if self._ready(seconds) else None
            except (OSError, EOFError, pickle.UnpicklingError):  # no worker, or it died mid-file
                log.warning("The seed parser's worker failed on %s; parsing it here instead", raw.source)
                self._stop()
                return parse_seed(raw)
            except BaseException:
                # Interrupted between request and reply (Ctrl-C, a caller's timeout): the reply would
                # answer the next request, so this worker is done.
                self._stop()
                raise
            if result is None:
                log.warning("Parsing %s took longer than %g s; stopped", raw.source, seconds)
                self._stop()
                return SeedProblem(
                    raw.source,
                    f"took longer than {seconds:g} s to read, so it was skipped (a damaged or unusual "
                    "file; save or print it again, or raise ASSISTANT_PARSE_SECONDS)",
                )
            if raw.digest:
                self._done[key] = result
                while len(self._done) > _KEEP:
                    self._done.popitem(last=False)
            return result


_WORKER = ParseWorker()


def remembered() -> list[tuple[tuple[str, str], SeedDocument | SeedProblem]]:
    """The parse results this process keeps, to hand to a child process that builds."""
    with _WORKER._lock:
        return list(_WORKER._done.items())


def remember(items: list[tuple[tuple[str, str], SeedDocument | SeedProblem]]) -> None:
    """Keep parse results another process made (a build's parent checked an upload)."""
    with _WORKER._lock:
        for key, result in items[-_KEEP:]:
            _WORKER._done[key] = result


def parse_limited(raw: RawSeed, seconds: float) -> SeedDocument | SeedProblem:
    """Parse a seed's bytes in the shared worker process, within ``seconds``."""
    return _WORKER.parse(raw, seconds)


def parse_all(raws: Sequence[RawSeed], seconds: float) -> list[SeedDocument | SeedProblem]:
    """Parse many seeds, in order, on two worker processes at once (a build's second core).

    The shared worker takes one file, a helper started for this call the next, each from one queue;
    the helper is stopped at the end. A handful of files is not worth the helper's start-up.
    """
    if len(raws) < _PARALLEL_FROM:
        return [_WORKER.parse(raw, seconds) for raw in raws]
    results: list[SeedDocument | SeedProblem | None] = [None] * len(raws)
    todo = iter(range(len(raws)))
    lock = threading.Lock()
    helper = ParseWorker()
    failed: list[BaseException] = []

    def drain(worker: ParseWorker) -> None:
        while True:
            with lock:
                i = None if failed else next(todo, None)
            if i is None:
                return
            try:
                results[i] = worker.parse(raws[i], seconds)
            except BaseException as exc:  # the other side stops too, and the caller sees it
                failed.append(exc)
                raise

    def drain_quietly(worker: ParseWorker) -> None:
        with contextlib.suppress(BaseException):  # recorded in ``failed``, raised by the caller's side
            drain(worker)

    second = threading.Thread(target=drain_quietly, args=(helper,), name="parse-helper", daemon=True)
    second.start()
    try:
        drain(_WORKER)
    finally:
        second.join()
        with helper._lock:
            helper._stop()
    if failed:
        raise failed[0]
    return [r for r in results if r is not None]


if __name__ == "__main__":
    serve()
