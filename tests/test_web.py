"""The web layer without a browser: rendering, escaping, chat history, uploads, ports, and the running
app over gradio_client (rebuilds while chatting, an index folder that vanishes). Browser tests live in
test_web_browser.py, the MCP server and the API error contract in test_web_mcp.py.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from web_helpers import LIBRARY, ROOT, SEED, serve

from assistant.errors import BadQuestionError, PortInUseError
from assistant.results import Answer, Citation
from assistant.settings import Settings
from assistant.web.api import Backend
from assistant.web.chat import plain_history, respond
from assistant.web.documents import (
    corpus_title,
    example_questions,
    reading_spans,
    render_document_view,
    render_documents,
)
from assistant.web.render import (
    escape_markdown,
    group_by_passage,
    render_answer,
    render_error,
    render_passage,
    unescape_markdown,
)
from assistant.web.uploads import UploadError, check_upload, safe_filename, store_upload

PASSAGE = "It sold arms. The deal is worth $1.405 billion to the maker. Seoul agreed."


def cite(number: int, quote: str, text: str = PASSAGE, offset: int = 100, **kw: object) -> Citation:
    """A real Citation quoting ``quote`` inside passage ``text`` that starts at ``offset`` in its file."""
    at = text.index(quote)
    fields = {
        "number": number,
        "source": "a.txt",
        "title": "Arms Deal",
        "quote": quote,
        "start": offset + at,
        "end": offset + at + len(quote),
        "score": 1.0,
        "date": "June 3, 2021",
        "before": text[:at].strip(),
        "after": text[at + len(quote) :].strip(),
    }
    return Citation(**(fields | kw))  # type: ignore[arg-type]


def answer(text: str, citations: tuple[Citation, ...] = (), **kw: object) -> Answer:
    return Answer(question="q", text=text, citations=citations, abstained=False, **kw)  # type: ignore[arg-type]


# --- rendering: the answer first, one block per passage -------------------------------------------


def test_direct_answer_leads_in_bold_and_is_marked_inside_its_quote() -> None:
    quote = "The deal is worth $1.405 billion to the maker."
    phrase_at = 100 + PASSAGE.index("$1.405 billion")
    c = cite(1, quote, answer_start=phrase_at, answer_end=phrase_at + len("$1.405 billion"))
    html = render_answer(answer(f"{quote} [1]", (c,), short_answer="$1.405 billion", confidence=0.9))
    assert html.startswith('<div class="nw-direct"><strong>$1.405 billion</strong></div>')
    assert (
        '<mark class="nw-quote" data-n="1">The deal is worth <mark class="nw-answer">$1.405 billion</mark>'
        " to the maker.</mark>" in html
    )
    # Without a short answer there is no bold line and nothing is marked as the answer phrase.
    plain = render_answer(answer(f"{quote} [1]", (cite(1, quote),)))
    assert "nw-direct" not in plain and "nw-answer" not in plain


def test_citations_from_one_passage_share_one_block_with_every_sentence_marked() -> None:
    first, second = cite(1, "It sold arms."), cite(2, "Seoul agreed.")
    other = cite(3, "Elsewhere.", text="Before. Elsewhere.", source="b.txt", title="Other")
    blocks = group_by_passage((first, second, other))
    assert [b.numbers for b in blocks] == [[1, 2], [3]]
    html = render_answer(answer("It sold arms. [1] Seoul agreed. [2] Elsewhere. [3]", (first, second, other)))
    assert html.count('class="nw-cite"') == 2
    assert html.count("The deal is worth") == 1  # the passage is shown once
    block = render_passage(blocks[0])
    assert '<mark class="nw-quote" data-n="1">It sold arms.</mark><sup class="nw-ref">[1]</sup>' in block
    assert '<mark class="nw-quote" data-n="2">Seoul agreed.</mark><sup class="nw-ref">[2]</sup>' in block
    assert "[1] [2] <b>Arms Deal</b> · June 3, 2021 · " in block
    assert 'href="#nw-doc:a.txt:100:' in block  # "Show in document" spans the cited sentences
    # The same sentence cited under two numbers is marked once, with both markers.
    twice = group_by_passage((cite(1, "It sold arms."), cite(4, "It sold arms.")))
    assert len(twice) == 1 and twice[0].numbers == [1, 4] and len(twice[0].quotes) == 1


def test_abstention_shows_related_passages_as_related_not_as_evidence() -> None:
    related = cite(1, "Seoul agreed.")
    result = Answer("q", "The article doesn't say.", (), True, related=(related,), short_answer="ignored")
    html = render_answer(result)
    assert "nw-abstain" in html and "nw-error" not in html and "nw-direct" not in html
    assert 'class="nw-related"' in html and "Related passage" in html and "Seoul agreed." in html
    assert "<mark" not in html and 'class="nw-cite"' not in html
    assert "nw-sources" not in render_answer(Answer("q", "The article doesn't say.", (), True))
    assert "nw-notice" in render_answer(answer("x", notice="LLM unreachable"))


NASTY = (
    '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> [click](javascript:x()) $$x$$'
)


def test_untrusted_text_is_escaped_everywhere() -> None:
    text = f"{NASTY} {NASTY}\n\n[x](javascript:y)"
    c = cite(1, NASTY, text=text, title=NASTY, date=NASTY, source=NASTY, answer_start=100, answer_end=108)
    related = cite(1, NASTY, text=text, title=NASTY, source=NASTY)
    doc = SimpleNamespace(source=NASTY, title=NASTY, date=NASTY, author=NASTY, passages=1)
    message = render_answer(answer(NASTY + " [1]", (c,), short_answer=NASTY))
    for html in (
        message,
        render_answer(Answer("q", NASTY, (), True, related=(related,))),
        render_documents([doc]),
        render_documents([], problem=NASTY),
        render_error(NASTY),
    ):
        assert "<script" not in html and "<img" not in html
        assert "&lt;script&gt;" in html
    markdown = message.split('<div class="nw-sources"')[0].split("</div>", 1)[1]
    assert "\\[click\\]\\(javascript" in markdown  # no Markdown link can form
    assert "\\$\\$x\\$\\$" in markdown  # nor LaTeX
    assert "\n" not in message.split("\n\n")[-1]  # one HTML block: a blank line would end it
    assert unescape_markdown(escape_markdown(NASTY)) == NASTY


# --- chat: answers at once, history kept as data --------------------------------------------------


def fake_backend(answers: dict[str, list[Answer]], seen: list[object]) -> Backend:
    """A Backend whose answerer replays given answers (the real one is used by the app tests)."""

    def stream(question: str, history: list[dict[str, str]], documents: object = None) -> object:
        seen.append(history)
        if documents:
            seen.append(("documents", documents))
        if not question.strip():
            raise BadQuestionError("The question is empty.")
        yield from answers[question]

    return Backend(
        answer=lambda q, h, d=None: next(iter(stream(q, h, d))),
        stream=stream,
        search=lambda q, k: [],
        documents=lambda: (),
        build=lambda progress, wait: None,
        settings=Settings(),
    )


def test_chat_answers_at_once_and_remembers_answers_as_data() -> None:
    final = answer("136 PAC-3 missiles. [1]", (cite(1, "It sold arms."),))
    seen: list[object] = []
    backend = fake_backend({"How many?": [final], "Worth?": [answer("Half"), answer("Half of it.")]}, seen)
    chunks = list(respond("How many?", [], {}, backend))
    assert len(chunks) == 1  # no typing effect: the answer is shown as soon as it exists
    shown, memory = chunks[0]
    assert "nw-sources" in shown and memory == {shown: "136 PAC-3 missiles. [1]"}

    history = [
        {"role": "user", "content": [{"type": "text", "text": "Old?"}]},
        {"role": "assistant", "content": render_error("broken index")},  # not in memory: dropped
        {"role": "user", "content": "How many?"},
        {"role": "assistant", "content": [{"type": "text", "text": shown}]},
        {"role": "assistant", "content": "thinking", "metadata": {"title": "x"}},
    ]
    assert plain_history(history, memory) == [
        {"role": "user", "content": "How many?"},
        {"role": "assistant", "content": "136 PAC-3 missiles. [1]"},
    ]
    # A streaming answerer: each earlier version is shown (marked unfinished), then the final one.
    chunks = list(respond("Worth?", history, memory | {"gone": "x"}, backend))
    assert seen[-1] == plain_history(history, memory)
    assert [c[0] for c in chunks] == [
        render_answer(answer("Half"), final=False),
        render_answer(answer("Half of it.")),
    ]
    assert "gone" not in chunks[-1][1] and shown in chunks[-1][1]  # memory keeps only what is shown
    assert list(respond(" ", [], {}, backend)) == [(render_error("The question is empty."), {})]


def test_chat_passes_the_picked_documents_and_names_the_documents_used() -> None:
    two = (
        Citation(1, "a.html", "Telescope opens", "It opened.", 0, 10, 0.9),
        Citation(2, "b.txt", "Plane found", "It was found.", 0, 13, 0.9),
    )
    result = answer("It opened. [1] It was found. [2]", two)
    seen: list[object] = []
    backend = fake_backend({"Q?": [result]}, seen)
    titles = {"a.html": "Telescope opens", "b.txt": "Plane found"}
    ((shown, _),) = respond("Q?", [], {}, backend, ["a.html", 3], titles=titles)  # type: ignore[list-item]
    assert ("documents", ["a.html"]) in seen  # what is not a name is dropped
    assert 'data-kind="used">From: <span title="a.html">Telescope opens</span> · ' in shown
    ((alone, _),) = respond("Q?", [], {}, backend)
    assert 'data-kind="used"' not in alone  # one document: nothing to say
    narrowed = dataclasses.replace(answer("The article doesn't say."), abstained=True, focus=("a.html",))
    # An abstention names what it was asked of, by title as answers do.
    assert 'Asked of: <span title="a.html">Telescope opens</span>' in render_answer(narrowed, titles=titles)
    per_line = render_answer(answer("A: x [1]\nB: y [2]", two))
    assert "A\\: x" in per_line and "\n\nB\\: y" in per_line  # each document on its own line


# --- documents -------------------------------------------------------------------------------------


def test_documents_table_and_names_are_generic() -> None:
    one = [SimpleNamespace(source="a.txt", title="Big News", date=None, author="Jo Lee", passages=3)]
    table = render_documents(one)
    assert "<th>Author</th>" in table and "Jo Lee" in table and "<td class='num'>3</td>" in table
    assert "nw-error" in render_documents([], problem="The index folder is gone.")
    assert corpus_title(one) == "Big News" and corpus_title(one * 3) == "3 news articles"
    assert corpus_title([]) == "News assistant"
    assert "When was it published?" in example_questions(one) and example_questions(one * 2)


def test_document_view_shows_how_it_was_read_and_marks_the_passage() -> None:
    from assistant.ingest.seeds import inspect_seed

    reading = inspect_seed(SEED, SEED.name, 2**20)
    doc = reading.document
    spans = reading_spans(doc)
    assert "".join(doc.text[s:e] for s, e, _ in spans) == doc.text  # every character, once, in order
    kinds = {kind for _, _, kind in spans}
    assert {"title", "date", "kept", "left-out"} <= kinds
    left_out = [doc.text[s:e] for s, e, kind in spans if kind == "left-out"]
    assert any("Make CT Your Homepage" in t for t in left_out)  # page furniture is shown as left out
    start = doc.text.index("Yonhap")
    html = render_document_view(reading, (start, start + 6))
    assert '<mark class="nw-at" id="nw-at">Yonhap</mark>' in html
    assert "How it was read" in html and doc.title in html
    assert "dropped: " in html  # each left-out block with the reason it was left out


# --- uploads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\x.md", "x.md"),
        (".bashrc.txt", "bashrc.txt"),
        ("Notes (draft) v2.TXT", "Notes-draft-v2.txt"),
        ("Café über.html", "Cafe-uber.html"),
        ("...", "document"),
        ("", "document"),
        ("/", "document"),
        ("a/b/.md", "document.md"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("a.odt", b"text", "not a .txt"),
        ("a.pdf", b"text", "not a readable PDF"),
        ("a", b"text", "not a .txt"),
        ("a.txt", b"x" * 101, "larger"),
        ("a.txt", b"ab\x00cd", "binary"),
        ("a.txt", bytes(range(0x80, 0xE4)), "not valid UTF-8"),  # no encoding fits these bytes
        ("a.md", b" \n\t", "empty"),
    ],
)
def test_bad_uploads_are_refused_by_the_seed_readers_rules(
    tmp_path: Path, name: str, data: bytes, why: str
) -> None:
    path = tmp_path / (name if "." in name else "upload.txt")
    path.write_bytes(data)
    with pytest.raises(UploadError, match=why):
        check_upload(path, name, max_bytes=100)


def test_good_upload_gets_a_safe_name(tmp_path: Path) -> None:
    path = tmp_path / "Story.MD"
    path.write_text("Title\n\nBody é", encoding="utf-8")
    assert check_upload(path, "../Story.MD", 100) == "Story.md"


def test_store_upload_never_overwrites(tmp_path: Path) -> None:
    first = store_upload(tmp_path, "story.txt", b"one")
    second = store_upload(tmp_path, "story.txt", b"two")
    assert (first.name, second.name) == ("story.txt", "story-2.txt")
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["story-2.txt", "story.txt"]  # no temp file left


def test_refused_or_skipped_upload_changes_nothing(tmp_path: Path) -> None:
    from assistant.web import app as web

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "old.txt").write_text("Old\n\nText.")
    builds: list[str] = []

    def build(progress: object, wait: bool) -> SimpleNamespace:
        builds.append("x")
        return SimpleNamespace(skipped=("new.txt: no text left after cleaning",))

    backend = Backend(
        answer=None,  # type: ignore[arg-type]
        stream=None,  # type: ignore[arg-type]
        search=None,  # type: ignore[arg-type]
        documents=lambda: (),
        build=build,
        settings=Settings(seeds_dir=seeds, index_dir=tmp_path / "index", max_upload_mb=0.001),
    )
    big, binary, skipped = tmp_path / "big.txt", tmp_path / "bin.txt", tmp_path / "new.txt"
    big.write_bytes(b"x" * 2000)
    binary.write_bytes(b"\x00\x01")
    skipped.write_text("Just a title")
    assert "larger" in web.add_document(str(big), backend)
    assert "binary" in web.add_document(str(binary), backend)
    assert builds == []
    assert "Not added: new.txt: no text left" in web.add_document(str(skipped), backend)
    assert builds == ["x"]
    assert [p.name for p in seeds.iterdir()] == ["old.txt"]


# --- the app ---------------------------------------------------------------------------------------


def test_import_is_free_and_app_has_stable_api_names(tmp_path: Path) -> None:
    code = "import sys, assistant.web.app; sys.exit('gradio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
    from assistant.web.app import create_app, launch_options
    from assistant.web.documents import parse_jump

    app = create_app(Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index"))
    public = {f.api_name for f in app.fns.values() if f.api_visibility == "public"}
    assert public == {"ask", "search", "list_documents"}
    assert {f.api_name for f in app.fns.values() if f.api_visibility == "undocumented"} >= {"chat"}
    options = launch_options(Settings(port=0))
    assert options["server_name"] == "127.0.0.1" and options["share"] is False and options["server_port"] > 0
    assert not options["theme"]._stylesheets  # no Google fonts
    assert parse_jump("#nw-doc:a%20b.txt:10:20#1700") == ("a b.txt", (10, 20))
    assert parse_jump("#nw-doc:a.txt:x") == ("a.txt", None)


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    from assistant.web.app import launch

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index", port=port)
        with pytest.raises(PortInUseError, match=f"Port {port} is in use: set ASSISTANT_PORT or stop"):
            launch(settings)
        cli = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "web", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "ASSISTANT_SEEDS_DIR": str(tmp_path)},
        )
    assert cli.returncode == 1 and "Traceback" not in cli.stderr
    assert f"Error: Port {port} is in use: set ASSISTANT_PORT or stop the other app." in cli.stderr


def test_rebuilds_never_show_chatting_users_an_error(tmp_path: Path) -> None:
    """Three chat sessions keep asking while the seeds change and the index is rebuilt twice."""
    from gradio_client import Client

    from assistant.web.api import make_backend
    from assistant.web.app import rebuild

    replies: list[str] = []
    stop = threading.Event()

    answering = threading.Event()

    def chat(url: str) -> None:
        client = Client(url, verbose=False)
        asked = 0
        while not stop.is_set() or not asked:  # each session asks at least once, however fast the builds
            replies.append(client.predict("How many missiles were approved?", api_name="/chat"))
            asked += 1
            answering.set()

    with serve(tmp_path, {SEED.name: SEED.read_text(encoding="utf-8")}) as (url, settings):
        backend = make_backend(settings)
        threads = [threading.Thread(target=chat, args=(url,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            assert answering.wait(120), "no chat answer within 2 minutes"
            (Path(settings.seeds_dir) / "library.txt").write_text(LIBRARY, encoding="utf-8")
            assert "1 added" in rebuild(backend)
            (Path(settings.seeds_dir) / "library.txt").unlink()
            assert "1 removed" in rebuild(backend)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    assert len(replies) >= 3
    assert all("nw-error" not in r and "136" in r for r in replies)


def test_vanished_index_is_reported_in_chat_and_documents_and_rebuild_recreates_it(tmp_path: Path) -> None:
    """The index folder is deleted under the running app: the chat and the Documents tab say so
    with the core's message (an AssistantError), and Rebuild brings the index back."""
    from gradio_client import Client

    from assistant.indexing.store import POINTER_TTL
    from assistant.web.api import make_backend
    from assistant.web.app import list_documents, rebuild

    with serve(tmp_path, {SEED.name: SEED.read_text(encoding="utf-8")}) as (url, settings):
        client = Client(url, verbose=False)
        assert "136" in client.predict("How many missiles were approved?", api_name="/chat")
        backend = make_backend(settings)  # as the running app holds it: it has read the index
        assert list_documents(backend)[0]
        shutil.rmtree(settings.index_dir)
        time.sleep(POINTER_TTL + 0.1)  # a reader trusts the pointer it read for this long
        reply = client.predict("How many missiles were approved?", api_name="/chat")
        _, problem = list_documents(backend)
        assert "nw-error" in reply and "136" not in reply, reply
        # The page says what to do; the server's folder stays in the server's log (#34).
        assert problem and "Rebuild" in problem and str(settings.index_dir) not in problem, problem
        report = rebuild(backend)
        assert "nw-error" not in report and "5 passages" in report, report
        assert list_documents(backend)[0]
        assert "136" in client.predict("How many missiles were approved?", api_name="/chat")
