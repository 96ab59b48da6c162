"""Watch the seeds folder and rebuild the index when its files change (`assistant index --watch`).

A plain polling loop (no extra dependency, works on every file system, network mounts included):
every ``poll`` seconds it takes a snapshot of the folder, (path, size, mtime_ns) per file, and once
the snapshot has stopped changing for ``debounce`` seconds it calls ``rebuild`` once. Saving ten
files in a row therefore gives one rebuild, not ten, and a file is not read while still being written.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import click

from assistant.errors import AssistantError
from assistant.settings import Settings

Snapshot = frozenset[tuple[str, int, int]]


def snapshot(seeds_dir: Path) -> Snapshot:
    """(path, size, mtime_ns) of every file under ``seeds_dir``, hidden ones (editor swap files) left out."""
    entries = set()
    for root, dirs, files in os.walk(seeds_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:  # vanished between listing and stat: it is simply not there
                continue
            entries.add((path, st.st_size, st.st_mtime_ns))
    return frozenset(entries)


def watch_seeds(
    settings: Settings,
    rebuild: Callable[[], None],
    *,
    debounce: float = 1.0,
    poll: float = 0.5,
    stop: threading.Event | None = None,
) -> None:
    """Call ``rebuild`` whenever the seeds folder changed and then stayed still for ``debounce`` seconds.

    Runs until ``stop`` is set or Ctrl-C. An AssistantError from ``rebuild`` (say, every seed is
    bad, or another build holds the lock) is printed and watching goes on; anything else propagates.
    """
    stop = stop or threading.Event()
    seen = snapshot(settings.seeds_dir)  # the state the caller has just indexed
    last = seen
    changed_at: float | None = None
    try:
        while not stop.wait(poll):
            now = snapshot(settings.seeds_dir)
            if now != last:  # still changing: wait until it settles
                last, changed_at = now, time.monotonic()
            elif now == seen:  # back to what was indexed (or nothing happened)
                changed_at = None
            elif changed_at is not None and time.monotonic() - changed_at >= debounce:
                seen, changed_at = now, None
                try:
                    rebuild()
                except AssistantError as exc:
                    click.secho(f"Error: {exc}", fg="red", err=True)
    except KeyboardInterrupt:
        click.echo("Stopped watching.", err=True)
