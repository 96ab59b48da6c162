# ruff: noqa: F811 (tests take the imported fixtures as arguments)
"""Bad seed files (#6): each is skipped by name with a reason, the rest is indexed, nothing is lost.

The bad files are real: NUL bytes, Latin-1 bytes, empty files, a 50 MB file, a FIFO, a symlink
loop, a file deleted while the build runs, and a chmod 000 file read by an unprivileged process.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import threading
from pathlib import Path

import pytest
from test_lifecycle import PY, ROOT, THINGS, TOWNS, env_for, mode, server, settings_for, story, write_docs  # noqa: F401 (the fixtures, shared)

from assistant import Settings, answer, build_index
from assistant.errors import NoSeedsError
from assistant.indexing.build import indexed_documents

GOOD = {f"s{i}.txt": story(i) for i in range(3)}


def question(i: int) -> str:
    return f"How many new {THINGS[i % len(THINGS)]} did the {TOWNS[i]} council approve?"


def make_bad(seeds: Path, kind: str, name: str) -> None:
    """Turn ``seeds/name`` into a bad seed of the given kind (replacing what is there)."""
    path = seeds / name
    if path.is_symlink() or path.exists():
        path.unlink()
    if kind == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    elif kind == "noise":  # no NUL byte, yet no encoding fits (a legacy-encoded text would be read)
        path.write_bytes(random.Random(0).randbytes(4096).replace(b"\0", b"\1"))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "blank":
        path.write_text(" \n\t\n  \n", encoding="utf-8")
    elif kind == "huge":  # 50 MB of ordinary text, over the default 20 MiB limit
        with path.open("w", encoding="utf-8") as f:
            line = "The council met again today and talked about the ferries at length.\n"
            for _ in range(50 * 2**20 // len(line) + 1):
                f.write(line)
    elif kind == "fifo":  # opening it for reading would wait forever for a writer
        os.mkfifo(path)
    elif kind == "loop":  # a symlink to itself: every open fails with ELOOP, even for root
        path.symlink_to(path.name)
    elif kind == "dangling":  # listed, but the file it names is gone
        path.symlink_to("deleted-long-ago.txt")
    else:
        raise ValueError(kind)


# kind -> (file name, words the reason must contain)
BAD = {
    "binary": ("photo.txt", "binary"),
    "noise": ("noise.txt", "UTF-8"),
    "empty": ("empty.txt", "empty"),
    "blank": ("blank.md", "empty"),
    "huge": ("huge.txt", "limit"),
    "fifo": ("pipe.txt", "regular file"),
    "loop": ("loop.txt", "unreadable (a symlink loop)"),
    "dangling": ("gone.txt", "broken symlink"),
}


def build_with_deadline(settings: Settings, fifos: list[Path], timeout: float = 120):
    """build_index in a thread; a build stuck on a FIFO is released and the test fails, not hangs."""
    result: dict = {}

    def run() -> None:
        try:
            result["report"] = build_index(settings)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for fifo in fifos:  # give the blocked open() a writer so the thread can end
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        thread.join(30)
        pytest.fail(f"the build hung (reading a FIFO?) for over {timeout:.0f} s")
    if "error" in result:
        raise result["error"]
    return result["report"]


def assert_skipped(report, caplog, expected: dict[str, str]) -> None:
    skipped = dict(entry.split(": ", 1) for entry in report.skipped)
    assert set(skipped) == set(expected), report.skipped
    for name, words in expected.items():
        assert words in skipped[name], (name, skipped[name])
        # Logged once at INFO (the report is what the CLI prints: a skip shows once, not twice).
        assert any(name in r.getMessage() for r in caplog.records if r.levelno == logging.INFO), name
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "Skipping" in r.getMessage()]


def test_bad_seeds_are_reported_by_name_and_the_good_ones_indexed(settings_for, caplog):
    settings = settings_for()
    seeds = settings.seeds_dir
    write_docs(seeds, GOOD | {"notes.odt": b"PK\x03\x04", "notes.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"})
    (seeds / "folder.txt").mkdir()  # a folder named like a seed is looked into, not read
    write_docs(seeds, {"folder.txt/inner.txt": story(5)})
    for kind, (name, _) in BAD.items():
        make_bad(seeds, kind, name)

    with caplog.at_level(logging.INFO):
        report = build_with_deadline(settings, [seeds / "pipe.txt"])
    expected = {name: words for name, words in BAD.values()} | {
        "notes.odt": "unsupported file type",
        "notes.pdf": "not a readable PDF",
    }
    assert_skipped(report, caplog, expected)
    assert report.added == 4 and report.removed == 0
    assert [d.source for d in indexed_documents(settings)] == [
        "folder.txt/inner.txt",
        "s0.txt",
        "s1.txt",
        "s2.txt",
    ]
    assert "24" in answer(question(2), settings=settings).text  # 10 + 7*2


def test_a_seed_that_turns_bad_keeps_its_previous_version(settings_for, caplog):
    settings = settings_for()
    seeds = settings.seeds_dir
    names = {kind: f"d{i}.txt" for i, kind in enumerate(BAD)}
    write_docs(seeds, {name: story(i) for i, name in enumerate(names.values())})
    first = build_index(settings)
    assert first.added == len(BAD)
    before = {name: answer(question(i), settings=settings) for i, name in enumerate(names.values())}
    for i, name in enumerate(names.values()):
        assert str(10 + 7 * i) in before[name].text and before[name].citations[0].source == name

    for kind, name in names.items():
        make_bad(seeds, kind, name)
    write_docs(seeds, {"new.txt": story(12)})
    with caplog.at_level(logging.INFO):
        report = build_with_deadline(settings, [seeds / names["fifo"]])
    assert_skipped(report, caplog, {names[kind]: words for kind, (_, words) in BAD.items()})
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 0, len(BAD))
    indexed = {d.source for d in indexed_documents(settings)}
    assert indexed == set(names.values()) | {"new.txt"}
    for i, name in enumerate(names.values()):  # still answered from the version indexed before
        again = answer(question(i), settings=settings)
        # The quote that answers is the one indexed before; later citations may now come from new.txt.
        first = before[name].citations[0]
        assert (again.citations[0].source, again.citations[0].quote) == (first.source, first.quote)

    # Every seed bad (or gone): a clear error, and the index is left exactly as it was.
    for path in seeds.iterdir():
        if path.name == "new.txt":
            path.write_bytes(b"\x00\x01")
    with pytest.raises(NoSeedsError, match=r"9 file\(s\) were skipped"):
        build_with_deadline(settings, [seeds / names["fifo"]])
    assert {d.source for d in indexed_documents(settings)} == indexed


def test_a_file_deleted_while_the_build_runs_is_skipped_and_keeps_its_old_version(tmp_path, caplog):
    """The file is really deleted mid-build: listed with the others, gone by the time it is read.

    The moment is made exact by watching the build's own debug log: when it starts reading
    ``b-bad.txt`` (read just before ``c-victim.txt``, seeds are read in order), the test deletes the victim.
    """
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {"a.txt": story(0), "c-victim.txt": story(1), "d.txt": story(2)})
    build_index(settings)
    make_bad(settings.seeds_dir, "binary", "b-bad.txt")
    (settings.seeds_dir / "d.txt").write_text(story(2, version=1), encoding="utf-8")

    class DeleteVictim(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == "Reading seed b-bad.txt":
                (settings.seeds_dir / "c-victim.txt").unlink()

    handler = DeleteVictim()
    logging.getLogger("assistant.ingest.seeds").addHandler(handler)
    try:
        with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="assistant.ingest.seeds"):
            report = build_index(settings)
    finally:
        logging.getLogger("assistant.ingest.seeds").removeHandler(handler)
    assert not (settings.seeds_dir / "c-victim.txt").exists()
    assert_skipped(report, caplog, {"b-bad.txt": "binary", "c-victim.txt": "vanished"})
    assert (report.updated, report.removed, report.unchanged) == (1, 0, 2)
    assert "17" in answer(question(1), settings=settings).text  # the victim's indexed version
    # Once it is really gone (not mid-build), the next build removes it.
    follow_up = build_index(settings)
    assert follow_up.removed == 1
    assert "c-victim.txt" not in {d.source for d in indexed_documents(settings)}


def test_an_unreadable_file_is_skipped_and_keeps_its_old_version(tmp_path):
    """chmod 000 for real. Root reads any file through its DAC capabilities, so as root the
    builds run without them (`setpriv --bounding-set=-dac_override,-dac_read_search`): the kernel
    then refuses the read exactly as it would for an ordinary user."""
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {"open.txt": story(0), "secret.txt": story(1)})
    no_dac = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []

    def index_unprivileged() -> subprocess.CompletedProcess:
        return subprocess.run(
            [*no_dac, PY, "-m", "assistant.cli", "index", "--quiet"],
            env=env_for(settings),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
        )

    secret = settings.seeds_dir / "secret.txt"
    try:
        first = index_unprivileged()
        assert first.returncode == 0, first.stderr
        assert "2 added" in first.stdout

        secret.chmod(0)
        probe = subprocess.run([*no_dac, "cat", str(secret)], capture_output=True, text=True)
        assert probe.returncode != 0 and "Permission denied" in probe.stderr  # really unreadable
        second = index_unprivileged()
        assert second.returncode == 0, second.stderr
        assert "Skipped secret.txt: unreadable (Permission denied)" in second.stderr
        assert "0 added, 0 updated, 0 removed, 2 unchanged" in second.stdout
        assert {d.source for d in indexed_documents(settings)} == {"open.txt", "secret.txt"}
        assert "17" in answer(question(1), settings=settings).text
    finally:
        secret.chmod(0o644)
