"""Watch the seeds folder and rebuild the index when its files change (`assistant index --watch`).

The file-system events come from ``watchfiles`` (inotify on Linux; pass ``force_polling`` for
network mounts, where events do not arrive). Changes are gathered until the folder has been
still for ``debounce`` seconds, then ``rebuild`` runs once: saving ten files in a row gives one
rebuild, and a file is not read while still being written. Only paths inside the seeds folder
count: hidden files (editor swap files, upload temporaries) and anything a symlink leads to
outside the folder are ignored, exactly as the build ignores them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import click

from assistant.errors import AssistantError
from assistant.settings import Settings


def seed_change_filter(seeds_dir: Path) -> Callable[[object, str], bool]:
    """A watchfiles filter: True for a change to a non-hidden path that stays inside ``seeds_dir``."""
    root = seeds_dir.resolve()

    def keep(_change: object, path: str) -> bool:
        where = Path(path)
        try:
            relative = where.relative_to(root)
        except ValueError:
            try:
                relative = where.relative_to(seeds_dir.absolute())
            except ValueError:
                return False  # reached through a symlink to somewhere else
        if any(part.startswith(".") for part in relative.parts):
            return False
        # A path whose links resolve outside the folder is not a seed (the build skips it too); a
        # deleted path resolves to itself, so deletions still count.
        return where.resolve().is_relative_to(root) or where.is_symlink()

    return keep


def watch_seeds(
    settings: Settings,
    rebuild: Callable[[], None],
    *,
    debounce: float = 1.0,
    stop: threading.Event | None = None,
    force_polling: bool | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Call ``rebuild`` whenever the seeds folder changed and then stayed still for ``debounce`` seconds.

    Runs until ``stop`` is set or Ctrl-C. An AssistantError from ``rebuild`` (say, every seed is
    bad, or another build holds the lock) is printed and watching goes on; anything else propagates.
    ``ready`` is called once the watcher is in place (changes from then on are seen).
    """
    from watchfiles import watch

    stop = stop or threading.Event()
    settings.seeds_dir.mkdir(parents=True, exist_ok=True)
    try:
        for _changes in watch(
            settings.seeds_dir,
            watch_filter=seed_change_filter(settings.seeds_dir),
            debounce=max(int(debounce * 1000), 60_000),  # the longest a steady stream of saves is gathered
            # watchfiles yields a burst once no new event came for `step` ms; waiting `debounce` for
            # quiet makes a burst of saves one rebuild.
            step=int(debounce * 1000),
            stop_event=stop,
            force_polling=force_polling,
            raise_interrupt=False,
            # An empty yield each half second while nothing happens: the first one says we are watching.
            yield_on_timeout=True,
            rust_timeout=500,
        ):
            if ready:
                ready()
                ready = None
            if not _changes:
                continue
            try:
                rebuild()
            except AssistantError as exc:
                click.secho(f"Error: {exc}", fg="red", err=True)
    except KeyboardInterrupt:
        pass
    if not stop.is_set():
        click.echo("Stopped watching.", err=True)
