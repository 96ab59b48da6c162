"""The web chat: a Gradio app over the indexed seeds that leads with the answer, then its passages.

    >>> from assistant.web.app import create_app, launch_options
    >>> create_app().launch(**launch_options())     # or simply: launch()

Tabs: "Chat" (answers with their cited passages) and "Documents" (what is indexed, each document
in context, uploads, rebuild). API endpoints (also MCP tools with ``mcp_server``): ``/ask``,
``/search``, ``/list_documents`` (see assistant.web.api); the chat itself is ``/chat``
(undocumented, one conversation per client session). Gradio is imported inside the functions, so
importing this module is free. The core is reached only through :func:`assistant.web.api.make_backend`.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.environment import offline
from assistant.errors import AssistantError, PortInUseError
from assistant.settings import Settings
from assistant.web.api import Backend, api_tools, make_backend
from assistant.web.chat import question_box, respond
from assistant.web.documents import (
    corpus_title,
    document_choices,
    example_questions,
    focus_choices,
    parse_jump,
    render_documents,
    render_header,
    render_report,
    render_status,
    show_document,
)
from assistant.web.guards import CleanSurrogates, for_client, quiet_bad_mcp_bodies
from assistant.web.ports import check_port, free_port
from assistant.web.style import CSS, JS, theme
from assistant.web.uploads import UPLOAD_SUFFIXES, UploadError, add_upload

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

#: One index build at a time in this process (uploads and the Rebuild button); a build in another
#: process is refused by the core with IndexBusyError. Chatting goes on meanwhile: builds are atomic.
_BUILD_LOCK = threading.Lock()
#: Answers computed at once; more wait in Gradio's queue. The model and index are shared.
CHAT_CONCURRENCY = 8


def list_documents(backend: Backend) -> tuple[tuple[Any, ...], str | None]:
    """The indexed documents, or () and the message saying why they cannot be listed."""
    try:
        return tuple(backend.documents()), None
    except AssistantError as exc:
        log.warning("Cannot list the indexed documents: %s", exc)
        return (), for_client(exc)


def rebuild(backend: Backend, note: str = "") -> str:
    """Bring the index in line with the seeds folder; the result as HTML for the Documents tab."""
    with _BUILD_LOCK:
        try:
            report = backend.build(True, False)  # a tqdm bar, shown in the tab by gr.Progress
        except AssistantError as exc:
            log.warning("Rebuild failed: %s", exc)
            return render_status(for_client(exc), ok=False)
    return render_report(report, note)


def add_document(path: str | None, backend: Backend) -> str:
    """Check an uploaded file, put it in the seeds folder under a safe, free name and index it."""
    if not path:
        return render_status("No file received.", ok=False)
    settings = backend.settings
    try:
        with _BUILD_LOCK:
            name, report = add_upload(
                Path(path),
                Path(path).name,
                Path(settings.seeds_dir),
                int(settings.max_upload_mb * 2**20),
                lambda: backend.build(True, False),
                settings.parse_seconds,
            )
    except (UploadError, AssistantError) as exc:
        log.warning("Upload %s refused: %s", Path(path).name, exc)
        return render_status(for_client(exc), ok=False)
    except OSError as exc:
        log.warning("Could not store the upload %s: %s", Path(path).name, exc)
        why = exc.strerror or "an error on the server"
        return render_status(f"Could not store the file: {why}", ok=False)
    return render_report(report, f"Added {name}.")


def create_app(settings: Settings | None = None, backend: Backend | None = None) -> gr.Blocks:
    """Build the app (nothing is served until it is launched, see :func:`launch_options`)."""
    offline()
    import gradio as gr

    backend = backend or make_backend(settings or Settings())
    documents, _ = list_documents(backend)
    if backend.settings.mcp:
        quiet_bad_mcp_bodies()

    def chat(
        message: Any, history: list[dict[str, Any]], memory: dict[str, str] | None, chosen: list[str] | None
    ) -> Any:
        indexed = list_documents(backend)[0]
        # With several documents, each answer names the ones it used, by title.
        titles = {d.source: d.title for d in indexed} if len(indexed) > 1 else None
        yield from respond(message, history, memory, backend, chosen, titles=titles)

    def refresh(chosen: list[str] | None = None) -> tuple[Any, ...]:
        docs, problem = list_documents(backend)
        choices = document_choices(docs)
        # The picker keeps what is still indexed; it shows only when there is a choice to make.
        kept = [c for c in chosen or () if c in {d.source for d in docs}]
        return (
            render_header(docs),
            render_documents(docs, problem),
            gr.update(choices=choices),
            gr.update(choices=focus_choices(docs), value=kept, visible=True if len(docs) > 1 else "hidden"),
        )

    # gr.Progress(track_tqdm=True) shows the build's tqdm bar over the Documents tab's outputs.
    track = gr.Progress(track_tqdm=True)

    def upload(path: str | None, chosen: list[str] | None, progress: Any = track) -> tuple[Any, ...]:
        return add_document(path, backend), *refresh(chosen), None

    def rebuild_now(chosen: list[str] | None, progress: Any = track) -> tuple[Any, ...]:
        return rebuild(backend), *refresh(chosen)

    def pick(source: str | None) -> str:
        return show_document(backend, source)

    def jump(target: str) -> tuple[Any, Any, str]:
        source, at = parse_jump(target)
        return gr.Tabs(selected="documents"), gr.update(value=source), show_document(backend, source, at)

    with gr.Blocks(title=corpus_title(documents), analytics_enabled=False, fill_height=True) as app:
        header = gr.HTML(render_header(documents))
        memory = gr.State({})
        # The picker's choice as session state: the chat reads it from here, so /chat API callers
        # (who send only a message) need not send it.
        chosen = gr.State([])
        # Outside the tabs, so it is in the page whichever tab shows: "Show in document" links write here.
        target = gr.Textbox(visible="hidden", elem_id="nw-jump")
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"):
                # The documents the next questions are about; empty means all of them (the question
                # may still name one). Shown only when more than one document is indexed.
                focus = gr.Dropdown(
                    focus_choices(documents),
                    value=[],
                    multiselect=True,
                    label="Ask about (all documents unless you pick some)",
                    # "hidden", not False: a component left out of the page is left out of the chat's
                    # API inputs too, and API clients of /chat would send one value too few.
                    visible=True if len(documents) > 1 else "hidden",
                    elem_id="nw-focus",
                )
                gr.ChatInterface(
                    chat,
                    chatbot=gr.Chatbot(
                        label="Answers with their sources",
                        # The label floats over the top of the chat and hid the start of a long
                        # answer once it scrolled; it stays as the chat's accessible name.
                        show_label=False,
                        height="65vh",
                        latex_delimiters=[],
                        buttons=["copy"],
                        feedback_options=None,
                        allow_tags=False,
                        sanitize_html=True,
                        placeholder="Ask a question about the "
                        + ("article." if len(documents) == 1 else "articles."),
                    ),
                    textbox=question_box(
                        placeholder="Ask a question…",
                        submit_btn=True,
                        stop_btn=True,
                        show_label=False,
                        max_lines=4,
                        elem_id="nw-question",
                    ),
                    additional_inputs=[memory, chosen],
                    additional_outputs=[memory],
                    examples=[[q, None, []] for q in example_questions(documents)],
                    cache_examples=False,
                    api_name="chat",
                    api_visibility="undocumented",
                    concurrency_limit=CHAT_CONCURRENCY,
                    analytics_enabled=False,
                    fill_height=True,
                )
            with gr.Tab("Documents", id="documents") as documents_tab:
                table = gr.HTML(render_documents(documents), elem_id="nw-documents")
                with gr.Row():
                    file = gr.File(
                        label="Add a document (.txt, .md, .html, .mhtml, .pdf or .docx, up to "
                        f"{backend.settings.max_upload_mb:g} MB)",
                        file_types=list(UPLOAD_SUFFIXES),
                        type="filepath",
                        file_count="single",
                        scale=3,
                    )
                    button = gr.Button("Rebuild index from seeds/", scale=1)
                status = gr.HTML(elem_id="nw-status")
                picker = gr.Dropdown(
                    document_choices(documents),
                    value=None,
                    label="Show a document as it was read",
                    elem_id="nw-doc-pick",
                )
                view = gr.HTML(elem_id="nw-doc-view")
        private: dict[str, Any] = {"api_visibility": "private"}
        focus.change(lambda value: list(value or ()), focus, chosen, **private)
        shown = [header, table, picker, focus]
        file.upload(upload, [file, focus], [status, *shown, file], concurrency_limit=1, **private)
        button.click(rebuild_now, focus, [status, *shown], concurrency_limit=1, **private)
        app.load(refresh, focus, shown, **private)
        documents_tab.select(refresh, focus, shown, **private)
        picker.input(pick, picker, view, **private)
        target.change(jump, target, [tabs, picker, view], **private).then(
            None,
            None,
            None,
            js="() => setTimeout(() => document.getElementById('nw-at')"
            "?.scrollIntoView({block: 'center'}), 50)",
            **private,
        )
        for tool in api_tools(backend):
            # Off the queue: Gradio then runs an MCP tool call in-process instead of through its HTTP
            # loopback client, whose event stream failed about 1 call in 1,000 under mixed load with
            # an empty CancelledError (#34). The chat keeps the queue (its progress and streaming).
            gr.api(tool, api_name=tool.__name__, queue=False)
    return app


def launch_options(settings: Settings | None = None) -> dict[str, Any]:
    """The keyword arguments for ``create_app(settings).launch(...)``: host, port, theme, limits, MCP."""
    from starlette.middleware import Middleware

    settings = settings or Settings()
    return {
        "server_name": settings.host,
        "server_port": settings.port or free_port(settings.host),
        "share": False,
        "theme": theme(),
        "css": CSS,
        "js": JS,
        "max_file_size": int(settings.max_upload_mb * 2**20),
        "footer_links": ["api", "settings"],
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": settings.mcp,
        "inbrowser": False,
        "app_kwargs": {"middleware": [Middleware(CleanSurrogates)]},
    }


def launch(settings: Settings | None = None) -> None:
    """Serve the chat on settings.host:settings.port until interrupted; index the seeds first if needed.

    Raises PortInUseError when the port is taken, AssistantError when MCP is asked for but missing.
    """
    offline()
    settings = settings or Settings()
    if settings.port:
        check_port(settings.host, settings.port)
    if settings.mcp:
        try:
            import mcp  # noqa: F401 - checked here so the message names the fix
        except ImportError:
            raise AssistantError(
                "The MCP server needs the `mcp` package: pip install 'mcp>=1.21,<2' (or unset ASSISTANT_MCP)."
            ) from None
    backend = make_backend(settings)
    if not list_documents(backend)[0]:
        print(f"No index yet: indexing {settings.seeds_dir}/ ...", flush=True)
        try:  # a terminal gets the progress bar; a failure is shown and the Documents tab can fix it
            report = backend.build(True, True)
            print(f"Indexed {report.chunks} passages from {report.added} document(s).", flush=True)
        except AssistantError as exc:
            print(f"Error: {exc}", flush=True)
    threading.Thread(target=_warm_up, args=(backend,), daemon=True).start()
    app = create_app(settings, backend).queue(default_concurrency_limit=CHAT_CONCURRENCY)
    try:
        app.launch(**launch_options(settings))
    except OSError as exc:  # the port was taken between the check and the launch
        if settings.port and "port" in str(exc).lower():
            raise PortInUseError(settings.port) from None
        raise


def _warm_up(backend: Backend) -> None:
    """Load the model before the first visitor asks (errors show up again when they do)."""
    try:
        backend.answer("What is this about?", [])
    except Exception:
        log.debug("Warm-up answer failed", exc_info=True)
