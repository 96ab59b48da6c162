# ruff: noqa: F811 (tests take the imported fixtures as arguments)
"""Server mode (#6): the index on a real `chroma run` server, and one clear error when it is gone."""

from __future__ import annotations

import subprocess
import time

import pytest
from test_lifecycle import (
    PY,
    ROOT,
    THINGS,
    TOWNS,
    ChromaServer,
    Output,
    assert_clean,
    citations,
    cli,
    env_for,
    filler,
    free_port,
    percent,
    server,  # noqa: F401 (the fixture, shared)
    story,
    write_docs,
)

from assistant import Settings, answer, build_index
from assistant.errors import ChromaUnreachableError
from assistant.indexing.build import indexed_documents
from assistant.indexing.disk import remove_orphan_folders
from assistant.indexing.store import Store

QUESTIONS = [f"How many new {THINGS[i]} did the {TOWNS[i]} council approve?" for i in range(4)]


def test_server_mode_holds_the_index_and_answers_like_embedded(server, tmp_path):
    remote = server.settings(tmp_path / "remote", "same")
    local = Settings(seeds_dir=remote.seeds_dir, index_dir=tmp_path / "local")
    write_docs(remote.seeds_dir, {f"s{i}.txt": story(i) for i in range(4)})
    assert build_index(remote).added == 4
    assert build_index(local).added == 4
    for q in QUESTIONS:
        assert citations(answer(q, settings=remote)) == citations(answer(q, settings=local)), q
    # The vectors are on the server, not in index_dir: it holds the writer's lock file and the lexical
    # file, which lives beside the client's settings (docs/scale.md).
    assert sorted(p.name for p in remote.index_dir.iterdir()) == [".build.lock", "lexical"]
    # Another client of the same server (a new machine: an empty index_dir) makes its lexical file
    # from the server's passages on first use and answers the same.
    other = remote.model_copy(update={"index_dir": tmp_path / "other-client"})
    for q in QUESTIONS:
        assert citations(answer(q, settings=other)) == citations(answer(q, settings=remote)), q
    assert len(list((tmp_path / "other-client" / "lexical").glob("g*.sqlite"))) == 1
    names = {c.name for c in Store(remote).client.list_collections()}
    number = Store(remote).current().number
    assert {"same-meta", f"same-g{number}-passages", f"same-g{number}-sentences"} <= names
    assert remove_orphan_folders(remote) == []  # nothing to sweep on a server


def test_an_unreachable_server_is_one_clear_error_naming_host_and_port(tmp_path):
    port = free_port()  # nothing listens there
    settings = Settings(
        seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index", chroma_host="127.0.0.1", chroma_port=port
    )
    write_docs(settings.seeds_dir, {"s0.txt": story(0)})
    where = f"Cannot reach the Chroma server at 127.0.0.1:{port}"
    with pytest.raises(ChromaUnreachableError, match=where):
        build_index(settings)
    with pytest.raises(ChromaUnreachableError, match=where):
        answer(QUESTIONS[0], settings=settings)
    for args in (["index"], ["ask", QUESTIONS[0]]):
        proc = cli(settings, *args)
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 1, (args, out, err)
        assert where in err and f"--port {port}" in err, err
        assert "Traceback" not in err, err


def test_a_server_lost_mid_session_gives_the_clear_error_then_recovers(tmp_path):
    srv = ChromaServer(tmp_path / "data").start()
    try:
        settings = srv.settings(tmp_path, "lost")
        write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(3)})
        build_index(settings)
        before = answer(QUESTIONS[1], settings=settings)
        answer(QUESTIONS[2], settings=settings)  # warm: the reader's pointer is fresh

        srv.stop()  # SIGKILL: the server vanishes between two questions
        where = f"127.0.0.1:{srv.port}"
        # While the pointer it read is fresh (1 s), a small index is answered from this client's own
        # files (its lexical file, and the pair's vectors searched exactly): the same answer, no server.
        # A slower machine may already have to read the pointer again: then the clear error.
        try:
            assert citations(answer(QUESTIONS[1], settings=settings)) == citations(before)
        except ChromaUnreachableError as exc:
            assert where in str(exc)
        time.sleep(1.1)  # once the reader looks at the pointer again: the clear error
        with pytest.raises(ChromaUnreachableError, match=where):
            answer(QUESTIONS[1], settings=settings)
        with pytest.raises(ChromaUnreachableError, match=where):
            build_index(settings)

        srv.start()  # same data folder, same port: the same process carries on
        assert citations(answer(QUESTIONS[1], settings=settings)) == citations(before)
        write_docs(settings.seeds_dir, {"s3.txt": story(3)})
        assert build_index(settings).added == 1
    finally:
        srv.stop()


def test_a_server_killed_mid_build_fails_cleanly_and_keeps_the_old_index(tmp_path):
    srv = ChromaServer(tmp_path / "data").start()
    try:
        settings = srv.settings(tmp_path, "midway")
        write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(3)})
        build_index(settings)
        before = answer(QUESTIONS[1], settings=settings)
        old_docs = indexed_documents(settings)

        write_docs(settings.seeds_dir, {f"f{i:03d}.txt": filler(i) for i in range(150)})
        proc = cli(settings, "index")
        err = Output(proc.stderr)
        assert err.wait_for(lambda t: percent(t) >= 20, proc), err.text
        srv.stop()
        proc.wait(120)
        assert proc.returncode == 1, err.text
        assert f"Cannot reach the Chroma server at 127.0.0.1:{srv.port}" in err.text
        assert "Traceback" not in err.text, err.text[-3000:]

        srv.start()
        assert indexed_documents(settings) == old_docs
        assert citations(answer(QUESTIONS[1], settings=settings)) == citations(before)
        check = subprocess.run(
            [PY, "-m", "assistant.cli", "index", "--quiet"],
            env=env_for(settings),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert check.returncode == 0, check.stderr
        assert "150 added" in check.stdout
        assert_clean(Store(settings))
    finally:
        srv.stop()
