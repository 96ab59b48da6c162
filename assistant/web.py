"""The web chat: a Gradio app over the indexed seeds that shows the passages behind each answer.

    >>> from assistant.web import create_app, launch_options
    >>> create_app().launch(**launch_options())     # or simply: launch()

Tabs: "Chat" (a ChatInterface whose answers carry their cited passages; API name ``/ask``) and
"Documents" (what is indexed; add a document; rebuild after editing ``seeds/``). ``/answer`` returns
the same answer as JSON. Gradio is imported inside the functions, so importing this module is free.
The web layer uses the public API only: answer, build_index, indexed_documents, Settings, errors.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError
from assistant.settings import Settings
from assistant.web_render import (
    CSS,
    UploadError,
    check_upload,
    corpus_title,
    example_questions,
    plain_history,
    render_answer,
    render_documents,
    render_error,
    render_header,
    render_reading,
    render_report,
    render_status,
    render_text,
    store_upload,
    stream_prefixes,
)

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

#: One index build at a time in this process (uploads and the Rebuild button); a build in another
#: process is refused by the core with IndexBusyError. Chatting goes on meanwhile: builds are atomic.
_BUILD_LOCK = threading.Lock()
#: Answers computed at once; more wait in Gradio's queue. The model and index are shared.
CHAT_CONCURRENCY = 8
#: How long the streamed answer takes to appear, at most (the answer is computed first).
STREAM_SECONDS = 0.25
SANS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]


def _offline_env() -> None:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _documents(settings: Settings) -> tuple[Any, ...]:
    from assistant import indexed_documents

    try:
        return tuple(indexed_documents(settings))
    except AssistantError as exc:
        log.warning("Cannot list the indexed documents: %s", exc)
        return ()


def respond(message: Any, history: list[dict[str, Any]], settings: Settings) -> Any:
    """The chat function: stream the answer's text, then show it whole with its cited passages."""
    import gradio as gr

    from assistant import answer

    question = message if isinstance(message, str) else str((message or {}).get("text", ""))
    try:
        result = answer(question, history=plain_history(history), settings=settings)
    except AssistantError as exc:
        yield render_error(str(exc))
        return
    except Exception as exc:
        log.exception("Answering %r failed", question)
        raise gr.Error("Something went wrong while answering; the server log has the details.") from exc
    numbers = [c.number for c in result.citations]
    prefixes = list(stream_prefixes(result.text))
    for prefix in prefixes:
        yield render_text(prefix, numbers) + " …"
        time.sleep(STREAM_SECONDS / max(len(prefixes), 1))
    yield render_answer(result)


def answer_json(question: str, history: list[dict[str, str]] | None = None, *, settings: Settings) -> dict:
    """The ``/answer`` endpoint: Answer.to_dict(), or {"error": message} for a bad question."""
    from assistant import answer

    try:
        return answer(question, history=history or None, settings=settings).to_dict()
    except AssistantError as exc:
        return {"error": str(exc)}


def rebuild(settings: Settings, note: str = "") -> str:
    """Bring the index in line with the seeds folder; the result as HTML for the Documents tab."""
    from assistant import build_index

    with _BUILD_LOCK:
        try:
            report = build_index(settings)
        except AssistantError as exc:
            return render_status(str(exc), ok=False)
    return render_report(report, note)


def add_document(path: str | None, settings: Settings) -> str:
    """Check an uploaded file, put it in the seeds folder under a safe, free name and index it.

    A refused file changes nothing: it is never written, or removed again if the build skips it
    or fails.
    """
    from assistant import build_index

    if not path:
        return render_status("No file received.", ok=False)
    limit = int(settings.max_upload_mb * 2**20)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
        filename, _ = check_upload(Path(path).name, data, limit)
        with _BUILD_LOCK:
            target = store_upload(Path(settings.seeds_dir), filename, data)
            source = target.name
            try:
                report = build_index(settings)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            problem = next((s for s in report.skipped if s.startswith(f"{source}:")), None)
            if problem:
                target.unlink(missing_ok=True)
                return render_status(f"Not added: {problem}", ok=False)
    except (UploadError, AssistantError) as exc:
        return render_status(str(exc), ok=False)
    except OSError as exc:
        return render_status(f"Could not store the file: {exc.strerror or exc}", ok=False)
    return render_report(report, f"Added {source}.")


def how_read(source: str | None, settings: Settings) -> str:
    """How one seed was read (kept paragraphs, dropped blocks and why), as HTML for the Documents tab."""
    from assistant.seeds import SeedProblem, inspect_seed

    if not source:
        return ""
    path = settings.seeds_dir / source
    if Path(source).is_absolute() or ".." in Path(source).parts or not path.is_file():
        return render_status(f"{source} is not a file in the seeds folder.", ok=False)
    result = inspect_seed(path, source, int(settings.max_seed_mb * 2**20))
    if isinstance(result, SeedProblem):
        return render_status(str(result), ok=False)
    return render_reading(result)


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts: the page needs nothing from the internet."""
    import gradio as gr

    return gr.themes.Default(font=SANS, font_mono=MONO)


def create_app(settings: Settings | None = None) -> gr.Blocks:
    """Build the app (nothing is served until it is launched, see :func:`launch_options`)."""
    _offline_env()
    import gradio as gr

    settings = settings or Settings()
    documents = _documents(settings)

    def chat(message: Any, history: list[dict[str, Any]]) -> Any:
        yield from respond(message, history, settings)

    def ask_json(question: str, history: list[dict[str, str]] | None = None) -> dict:
        return answer_json(question, history, settings=settings)

    def refresh() -> tuple[str, str]:
        docs = _documents(settings)
        return render_header(docs), render_documents(docs)

    def reading_of(source: str | None) -> str:
        return how_read(source, settings)

    def sources() -> Any:
        return gr.Dropdown(choices=[d.source for d in _documents(settings)])

    def upload(path: str | None) -> tuple[str, str, str, None]:
        return add_document(path, settings), *refresh(), None

    def rebuild_now() -> tuple[str, str, str]:
        return rebuild(settings), *refresh()

    with gr.Blocks(title=corpus_title(documents), analytics_enabled=False, fill_height=True) as app:
        header = gr.HTML(render_header(documents))
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                gr.ChatInterface(
                    chat,
                    chatbot=gr.Chatbot(
                        label="Answers with their sources",
                        height="65vh",
                        latex_delimiters=[],
                        buttons=["copy"],
                        feedback_options=None,
                        allow_tags=False,
                        sanitize_html=True,
                        placeholder="Ask a question about the "
                        + ("article." if len(documents) == 1 else "articles."),
                    ),
                    textbox=gr.Textbox(
                        placeholder="Ask a question…",
                        submit_btn=True,
                        stop_btn=True,
                        show_label=False,
                        max_lines=4,
                        elem_id="nw-question",
                    ),
                    examples=example_questions(documents),
                    cache_examples=False,
                    api_name="ask",
                    api_description="Answer a question (follow-ups use this session's history). Returns "
                    "Markdown with the cited passages as HTML; /answer returns JSON.",
                    concurrency_limit=CHAT_CONCURRENCY,
                    analytics_enabled=False,
                    fill_height=True,
                )
            with gr.Tab("Documents", id="documents"):
                table = gr.HTML(render_documents(documents), elem_id="nw-documents")
                with gr.Row():
                    file = gr.File(
                        label="Add a document (.txt, .md or .html, UTF-8, up to "
                        f"{settings.max_upload_mb:g} MB)",
                        file_types=[".txt", ".md", ".html"],
                        type="filepath",
                        file_count="single",
                        scale=3,
                    )
                    button = gr.Button("Rebuild index from seeds/", scale=1)
                status = gr.HTML(elem_id="nw-status")
                # So a user who gets "The article doesn't say" can see what was kept and what dropped.
                chosen = gr.Dropdown(
                    choices=[d.source for d in documents],
                    value=None,
                    label="How was a document read? (kept paragraphs, dropped blocks and why)",
                    elem_id="nw-read-choice",
                )
                reading = gr.HTML(elem_id="nw-reading")
        file.upload(
            upload, file, [status, header, table, file], concurrency_limit=1, api_visibility="private"
        ).then(sources, None, chosen, api_visibility="private")
        button.click(
            rebuild_now, None, [status, header, table], concurrency_limit=1, api_visibility="private"
        ).then(sources, None, chosen, api_visibility="private")
        app.load(refresh, None, [header, table], api_visibility="private")
        chosen.change(reading_of, chosen, reading, api_visibility="private")
        gr.api(ask_json, api_name="answer", concurrency_limit=CHAT_CONCURRENCY)
    return app


def launch_options(settings: Settings | None = None) -> dict[str, Any]:
    """The keyword arguments for ``create_app(settings).launch(...)``: host, port, theme, limits."""
    settings = settings or Settings()
    return {
        "server_name": settings.host,
        "server_port": settings.port or free_port(settings.host),
        "share": False,
        "theme": theme(),
        "css": CSS,
        "max_file_size": int(settings.max_upload_mb * 2**20),
        "footer_links": ["api", "settings"],
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": False,
        "inbrowser": False,
    }


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def launch(settings: Settings | None = None) -> None:
    """Serve the chat on settings.host:settings.port until interrupted; index the seeds first if needed."""
    _offline_env()
    settings = settings or Settings()
    if not _documents(settings):
        from assistant import build_index

        print(f"No index yet: indexing {settings.seeds_dir}/ ...", flush=True)
        try:  # a terminal gets the progress bar; a failure is shown and the Documents tab can fix it
            report = build_index(settings, progress=True, wait=True)
            print(f"Indexed {report.chunks} passages from {report.added} document(s).", flush=True)
        except AssistantError as exc:
            print(f"Error: {exc}", flush=True)
    threading.Thread(target=_warm_up, args=(settings,), daemon=True).start()
    create_app(settings).queue(default_concurrency_limit=CHAT_CONCURRENCY).launch(**launch_options(settings))


def _warm_up(settings: Settings) -> None:
    """Load the model before the first visitor asks (errors show up again when they do)."""
    from assistant import answer

    try:
        answer("What is this about?", settings=settings)
    except Exception:
        log.debug("Warm-up answer failed", exc_info=True)
