"""The web chat: rendering, escaping and upload checks (fast), then the app in real headless chromium.

Browser tests need Debian chromium at /usr/bin/chromium (or $CHROMIUM): they fail without it in CI
(the CI variable is set) and are skipped elsewhere. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from assistant.settings import Settings
from assistant.web_render import (
    UploadError,
    answer_text,
    check_upload,
    corpus_title,
    escape_markdown,
    example_questions,
    plain_history,
    render_answer,
    render_citation,
    render_documents,
    render_error,
    safe_filename,
    store_upload,
    stream_prefixes,
    unescape_markdown,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "us-missile-sales-two-koreas.txt"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TITLE = "US Missile Sales Drive Intense Rivalry Between Two Koreas"
TIMEOUT = 60_000  # ms for an answer to appear (a cold model load on a slow CI box)

HOSTILE = """Harbour Festival Draws Record Crowd <script>window.__pwned=1</script> ${window.__pwned=1} \
{{constructor.constructor('window.__pwned=1')()}}

Published June 3, 2021

The harbour festival drew a record crowd of 40,000 visitors on Saturday, organisers said in a note \
titled <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> \
[click](javascript:window.__pwned=1) on their website.

The mayor said the town would hold the festival again next summer, with more food stalls along the quay.

Local hotels reported that every room was booked for the weekend of the festival.
"""
LIBRARY = """Riverside Library Reopens After Flood Repairs

March 2, 2022

The Riverside public library reopened on Monday after eight months of flood repairs that cost $2.3 million, \
the city council said.

Volunteers moved more than 12,000 books back onto the shelves over the weekend.
"""
HOTELS = """Hotels Full for Harbour Weekend

Local hotels reported that every room in town was booked for the weekend of the harbour festival.
"""


def cite(number: int = 1, **kw: object) -> SimpleNamespace:
    fields = {
        "number": number,
        "source": "a.txt",
        "title": "A title",
        "quote": "The quote.",
        "start": 0,
        "end": 10,
        "score": 1.0,
        "date": "June 3, 2021",
        "before": "Before it.",
        "after": "After it.",
    }
    return SimpleNamespace(**(fields | kw))


def result(
    text: str, citations: tuple = (), abstained: bool = False, notice: str | None = None
) -> SimpleNamespace:
    return SimpleNamespace(
        question="q",
        text=text,
        citations=citations,
        abstained=abstained,
        answered_by="extractive",
        notice=notice,
    )


# --- rendering and escaping ------------------------------------------------------------------------


NASTY = (
    '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> [click](javascript:x()) $$x$$'
)


def test_citation_marks_the_quote_inside_its_passage() -> None:
    html = render_citation(cite(2, quote="136 missiles", before="It sold", after="to Seoul."))
    assert "[2] <b>A title</b> · June 3, 2021" in html
    assert "It sold <mark>136 missiles</mark> to Seoul." in html


def test_untrusted_text_is_escaped_everywhere() -> None:
    c = cite(
        quote=NASTY,
        before=NASTY,
        after=NASTY + "\n\n[x](javascript:y)",
        title=NASTY,
        date=NASTY,
        source=NASTY,
    )
    doc = SimpleNamespace(source=NASTY, title=NASTY, date=NASTY, passages=1)
    for html in (render_answer(result(NASTY + " [1]", (c,))), render_documents([doc]), render_error(NASTY)):
        assert "<script" not in html and "<img" not in html
        assert "&lt;script&gt;" in html
    message = render_answer(result(NASTY + " [1]", (c,)))
    markdown, _, sources = message.partition('<div class="nw-sources"')
    assert "\\[click\\]\\(javascript" in markdown  # no Markdown link can form
    assert "\\$\\$x\\$\\$" in markdown  # nor LaTeX
    assert "\n" not in sources  # one HTML block: a blank line would end it and start Markdown again


def test_answer_text_round_trips_for_follow_ups() -> None:
    text = "It cost $1.405 billion (a *record*) [1], said [the] agency_name <b> & co. [2]"
    message = render_answer(result(text, (cite(1), cite(2))))
    assert '<span class="nw-ref">[1]</span>' in message
    assert answer_text(message) == text
    assert unescape_markdown(escape_markdown(NASTY)) == NASTY


def test_abstention_reads_as_an_answer_not_an_error() -> None:
    message = render_answer(result("The article doesn't say.", abstained=True))
    assert "nw-abstain" in message and "nw-error" not in message and "nw-sources" not in message
    assert answer_text(message) == "The article doesn't say."
    assert "nw-notice" in render_answer(result("x", notice="LLM unreachable"))


def test_plain_history_accepts_gradio_shapes_and_drops_failed_turns() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "How many?"}]},
        {"role": "assistant", "content": render_answer(result("136 [1]", (cite(1),)))},
        {"role": "user", "content": "bad"},
        {"role": "assistant", "content": render_error("Your question is empty.")},
        {"role": "assistant", "content": "thinking", "metadata": {"title": "x"}},
        {"role": "user", "content": "Worth?"},
        {"role": "assistant", "content": [{"type": "text", "text": "A lot."}]},
    ]
    assert plain_history(history) == [
        {"role": "user", "content": "How many?"},
        {"role": "assistant", "content": "136 [1]"},
        {"role": "user", "content": "Worth?"},
        {"role": "assistant", "content": "A lot."},
    ]
    assert plain_history(None) == []


def test_stream_prefixes_grow_by_words() -> None:
    text = " ".join(f"w{i}" for i in range(30))
    prefixes = list(stream_prefixes(text, steps=8))
    assert 1 < len(prefixes) <= 8 and all(text.startswith(p) for p in prefixes)
    assert [len(p) for p in prefixes] == sorted(len(p) for p in prefixes) and prefixes[-1] != text
    assert list(stream_prefixes("one")) == []


def test_corpus_name_and_examples_are_generic() -> None:
    one = [SimpleNamespace(source="a.txt", title="Big News", date=None, passages=3)]
    assert corpus_title(one) == "Big News" and corpus_title(one * 3) == "3 news articles"
    assert corpus_title([]) == "News assistant"
    assert "When was it published?" in example_questions(one) and example_questions(one * 2)


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
        ("a.pdf", b"text", "not a .txt"),
        ("a", b"text", "not a .txt"),
        ("a.txt", b"x" * 101, "larger"),
        ("a.txt", b"ab\x00cd", "binary"),
        ("a.txt", "é".encode("latin-1"), "not UTF-8"),
        ("a.md", b" \n\t", "empty"),
    ],
)
def test_bad_uploads_are_refused(name: str, data: bytes, why: str) -> None:
    with pytest.raises(UploadError, match=why):
        check_upload(name, data, max_bytes=100)


def test_good_upload_keeps_its_text() -> None:
    assert check_upload("../Story.MD", "\ufeffTitle\n\nBody é".encode(), 100) == (
        "Story.md",
        "Title\n\nBody é",
    )


def test_store_upload_never_overwrites(tmp_path: Path) -> None:
    first = store_upload(tmp_path, "story.txt", b"one")
    second = store_upload(tmp_path, "story.txt", b"two")
    assert (first.name, second.name) == ("story.txt", "story-2.txt")
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["story-2.txt", "story.txt"]  # no temp file left


def test_refused_or_skipped_upload_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant import web

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "old.txt").write_text("Old\n\nText.")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", max_upload_mb=0.001)
    builds: list[str] = []

    def fake_build(settings: Settings) -> SimpleNamespace:
        builds.append("x")
        return SimpleNamespace(
            skipped=("new.txt: no text left after cleaning",),
            added=0,
            updated=0,
            removed=0,
            unchanged=1,
            chunks=1,
            seconds=0.1,
            changed=False,
        )

    monkeypatch.setattr("assistant.index.build_index", fake_build)
    big, binary, skipped = tmp_path / "big.txt", tmp_path / "bin.txt", tmp_path / "new.txt"
    big.write_bytes(b"x" * 2000)
    binary.write_bytes(b"\x00\x01")
    skipped.write_text("Just a title")
    assert "larger" in web.add_document(str(big), settings)
    assert "binary" in web.add_document(str(binary), settings)
    assert builds == []
    assert "Not added: new.txt: no text left" in web.add_document(str(skipped), settings)
    assert builds == ["x"]
    assert [p.name for p in seeds.iterdir()] == ["old.txt"]


def test_chat_streams_then_shows_sources_and_passes_history(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.errors import BadQuestionError
    from assistant.web import respond

    seen: list[object] = []

    def fake_answer(question: str, *, history: object = None, settings: object = None) -> SimpleNamespace:
        seen.append(history)
        if not question.strip():
            raise BadQuestionError("Type a question first.")
        return result("one two three four five six seven eight nine ten [1]", (cite(1),))

    monkeypatch.setattr("assistant.answering.answer", fake_answer)
    monkeypatch.setattr("assistant.web.STREAM_SECONDS", 0.0)
    history = [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": render_error("x")}]
    chunks = list(respond("Count?", history, Settings()))
    assert len(chunks) > 2 and "nw-sources" in chunks[-1] and all("nw-sources" not in c for c in chunks[:-1])
    assert seen == [[]]  # the failed turn is not sent as history
    assert list(respond(" ", [], Settings())) == [render_error("Type a question first.")]


def test_import_is_free_and_app_has_stable_api_names(tmp_path: Path) -> None:
    code = "import sys, assistant.web; sys.exit('gradio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
    from assistant.web import create_app, launch_options

    app = create_app(Settings(seeds_dir=tmp_path / "seeds", index_dir=tmp_path / "index"))
    public = {f.api_name for f in app.fns.values() if f.api_visibility == "public"}
    assert public == {"ask", "answer"}
    options = launch_options(Settings(port=0))
    assert options["server_name"] == "127.0.0.1" and options["share"] is False and options["server_port"] > 0
    assert not options["theme"]._stylesheets  # no Google fonts


# --- the running app -------------------------------------------------------------------------------


@contextmanager
def serve(tmp: Path, documents: dict[str, str]) -> Iterator[tuple[str, Settings]]:
    """Index ``documents`` in a tmp seeds folder and serve the app on a free 127.0.0.1 port."""
    from assistant import build_index
    from assistant.web import CHAT_CONCURRENCY, create_app, launch_options

    seeds = tmp / "seeds"
    seeds.mkdir(parents=True)
    for name, text in documents.items():
        (seeds / name).write_text(text, encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=tmp / "index", port=0)
    build_index(settings)
    app = create_app(settings)
    options = launch_options(settings)
    app.queue(default_concurrency_limit=CHAT_CONCURRENCY).launch(
        prevent_thread_lock=True, quiet=True, **options
    )
    try:
        yield f"http://127.0.0.1:{options['server_port']}/", settings
    finally:
        app.close()


@pytest.fixture(scope="module")
def missile_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("web"), {SEED.name: SEED.read_text(encoding="utf-8")}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"Debian chromium is missing at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh page that records (and blocks) every request to a host other than this machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.outside = []  # type: ignore[attr-defined]
    page.dialogs = []  # type: ignore[attr-defined]

    def route(route: object) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "http://localhost:", "ws://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            page.outside.append(url)
            route.abort()

    context.route("**/*", route)
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.set_default_timeout(TIMEOUT)
    yield page
    context.close()


def ask(page: object, question: str) -> object:
    """Send a question and return its answer bubble once the final answer (not a stream chunk) is in."""
    bots = page.locator('[data-testid="bot"]')
    before = bots.count()
    page.locator("#nw-question textarea").fill(question)
    page.keyboard.press("Enter")
    message = bots.nth(before)
    message.locator(".nw-sources, .nw-abstain, .nw-error").first.wait_for()
    return message


@pytest.mark.browser
def test_chat_in_browser_quotes_follows_up_and_abstains(missile_app: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(missile_app)
    expect(page.locator(".nw-header h1")).to_have_text(TITLE)
    expect(page.get_by_text("When was it published?")).to_be_visible()

    first = ask(page, "How many missiles were approved?")
    expect(first).to_contain_text("136")
    expect(first.locator(".nw-ref").first).to_have_text("[1]")
    expect(first.locator(".nw-cite-head").first).to_contain_text(TITLE)
    expect(first.locator(".nw-cite-head").first).to_contain_text("2020")
    marks = first.locator(".nw-cite mark")
    expect(marks.filter(has_text="136 PAC-3 missiles")).to_have_count(1)
    passage = first.locator(".nw-passage", has=page.locator("mark", has_text="136 PAC-3")).inner_text()
    assert len(passage) > len(marks.filter(has_text="136 PAC-3").inner_text())  # shown in context

    second = ask(page, "How much are they worth?")
    expect(second).to_contain_text("$1.405 billion")
    expect(second.locator(".nw-cite mark", has_text="$1.405 billion")).to_have_count(1)

    third = ask(page, "Who won the 2018 World Cup?")
    expect(third).to_contain_text("doesn't say")
    expect(third.locator(".nw-abstain")).to_be_visible()
    expect(third.locator(".nw-cite, .nw-error")).to_have_count(0)
    expect(page.locator('[data-testid="toast-body"]')).to_have_count(0)

    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 2000})  # the chat scrolls inside: show all of it
    expect(first).to_be_in_viewport()
    page.screenshot(path=str(ARTIFACTS / "web-chat.png"), full_page=True)
    assert page.outside == [], f"the page reached beyond this machine: {page.outside}"


@pytest.mark.browser
def test_hostile_seed_renders_as_text(tmp_path: Path, page: object) -> None:
    from playwright.sync_api import expect

    with serve(tmp_path, {"harbour.txt": HOSTILE}) as (url, _):
        page.goto(url)
        expect(page.locator(".nw-header h1")).to_contain_text("<script>window.__pwned=1</script> ${window.")
        message = ask(page, "How many visitors did the festival draw?")
        expect(message.locator(".nw-sources")).to_be_visible()
        for text in (
            "<script>window.__pwned=1</script>",
            '<img src=x onerror="window.__pwned=1">',
            "[click](javascript:window.__pwned=1)",
        ):
            expect(message.locator(".message-content").first).to_contain_text(text)
            expect(message.locator(".nw-cite mark", has_text=text)).to_have_count(1)
        expect(message.locator("img, script, a[href^='javascript']")).to_have_count(0)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-hostile-chat.png"), full_page=True)
        page.get_by_role("tab", name="Documents").click()
        expect(page.locator("#nw-documents")).to_contain_text(
            "{{constructor.constructor('window.__pwned=1')()}}"
        )
        page.wait_for_timeout(300)  # give a stray onerror handler time to fire
        page.screenshot(path=str(ARTIFACTS / "web-hostile-documents.png"), full_page=True)
        assert page.evaluate("window.__pwned") is None
        assert page.dialogs == [] and page.outside == []


@pytest.mark.browser
def test_documents_tab_adds_and_rebuilds_without_restart(tmp_path: Path, page: object) -> None:
    from playwright.sync_api import expect

    with serve(tmp_path, {SEED.name: SEED.read_text(encoding="utf-8")}) as (url, settings):
        seeds = Path(settings.seeds_dir)
        page.goto(url)
        page.get_by_role("tab", name="Documents").click()
        rows = page.locator("#nw-documents tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(TITLE)

        upload = page.locator("input[type=file]")
        upload.set_input_files(files=[{"name": "bad.txt", "mimeType": "text/plain", "buffer": b"\x00\xff"}])
        expect(page.locator("#nw-status")).to_contain_text("binary")
        assert sorted(p.name for p in seeds.iterdir()) == [SEED.name]

        upload.set_input_files(
            files=[{"name": "Library (draft).md", "mimeType": "text/markdown", "buffer": LIBRARY.encode()}]
        )
        expect(page.locator("#nw-status")).to_contain_text("Added Library-draft.md")
        expect(rows).to_have_count(2)
        expect(page.locator(".nw-header h1")).to_have_text("2 news articles")

        (seeds / "hotels.txt").write_text(HOTELS, encoding="utf-8")
        page.get_by_role("button", name="Rebuild index from seeds/").click()
        expect(page.locator("#nw-status")).to_contain_text("1 added")
        expect(rows).to_have_count(3)

        page.get_by_role("tab", name="Chat").click()
        message = ask(page, "How much did the library flood repairs cost?")
        expect(message.locator(".nw-cite mark", has_text="$2.3 million")).to_have_count(1)
        expect(message.locator(".nw-cite-head").first).to_contain_text("Riverside Library Reopens")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-documents.png"), full_page=True)
        assert page.outside == []


def test_api_ask_follow_up_and_json(missile_app: str) -> None:
    from gradio_client import Client

    client = Client(missile_app, verbose=False)
    first = client.predict("How many missiles were approved?", api_name="/ask")
    assert "136" in first and '<div class="nw-sources" data-citations=' in first
    follow_up = client.predict("How much are they worth?", api_name="/ask")
    assert "$1.405 billion" in unescape_markdown(follow_up)
    assert "nw-error" in client.predict("   ", api_name="/ask")
    data = client.predict("How many missiles were approved?", None, api_name="/answer")
    assert not data["abstained"] and data["citations"]
    text = SEED.read_text(encoding="utf-8")
    assert all(text[c["start"] : c["end"]] == c["quote"] for c in data["citations"])


def test_rebuilds_never_show_chatting_users_an_error(tmp_path: Path) -> None:
    """Three API sessions keep asking while the seeds change and the index is rebuilt twice."""
    import threading

    from gradio_client import Client

    from assistant.web import rebuild

    replies: list[str] = []
    stop = threading.Event()

    def chat(url: str) -> None:
        client = Client(url, verbose=False)
        while not stop.is_set():
            replies.append(client.predict("How many missiles were approved?", api_name="/ask"))

    with serve(tmp_path, {SEED.name: SEED.read_text(encoding="utf-8")}) as (url, settings):
        threads = [threading.Thread(target=chat, args=(url,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            (Path(settings.seeds_dir) / "library.txt").write_text(LIBRARY, encoding="utf-8")
            assert "1 added" in rebuild(settings)
            (Path(settings.seeds_dir) / "library.txt").unlink()
            assert "1 removed" in rebuild(settings)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    assert len(replies) >= 3
    assert all("nw-error" not in r and "136" in r for r in replies)
