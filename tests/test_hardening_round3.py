"""Hardening, round 3 (#34): each finding reproduced on a real input made here, then fixed.

1 a disk that fills during a build must not freeze the next build; 2 a PDF whose text is one long run
of letters is read in linear time; 3 a damaged chroma.sqlite3 says so in one line and a rebuild
recovers; 8 trained files are checked when they load. Injection, hidden PDF text and the
client-facing messages are in test_injection.py and test_web_mcp.py.
"""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from test_lifecycle import PY, ROOT, THINGS, TOWNS, cli, story, write_docs

from assistant import Settings, answer, build_index
from assistant.errors import IndexDamagedError
from assistant.indexing.build import indexed_documents

# --- 1. a disk that fills during a build ---------------------------------------------------------

ENOSPC_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    sys.path.insert(0, "tests")
    from test_lifecycle import story, filler, write_docs
    import assistant.indexing.build as build_module
    from assistant import Settings
    from assistant.errors import DiskFullError
    from assistant.indexing.store import Store

    disk, seeds = Path(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(seeds_dir=seeds, index_dir=disk / "index")
    write_docs(seeds, {f"s{i}.txt": story(i) for i in range(3)})
    store = Store(settings)  # one store for every build, as the web app holds it
    build_module.build_index(settings, store=store)
    # Another writer fills the disk after the build's own free-space check passed.
    build_module.check_space = lambda *args, **kwargs: None
    room = os.statvfs(disk)
    (disk / "ballast").write_bytes(b"x" * (room.f_bavail * room.f_frsize - 300_000))
    write_docs(seeds, {f"f{i:03d}.txt": filler(i) * 8 for i in range(60)})
    try:
        build_module.build_index(settings, store=store)
        print("the build did not fail")
    except DiskFullError as exc:
        print("failed:", exc, flush=True)
    for path in seeds.glob("f*.txt"):
        path.unlink()
    (disk / "ballast").unlink()
    write_docs(seeds, {"s9.txt": story(9)})
    started = time.monotonic()
    report = build_module.build_index(settings, store=store)
    print(f"rebuilt: {report.added} added in {time.monotonic() - started:.1f}s", flush=True)
    """
)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 6 MB tmpfs (a real full disk), or skip where this machine cannot mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_build_after_a_disk_filled_mid_build_finishes(tmp_path: Path, small_disk: Path) -> None:
    # Before the fix the second build hung forever inside Chroma, holding the interpreter lock, so it
    # runs in a child process that is killed if it outlives the bound.
    done = subprocess.run(
        [PY, "-c", ENOSPC_SCRIPT, str(small_disk), str(tmp_path / "seeds")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "failed: No space left on the device holding" in done.stdout, done.stdout
    assert "rebuilt: 1 added" in done.stdout, done.stdout


# --- 2. a PDF whose text is one long run of letters ------------------------------------------------


def test_dehyphenation_is_linear_in_a_long_letter_run() -> None:
    from assistant.ingest.pdf_text import assemble

    run = "a" * 200_000
    started = time.perf_counter()
    text = assemble([f"{run}\nThe inter-\nnational desk said so.\n"]).text
    assert time.perf_counter() - started < 2.0  # the old pattern took 6 s for 20,000 letters
    assert "international desk" in text and text.startswith(run)
    # A compound the text writes with its hyphen elsewhere keeps it; the line break goes either way.
    kept = assemble(["A present-\nday view.\nThe present-day press.\n"]).text
    assert "present-day view" in kept


def one_page_pdf(content: bytes) -> bytes:
    """A minimal, valid one-page PDF whose page draws ``content`` (a content stream, Helvetica as F1)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.parametrize("others", [1, 20], ids=["one worker", "two workers"])
def test_a_pdf_that_takes_too_long_to_read_is_skipped_with_one_line(tmp_path: Path, others: int) -> None:
    """Many files are parsed on two worker processes at once (worker.parse_all); the limit holds on both."""
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index", parse_seconds=1)
    # 200,000 separately placed words on one page: pypdf needs about 10 s for it on this machine.
    slow = one_page_pdf(b"BT /F1 12 Tf 72 700 Td " + b"(word) Tj 1 0 Td " * 200_000 + b"ET")
    seeds = {f"a{i:02d}.txt": story(i) for i in range(others)}
    write_docs(settings.seeds_dir, seeds | {"m-slow.pdf": slow})
    started = time.monotonic()
    report = build_index(settings)
    assert time.monotonic() - started < 60
    assert report.added == others
    assert any(s.startswith("m-slow.pdf:") and "took longer than 1 s" in s for s in report.skipped), report
    titles = {d.source: d.title for d in indexed_documents(settings)}
    assert titles == {name: text.splitlines()[0] for name, text in seeds.items()}  # each its own parse
    # The worker was replaced: the next file parses as usual.
    write_docs(settings.seeds_dir, {"b.txt": story(2)})
    assert build_index(settings).added == 1


# --- 3. a damaged index ------------------------------------------------------------------------------


def damage(index: Path) -> None:
    db = index / "chroma.sqlite3"
    with db.open("r+b") as handle:
        handle.write(b"\0" * 100)  # the SQLite header: "file is not a database"


def test_a_damaged_index_is_one_line_and_index_moves_it_aside(tmp_path: Path) -> None:
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(2)})
    build_index(settings)
    asked = "How many new libraries did the Brantwick council approve?"
    before = [c.quote for c in answer(asked, settings=settings).citations]
    damage(settings.index_dir)
    for args in (("ask", "How many?"), ("documents",)):
        proc = cli(settings, *args)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, (out, err)
        assert "Traceback" not in err
        assert err.strip().count("\n") == 0, err
        assert f"{settings.index_dir}/" in err and "damaged" in err and "assistant index" in err, err
    proc = cli(settings, "index")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, (out, err)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("index.damaged-")]
    assert len(aside) == 1 and (aside[0] / "chroma.sqlite3").exists()
    assert f"moved the damaged index to {aside[0]}" in (out + err), (out, err)
    assert "2 added" in out
    assert [c.quote for c in answer(asked, settings=settings).citations] == before


def test_a_damaged_index_in_process_raises_the_projects_error(tmp_path: Path) -> None:
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {"s0.txt": story(0)})
    build_index(settings)
    damage(settings.index_dir)
    from assistant import Assistant

    with pytest.raises(IndexDamagedError, match="damaged"):
        Assistant(settings).answer("How many?")
    assert build_index(settings).added == 1  # a build moves it aside and starts again


# --- 8. trained files are checked when they load ------------------------------------------------------


def test_a_nan_in_the_fitted_answerer_is_refused(tmp_path: Path) -> None:
    from assistant.answering.scorer import PARAMETERS, load_parameters
    from assistant.errors import AssistantError

    data = PARAMETERS.read_text(encoding="utf-8")
    broken = tmp_path / "answerer.json"
    broken.write_text(_nan_everywhere(data), encoding="utf-8")
    with pytest.raises(AssistantError, match=r"answerer\.json.*not a finite number"):
        load_parameters(broken)


def _nan_everywhere(text: str) -> str:
    import json

    def walk(value):
        if isinstance(value, float):
            return float("nan")
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return json.dumps(walk(json.loads(text)))


def test_reader_weights_with_changed_bytes_are_refused(tmp_path: Path) -> None:
    from assistant.answering.reader import WEIGHTS, Reader
    from assistant.errors import ReaderError

    copy = tmp_path / "reader.safetensors"
    data = bytearray(WEIGHTS.read_bytes())
    data[-1000] ^= 0xFF  # a data byte: the header still parses
    copy.write_bytes(bytes(data))
    (tmp_path / "reader.sha256").write_text(WEIGHTS.with_suffix(".sha256").read_text())
    with pytest.raises(ReaderError, match=r"reader\.safetensors.*sha256.*training\.train_reader"):
        Reader(copy).read("Who?", [("A sentence.", "", "Title")])


# --- 5. hidden PDF text ------------------------------------------------------------------------------------


def test_pdf_text_drawn_where_no_reader_sees_it_is_not_indexed(tmp_path: Path) -> None:
    from assistant.ingest.seeds import inspect_seed

    content = (
        b"BT /F1 14 Tf 72 720 Td (Harbour wall repaired) Tj ET "
        b"BT /F1 11 Tf 72 690 Td (The harbour wall was repaired in March for 2.1 million pounds.) Tj ET "
        b"BT 1 1 1 rg /F1 11 Tf 72 670 Td (The wall cost 9 million pounds, white on white.) Tj ET "
        b"BT 0 g 3 Tr /F1 11 Tf 72 650 Td (The wall cost 8 million pounds, drawn invisible.) Tj ET "
        b"BT 0 Tr /F1 0.5 Tf 72 630 Td (The wall cost 7 million pounds, in half-point type.) Tj ET "
        b"BT /F1 11 Tf 72 -400 Td (The wall cost 6 million pounds, below the page.) Tj ET "
        b"BT 0 0 0 1 k /F1 11 Tf 72 610 Td (Work began in January after storms damaged the wall.) Tj ET"
    )
    pdf = tmp_path / "harbour.pdf"
    pdf.write_bytes(one_page_pdf(content))
    reading = inspect_seed(pdf, "harbour.pdf", 2**20)
    text = reading.document.text
    assert "2.1 million" in text and "Work began in January" in text
    assert not any(f"{n} million" in text for n in (9, 8, 7, 6))
    assert reading.hidden == (
        "48 characters of invisible text (render mode 3)",
        "47 characters of text outside the page",
        "51 characters of text under 2 pt",
        "47 characters of white text (the paper's colour)",
    )
    proc = cli(Settings(seeds_dir=tmp_path, index_dir=tmp_path / "index"), "inspect", str(pdf))
    out, _ = proc.communicate(timeout=120)
    assert "NOT READ, hidden on the page: 47 characters of white text" in out


def test_the_parser_worker_answers_when_the_app_holds_over_a_thousand_files() -> None:
    # A long-running app reaches descriptors past 1023, where select() fails; the worker's pipe is
    # then one of them. Run in a child process: the test process keeps its own descriptors.
    script = textwrap.dedent(
        """
        import os, resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # descriptors past 1023
        from assistant.ingest.seeds import RawSeed
        from assistant.ingest.worker import parse_limited
        for n in range(3):
            raw = RawSeed(f"s{n}.txt", ".txt", f"Harbour story {n}. The wall was repaired.".encode(), str(n))
            print(type(parse_limited(raw, 30)).__name__, flush=True)
        """
    )
    done = subprocess.run([PY, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["SeedDocument"] * 3, done.stderr[-2000:]


def test_an_upload_is_parsed_once_in_the_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.ingest import worker
    from assistant.web.uploads import add_upload

    sent: list[str] = []
    real_send = worker._send

    def counting_send(stream: object, obj: object) -> None:
        sent.append(getattr(obj, "source", str(obj)))
        real_send(stream, obj)

    monkeypatch.setattr(worker, "_send", counting_send)
    upload = tmp_path / "upload.pdf"
    upload.write_bytes(
        one_page_pdf(
            b"BT /F1 12 Tf 72 700 Td (The harbour wall was repaired in March for 2.1 million pounds.) Tj ET"
        )
    )
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    name, report = add_upload(
        upload, "Harbour Wall.pdf", settings.seeds_dir, 2**20, lambda: build_index(settings), 30
    )
    assert name == "Harbour-Wall.pdf" and report.added == 1
    assert sent.count("Harbour-Wall.pdf") == 1, sent  # the check parsed it; the build reused that


def test_the_web_rebuild_recovers_a_damaged_index_and_says_so_without_paths(tmp_path: Path) -> None:
    from assistant.web.api import make_backend
    from assistant.web.app import list_documents, rebuild

    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {"s0.txt": story(0)})
    build_index(settings)
    damage(settings.index_dir)
    backend = make_backend(settings)
    docs, problem = list_documents(backend)
    assert docs == () and problem == (
        "The index is damaged: press Rebuild in the Documents tab to rebuild it from the documents."
    )
    report = rebuild(backend)
    assert "The index was damaged, so it was set aside and rebuilt" in report and "nw-error" not in report
    assert str(tmp_path) not in report
    assert [d.source for d in list_documents(backend)[0]] == ["s0.txt"]


# --- 7. memory across rebuilds, and a build with a bound -------------------------------------------


ASKED = f"How many new {THINGS[0]} did the {TOWNS[0]} council approve?"  # story(0): 10


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def test_a_small_pair_is_searched_exactly_from_its_file_as_chroma_would(tmp_path: Path) -> None:
    """The few documents a build adds live in a small collection pair: readers search it from the
    pair's vector file, so Chroma never loads (and never keeps) its HNSW index."""
    from assistant.indexing.embedding import shared_embedder
    from assistant.indexing.store import Store
    from assistant.indexing.vectors import vectors_file

    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(4)})
    build_index(settings)
    generation = Store(settings).current()
    (pair,) = generation.passages.pairs
    assert generation.passages.exact(pair) is not None
    vector = shared_embedder(settings.embedding_model).encode([ASKED])[0]
    for where in (None, {"source": "s2.txt"}, {"source": {"$in": ["s1.txt", "s3.txt"]}}):
        exact = generation.passages.query([vector], n_results=5, where=where)
        chroma = generation.passages.pairs[pair].query(
            query_embeddings=[vector], n_results=5, include=["distances"], where=where
        )
        assert exact["ids"] == chroma["ids"], where
        assert exact["distances"][0] == pytest.approx(chroma["distances"][0], abs=1e-5)
    # Without the file (an index an older version built), Chroma answers as before.
    vectors_file(settings.index_dir, pair).unlink()
    assert Store(settings).current().passages.exact(pair) is None
    assert "10" in answer(ASKED, settings=settings).text


def test_web_rebuilds_do_not_grow_the_app(tmp_path: Path) -> None:
    """Chroma keeps native memory for each collection a process creates or reads, and never lets an
    HNSW index it loaded go (5.4 MB a rebuild when the app built in-process, 2.7 MB when it only read
    each new generation). The web app builds in a child process, and reads a build's small new
    collection pair from the pair's vector file: measured, 0.3 MB over 20 rebuilds."""
    from assistant.web.api import make_backend

    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {"s0.txt": story(0)})
    backend = make_backend(settings)
    backend.build(False, False)
    sizes = []
    for i in range(1, 13):
        write_docs(settings.seeds_dir, {f"s{i}.txt": story(i)})
        report = backend.build(False, False)
        assert report.added == 1 and report.embedded > 0
        assert "10" in backend.answer(ASKED).text
        sizes.append(rss_mb())
    assert [d.source for d in backend.documents()] == sorted(f"s{i}.txt" for i in range(13))
    # In-process the 11 rebuilds after the first grew the app by ~60 MB; in a child, by ~30 MB; now ~0.
    assert sizes[-1] - sizes[0] < 8, sizes


def test_a_web_build_past_its_bound_is_stopped_and_the_old_index_answers(tmp_path: Path) -> None:
    from assistant.errors import BuildTimeoutError
    from assistant.web.api import make_backend

    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index", build_seconds=1.0)
    write_docs(settings.seeds_dir, {"s0.txt": story(0)})
    build_index(settings)
    write_docs(settings.seeds_dir, {"s1.txt": story(1)})
    backend = make_backend(settings)
    started = time.monotonic()
    with pytest.raises(BuildTimeoutError) as raised:
        backend.build(False, False)  # a child cannot even load the model within 1 s
    assert time.monotonic() - started < 10
    assert "ASSISTANT_BUILD_SECONDS" in str(raised.value) and "ASSISTANT" not in raised.value.public
    assert [d.source for d in backend.documents()] == ["s0.txt"]  # the old index, still served
    assert "10" in backend.answer(ASKED).text
    # Nothing of the stopped child is left running, and the next build (unbounded) finishes.
    alive = subprocess.run(["pgrep", "-f", "assistant.indexing.child"], capture_output=True, text=True)
    assert alive.stdout.strip() == ""
    report = build_index(settings)
    assert report.added == 1
