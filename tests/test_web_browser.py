"""The web chat in real headless Debian chromium (Playwright with executable_path).

Needs /usr/bin/chromium (or $CHROMIUM): fails without it in CI (the CI variable is set), skipped
elsewhere. Screenshots land in tests/artifacts/ at desktop (1280 px) and phone (375 px) widths.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import ARTIFACTS, HOSTILE, HOTELS, LIBRARY, SEED, TITLE, serve

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
TIMEOUT = 60_000  # ms for an answer to appear (a cold model load on a slow CI box)
PHONE = {"width": 375, "height": 812}

pytestmark = pytest.mark.browser


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


def new_page(browser: object, viewport: dict[str, int]) -> object:
    """A page that records (and blocks) every request to a host other than this machine."""
    context = browser.new_context(viewport=viewport)
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
    return page


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    page = new_page(browser, {"width": 1280, "height": 1000})
    yield page
    page.context.close()


def ask(page: object, question: str) -> object:
    """Send a question and return its answer bubble once the final answer is in."""
    bots = page.locator('[data-testid="bot"]')
    before = bots.count()
    page.locator("#nw-question textarea").fill(question)
    page.keyboard.press("Enter")
    message = bots.nth(before)
    message.locator(".nw-sources, .nw-abstain, .nw-error").first.wait_for()
    return message


def screenshot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_chat_leads_with_the_answer_one_block_per_passage(missile_app: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(missile_app)
    expect(page.locator(".nw-header h1")).to_have_text(TITLE)
    expect(page.get_by_text("When was it published?")).to_be_visible()

    first = ask(page, "How many missiles were approved?")
    expect(first).to_contain_text("136")
    expect(first.locator(".nw-ref").first).to_have_text("[1]")
    blocks = first.locator(".nw-cite")
    # One block per cited passage (no passage shown twice), every citation marked once inside it.
    passages = [b.locator(".nw-passage").inner_text() for b in blocks.all()]
    cited = [n for b in blocks.all() for n in b.locator(".nw-passage sup.nw-ref").all_inner_texts()]
    in_text = first.locator(".message-content > * > span.nw-ref, span.nw-ref").all_inner_texts()
    assert passages and len(set(passages)) == len(passages)
    assert cited and len(cited) == len(set(cited)) and set(cited) == set(in_text)
    expect(first.locator(".nw-passage mark.nw-quote")).to_have_count(len(cited))
    expect(blocks.first.locator(".nw-cite-head")).to_contain_text(TITLE)
    expect(blocks.first.locator(".nw-cite-head")).to_contain_text("2020")
    expect(first.locator("mark.nw-quote", has_text="136 PAC-3 missiles")).to_have_count(1)

    second = ask(page, "How much are they worth?")  # a follow-up: uses the conversation
    expect(second).to_contain_text("$1.405 billion")
    expect(second.locator("mark.nw-quote", has_text="$1.405 billion").first).to_be_visible()
    # One mark per citation, and never more passage blocks than citations (sentences of one passage
    # share its block).
    refs = second.locator(".nw-passage sup.nw-ref").count()
    expect(second.locator(".nw-cite mark.nw-quote")).to_have_count(refs)
    assert 1 <= second.locator(".nw-cite").count() <= refs

    third = ask(page, "What is the capital of France?")
    expect(third).to_contain_text("doesn't say")
    expect(third.locator(".nw-abstain")).to_be_visible()
    expect(third.locator(".nw-cite, .nw-error, mark")).to_have_count(0)
    expect(page.locator('[data-testid="toast-body"]')).to_have_count(0)

    page.set_viewport_size({"width": 1280, "height": 2200})  # the chat scrolls inside: show all of it
    expect(first).to_be_in_viewport()
    screenshot(page, "web-chat-desktop.png")

    # "Show in document" opens the Documents tab at that passage, marked and in view.
    first.locator("a.nw-open").first.click()
    view = page.locator("#nw-doc-view")
    expect(view.locator("mark.nw-at", has_text="136 PAC-3 missiles")).to_have_count(1)
    expect(view.locator(".nw-left-out", has_text="Make CT Your Homepage")).to_have_count(1)
    expect(view.locator("mark#nw-at")).to_be_in_viewport()
    screenshot(page, "web-document-view.png")
    assert page.outside == [], f"the page reached beyond this machine: {page.outside}"


def test_chat_on_a_phone(missile_app: str, browser: object) -> None:
    from playwright.sync_api import expect

    page = new_page(browser, PHONE)
    try:
        page.goto(missile_app)
        message = ask(page, "How much are they worth? How many missiles were approved?")
        expect(message.locator(".nw-cite").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width} px)"
        screenshot(page, "web-chat-phone.png")
    finally:
        page.context.close()


def test_direct_answer_and_related_passage_from_the_real_answerer(missile_app: str, page: object) -> None:
    from playwright.sync_api import expect

    page.goto(missile_app)
    message = ask(page, "How much is the missile deal worth?")
    expect(message.locator(".nw-direct strong")).to_have_text("$1.405 billion", timeout=1000)
    expect(message.locator("mark.nw-quote mark.nw-answer")).to_have_text("$1.405 billion")
    abstained = ask(page, "What is the capital of France?")
    expect(abstained.locator(".nw-related").first).to_contain_text("Related passage", timeout=1000)
    screenshot(page, "web-direct-answer.png")


def test_a_question_shows_as_typed_and_fetches_nothing(missile_app: str, page: object) -> None:
    """#25: the user's bubble is text. Before, '<img src=…>' became an image the browser fetched."""
    from playwright.sync_api import expect

    page.goto(missile_app)
    pixel = '<img src="http://pixel.invalid/pixel.png">'
    markdown = "![p](http://pixel.invalid/p2.png) **bold** <script>window.__pwned=1</script>"
    message = ask(page, f"{pixel} {markdown} How many missiles were approved?")
    user = page.locator('[data-testid="user"]').last
    expect(user).to_contain_text(pixel)
    expect(user).to_contain_text(markdown)
    expect(user.locator("img, script, strong")).to_have_count(0)
    expect(message.locator(".nw-sources")).to_be_visible()  # the question was answered as typed
    page.wait_for_timeout(300)
    screenshot(page, "web-question-as-text.png")
    assert page.outside == [] and page.evaluate("window.__pwned") is None


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
            # Shown as text inside a quote (the headline may be quoted too, so at least one mark).
            expect(message.locator("mark.nw-quote", has_text=text).first).to_be_visible()
        expect(message.locator("img, script, a[href^='javascript']")).to_have_count(0)
        screenshot(page, "web-hostile-chat.png")
        message.locator("a.nw-open").first.click()
        expect(page.locator("#nw-documents")).to_contain_text(
            "{{constructor.constructor('window.__pwned=1')()}}"
        )
        expect(page.locator("#nw-doc-view mark.nw-at", has_text="<script>")).to_have_count(1)
        page.wait_for_timeout(300)  # give a stray onerror handler time to fire
        screenshot(page, "web-hostile-documents.png")
        assert page.evaluate("window.__pwned") is None
        assert page.dialogs == [] and page.outside == []


def test_documents_tab_adds_and_rebuilds_without_restart(tmp_path: Path, page: object) -> None:
    from playwright.sync_api import expect

    with serve(tmp_path, {SEED.name: SEED.read_text(encoding="utf-8")}) as (url, settings):
        seeds = Path(settings.seeds_dir)
        page.goto(url)
        page.get_by_role("tab", name="Documents").click()
        rows = page.locator("#nw-documents tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(TITLE)
        expect(page.locator("#nw-documents thead")).to_contain_text("Author")

        upload = page.locator("input[type=file]")
        upload.set_input_files(files=[{"name": "bad.txt", "mimeType": "text/plain", "buffer": b"\x00\xff"}])
        expect(page.locator("#nw-status")).to_contain_text("binary")
        assert sorted(p.name for p in seeds.iterdir()) == [SEED.name]

        upload.set_input_files(
            files=[{"name": "Library (draft).md", "mimeType": "text/markdown", "buffer": LIBRARY.encode()}]
        )
        # A build runs in a child process that loads the model first: seconds, not milliseconds.
        expect(page.locator("#nw-status")).to_contain_text("Added Library-draft.md", timeout=TIMEOUT)
        expect(rows).to_have_count(2)
        expect(page.locator(".nw-header h1")).to_have_text("2 news articles")

        (seeds / "hotels.txt").write_text(HOTELS, encoding="utf-8")
        page.get_by_role("button", name="Rebuild index from seeds/").click()
        # "1 added" alone would match the upload's status still on screen.
        expect(page.locator("#nw-status")).to_contain_text(
            "1 added, 0 updated, 0 removed, 2 unchanged", timeout=TIMEOUT
        )
        expect(rows).to_have_count(3)
        screenshot(page, "web-documents.png")

        page.get_by_role("tab", name="Chat").click()
        message = ask(page, "How much did the library flood repairs cost?")
        expect(message.locator("mark.nw-quote", has_text="$2.3 million")).to_have_count(1)
        expect(message.locator(".nw-cite-head").first).to_contain_text("Riverside Library Reopens")
        assert page.outside == []


def test_the_document_picker_narrows_the_answer(tmp_path: Path, browser: object) -> None:
    """Three documents: a question about "the article" is answered for each, and picking one
    document in the picker narrows the next answer to it (and says so)."""
    from playwright.sync_api import expect

    documents = {SEED.name: SEED.read_text(encoding="utf-8"), "library.txt": LIBRARY, "hotels.txt": HOTELS}
    with serve(tmp_path, documents) as (url, _):
        for viewport, name in (({"width": 1280, "height": 1000}, "desktop"), (PHONE, "phone")):
            page = new_page(browser, viewport)
            try:
                page.goto(url)
                picker = page.locator("#nw-focus")
                expect(picker).to_be_visible()
                every = ask(page, "When was it published?")
                expect(every).to_contain_text("March 2, 2022")
                expect(every).to_contain_text("2020")
                expect(every.locator(".nw-used")).to_contain_text("Riverside Library Reopens")
                expect(every.locator(".nw-used")).to_contain_text(TITLE)

                picker.locator("input").click()
                page.get_by_role("option", name="Riverside Library Reopens After Flood Repairs").click()
                page.keyboard.press("Escape")
                expect(picker).to_contain_text("Riverside Library")
                narrowed = ask(page, "When was it published?")
                expect(narrowed).to_contain_text("March 2, 2022")
                expect(narrowed).not_to_contain_text("2020")
                expect(narrowed.locator(".nw-used")).to_have_text(
                    "From: Riverside Library Reopens After Flood Repairs"
                )
                cost = ask(page, "How much did the repairs cost?")
                expect(cost).to_contain_text("$2.3 million")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], f"the page scrolls sideways ({width} px)"
                if name == "desktop":
                    page.set_viewport_size({"width": 1280, "height": 2000})
                screenshot(page, f"web-document-picker-{name}.png")
                assert page.outside == [], f"the page reached beyond this machine: {page.outside}"
            finally:
                page.context.close()
