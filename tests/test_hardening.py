"""Hardening (#12), core side: each numbered finding reproduced on a small real input.

1 symlinks out of seeds/, 2 disk given back, 4 index folder deleted under a running app, 5 a change
costs what it changes, 6 one-line errors (undecodable question, full disk, busy port), 7 the small
ones (UTF-16, broken links, hidden seeds, skips printed once, punctuation-only seeds). Real Chroma in
temporary folders; the full disk is a real size-limited tmpfs where this machine can mount one.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from test_lifecycle import (
    PY,
    ROOT,
    THINGS,
    TOWNS,
    assert_clean,
    cli,
    env_for,
    filler,
    free_port,
    story,
    write_docs,
)

from assistant import Assistant, Settings, answer
from assistant.errors import DiskFullError, IndexVanishedError
from assistant.indexing.build import build_index, indexed_documents
from assistant.indexing.disk import remove_orphan_folders
from assistant.indexing.generations import MAX_PAIRS
from assistant.indexing.store import POINTER_TTL, Store

SECRET = "root:x:0:0:root:/root:/bin/bash\nThe root user's shell is /bin/bash on this host.\n"


def question(i: int) -> str:
    return f"How many new {THINGS[i % len(THINGS)]} did the {TOWNS[i]} council approve?"


def skipped(report) -> dict[str, str]:
    return dict(entry.split(": ", 1) for entry in report.skipped)


def du(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


# --- 1. seeds stay inside seeds/ -------------------------------------------------------------------


def test_symlinks_that_leave_the_seeds_folder_are_skipped_by_name(tmp_path):
    outside = tmp_path / "outside"
    (outside / "more").mkdir(parents=True)
    (tmp_path / "seeds" / "real").mkdir(parents=True)
    write_docs(outside, {"passwd.txt": SECRET, "more/notes.txt": SECRET})
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {"s0.txt": story(0), "real/inner.txt": story(1)})
    seeds = settings.seeds_dir
    (seeds / "passwd.txt").symlink_to(outside / "passwd.txt")  # a file outside
    (seeds / "etc").symlink_to(outside / "more")  # a folder outside
    (seeds / "sneaky.txt").symlink_to(Path("real") / ".." / ".." / "outside" / "passwd.txt")  # via ..
    (seeds / "alias.txt").symlink_to(Path("real") / "inner.txt")  # inside: fine

    report = build_index(settings)
    why = skipped(report)
    assert set(why) == {"passwd.txt", "etc", "sneaky.txt"}, report.skipped
    for name in ("passwd.txt", "sneaky.txt"):
        assert "outside the seeds folder" in why[name] and str(outside / "passwd.txt") in why[name]
    assert "outside the seeds folder" in why["etc"]
    assert [d.source for d in indexed_documents(settings)] == ["alias.txt", "real/inner.txt", "s0.txt"]
    result = answer("What does the root user's shell look like in passwd?", settings=settings)
    assert all("root:x" not in c.quote and "/bin/bash" not in c.quote for c in result.citations)


def test_watch_ignores_changes_reached_through_a_symlink_out_of_the_folder(tmp_path):
    from assistant.indexing.watch import seed_change_filter

    seeds, outside = tmp_path / "seeds", tmp_path / "outside"
    write_docs(seeds, {"a.txt": "x"})
    write_docs(outside, {"b.txt": "y"})
    (seeds / "out").symlink_to(outside)
    keep = seed_change_filter(seeds)
    assert keep(None, str(seeds / "a.txt"))
    assert keep(None, str(seeds / "deleted.txt"))  # a deletion inside still counts
    assert not keep(None, str(seeds / "out" / "b.txt"))
    assert not keep(None, str(seeds / ".a.txt.swp"))
    assert not keep(None, str(outside / "b.txt"))


# --- 2. disk is given back -------------------------------------------------------------------------


def test_index_size_stays_near_the_live_data_across_50_rebuilds(tmp_path):
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(
        settings.seeds_dir,
        {f"s{i}.txt": story(i) for i in range(16)} | {f"f{i}.txt": filler(i) for i in range(30)},
    )
    build_index(settings)
    sizes = []
    for r in range(50):
        (settings.seeds_dir / f"s{r % 16}.txt").write_text(story(r % 16, version=r + 1), encoding="utf-8")
        if r % 7 == 0:
            write_docs(settings.seeds_dir, {f"n{r}.txt": filler(100 + r)})
        if r % 11 == 3:
            next(settings.seeds_dir.glob("n*.txt")).unlink()
        if r in (20, 21):  # a splitter change and back: whole new collections, the old ones dropped
            settings = settings.model_copy(update={"passage_chars": 300 if r == 20 else 600})
        assert build_index(settings).changed
        sizes.append(du(settings.index_dir))
        assert_clean(Store(settings))  # only what the current and previous generation read is kept

    fresh = settings.model_copy(update={"index_dir": tmp_path / "fresh"})
    build_index(fresh)
    live = du(fresh.index_dir)
    # Chroma's fixed cost of a collection pair (it preallocates each HNSW folder): an index of one
    # two-sentence note. Besides twice the live data, the index may hold that much per extra pair:
    # the previous generation's and up to MAX_PAIRS - 1 small ones of recent builds.
    one = Settings(seeds_dir=tmp_path / "one", index_dir=tmp_path / "one-index")
    write_docs(one.seeds_dir, {"n.txt": filler(0)})
    build_index(one)
    allowed = 2 * live + MAX_PAIRS * du(one.index_dir)
    assert max(sizes) <= allowed, ([round(s / live, 2) for s in sizes], live, du(one.index_dir))
    current = Store(settings).current()
    assert len(current.manifest["pairs"]) <= MAX_PAIRS
    # Documents copied into newer pairs are looked up there by answers (the lexical file's catalog).
    from assistant.indexing.lexicon_writer import open_lexicon

    catalog = open_lexicon(settings, current).catalog
    assert {s: catalog.born(s) for s in current.documents} == {
        s: d["born"] for s, d in current.documents.items()
    }
    last = story(3, version=36)  # s3.txt as the last edit left it
    assert last.startswith(f"{TOWNS[3]} council approves 3631 new {THINGS[(3 + 36) % len(THINGS)]}")
    asked = f"How many new {THINGS[(3 + 36) % len(THINGS)]} did the {TOWNS[3]} council approve?"
    assert "3631" in answer(asked, settings=settings).text


def test_a_failed_build_removes_what_it_wrote(tmp_path, monkeypatch):
    """Simulated ENOSPC at the store boundary (Chroma's add), on the third write of a build."""
    from chromadb.api.models.Collection import Collection

    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index", batch_size=2)
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(3)})
    build_index(settings)
    store = Store(settings)
    before = answer(question(1), settings=settings)

    write_docs(settings.seeds_dir, {f"f{i:03d}.txt": filler(i) for i in range(200)})
    real_add, calls = Collection.add, []

    def add(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "add", add)
    with pytest.raises(DiskFullError, match=rf"No space left on the device holding {settings.index_dir}/"):
        build_index(settings, store=store)
    monkeypatch.undo()
    assert len(calls) == 3
    assert store.pair_numbers() == {store.current(fresh=True).number}, "the failed build's collections stay"
    assert remove_orphan_folders(settings) == []
    assert [(c.source, c.quote) for c in answer(question(1), settings=settings).citations] == [
        (c.source, c.quote) for c in before.citations
    ]
    assert build_index(settings).added == 200


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MB tmpfs (a real full disk), or skip where this machine cannot mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); see the simulated ENOSPC test"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_the_old_index_keeps_answering(tmp_path, small_disk):
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=small_disk / "index")
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(3)})
    build_index(settings)
    before = answer(question(1), settings=settings)
    # Far more than 6 MB of vectors: the build must not start filling the disk.
    write_docs(settings.seeds_dir, {f"f{i:03d}.txt": filler(i) * 8 for i in range(600)})
    proc = cli(settings, "index", "--quiet")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, (out, err)
    assert err.strip() == (
        f"Error: No space left on the device holding {settings.index_dir}/: "
        "free space or set ASSISTANT_INDEX_DIR."
    )
    assert citations_of(answer(question(1), settings=settings)) == citations_of(before)


def citations_of(result) -> list[tuple[str, str]]:
    return [(c.source, c.quote) for c in result.citations]


# --- 4. the index folder deleted under a running app ----------------------------------------------


def test_a_deleted_index_folder_is_noticed_and_rebuild_recreates_it(tmp_path):
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(3)})
    store = Store(settings)  # what the running app holds
    build_index(settings, store=store)
    bot = Assistant(settings, store=store)
    assert "24" in bot.answer(question(2)).text

    shutil.rmtree(settings.index_dir)
    time.sleep(POINTER_TTL + 0.1)
    with pytest.raises(IndexVanishedError, match=r"deleted while the assistant was running.*Rebuild"):
        bot.answer(question(2))
    with pytest.raises(IndexVanishedError):
        indexed_documents(store=store)

    (settings.seeds_dir / "s1.txt").write_text(story(1, version=1), encoding="utf-8")  # a seed edit
    report = build_index(settings, store=store)  # Rebuild
    assert report.added == 3 and settings.index_dir.is_dir()
    assert [d.source for d in indexed_documents(store=store)] == ["s0.txt", "s1.txt", "s2.txt"]
    time.sleep(POINTER_TTL + 0.1)
    assert "117" in bot.answer(question(1)).text  # the reader follows
    write_docs(settings.seeds_dir, {"s3.txt": story(3)})
    assert build_index(settings, store=store).added == 1  # and later builds write fine


# --- 5. a change costs what it changes ------------------------------------------------------------


def test_adding_one_document_writes_only_its_records(tmp_path, monkeypatch):
    import assistant.indexing.build as index_module

    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {f"f{i:03d}.txt": filler(i) for i in range(120)})
    build_index(settings)
    store = Store(settings)
    first = store.current(fresh=True)
    before = first.sentences.pairs[first.number].get(include=[])["ids"]

    embedded: list[str] = []
    real_embed = index_module.embed
    monkeypatch.setattr(
        index_module, "embed", lambda m, t, b=64, p="auto": embedded.extend(t) or real_embed(m, t, b, p)
    )
    write_docs(settings.seeds_dir, {"new.txt": story(5)})
    report = build_index(settings, store=store)
    assert (report.added, report.unchanged) == (1, 120)
    now = store.current(fresh=True)
    assert now.sentences.pairs[first.number].get(include=[])["ids"] == before  # nothing rewritten or copied
    new = now.sentences.pairs[now.number].get(include=["metadatas"])["metadatas"]
    assert {m["source"] for m in new} == {"new.txt"} and len(new) == len(embedded)
    assert "45" in answer(question(5), settings=settings).text


# --- 6. one line for every failure ---------------------------------------------------------------


def test_cli_undecodable_question_and_busy_port_are_one_line(article_settings):
    env = env_for(article_settings)
    for arg in (b"How many \xff missiles?", "How many \ud800 missiles?".encode("utf-8", "surrogatepass")):
        done = subprocess.run(
            [PY, "-m", "assistant.cli", "ask", arg], env=env, cwd=ROOT, capture_output=True, timeout=180
        )
        err = done.stderr.decode()
        assert done.returncode == 1 and "Traceback" not in err, err
        assert err.count("\n") == 1 and "not UTF-8 text" in err, err

    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = subprocess.run(
            [PY, "-m", "assistant.cli", "web", "--port", str(port)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert done.returncode == 1
    assert done.stderr == f"Error: Port {port} is in use: set ASSISTANT_PORT or stop the other app.\n"


# --- 7. the smaller ones ---------------------------------------------------------------------------


def test_utf16_broken_links_hidden_seeds_and_empty_text_are_named_once(tmp_path):
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    seeds = settings.seeds_dir
    write_docs(
        seeds,
        {"s0.txt": story(0), ".draft.txt": story(1), ".editor.swp": "x", "dots.txt": "... !!! ---\n\n?!\n"},
    )
    (seeds / "utf16.txt").write_bytes(story(6).encode("utf-16"))  # with a byte-order mark: read
    (seeds / "utf16-nobom.txt").write_bytes(story(7).encode("utf-16-le"))
    (seeds / "gone.txt").symlink_to("deleted-long-ago.txt")

    proc = cli(settings, "index", "--quiet")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert sorted(lines) == [
        "Skipped .draft.txt: hidden file (its name starts with '.'); rename it to index it",
        "Skipped dots.txt: nothing to index: no words (only punctuation or markup)",
        "Skipped gone.txt: broken symlink (its target deleted-long-ago.txt does not exist); "
        "remove or fix the link",
        "Skipped utf16-nobom.txt: UTF-16 without a byte-order mark is not supported; re-save it as UTF-8",
    ], err
    assert "2 added" in out
    assert [d.source for d in indexed_documents(settings)] == ["s0.txt", "utf16.txt"]
    assert "52" in answer(question(6), settings=settings).text  # 10 + 7*6, read from UTF-16


def test_a_seed_over_the_passage_limit_is_skipped_with_the_setting_to_raise(tmp_path):
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index", max_seed_passages=5)
    write_docs(
        settings.seeds_dir, {"s0.txt": story(0), "long.txt": "Long\n\n" + "A line of words here. " * 400}
    )
    report = build_index(settings)
    why = skipped(report)
    assert list(why) == ["long.txt"] and "over the 5-passage limit" in why["long.txt"]
    assert "ASSISTANT_MAX_SEED_PASSAGES" in why["long.txt"]
    assert report.added == 1


def test_progress_callback_reports_sentences_done(tmp_path):
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index", batch_size=2)
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(4)})
    seen: list[tuple[int, int]] = []
    build_index(settings, progress=lambda done, total: seen.append((done, total)))
    total = seen[0][1]
    assert seen[0] == (0, total) and seen[-1] == (total, total) and total > 8
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) > 2


def test_no_work_at_import_and_no_subprocess_leak():
    done = subprocess.run(
        [PY, "-c", "import sys, assistant.indexing.store, assistant.indexing.build, assistant.ingest.seeds, "
         "assistant.indexing.watch; "
         "print(sorted(m for m in ('chromadb', 'torch', 'watchfiles', 'filelock') if m in sys.modules))"],
        env=os.environ | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
