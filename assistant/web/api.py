"""The web app's programmatic face: the one place the core is reached, and the typed API/MCP tools.

:func:`make_backend` is the only place the web layer obtains the core's functions (answer, search,
documents, build); it binds one ``Assistant`` (model, index and chat model built once).
:func:`api_tools` makes the three endpoints Gradio serves over its HTTP API and, with
``mcp_server=True``, as MCP tools: ``ask``, ``search`` and ``list_documents``. Their names, type
hints and docstrings ARE the tool schema an agent sees, so they are written for an agent.

One error contract: a bad request raises ``gr.Error`` carrying the library's message, so a
``gradio_client`` caller gets an exception with that text and an MCP caller a tool error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, get_type_hints

from assistant.errors import AssistantError, BadQuestionError
from assistant.settings import Settings
from assistant.web.guards import for_client

log = logging.getLogger(__name__)

#: Longest passage list a search tool call returns.
MAX_SEARCH_K = 20


@dataclass(frozen=True)
class Backend:
    """The core as the web layer uses it: plain callables, so one line swaps their provider."""

    #: (question, history, documents) -> Answer; raises AssistantError for a bad question or a broken
    #: index. ``documents`` narrows the question to those documents (None: the question decides).
    answer: Callable[[str, list[dict[str, str]], Sequence[str] | None], Any]
    #: (question, history, documents) -> the answer as it grows (each item an Answer; the last is final).
    stream: Callable[[str, list[dict[str, str]], Sequence[str] | None], Iterator[Any]]
    #: (query, k) -> the k best passages (PassageHit records).
    search: Callable[[str, int], list[Any]]
    #: () -> the indexed documents (IndexedDocument records).
    documents: Callable[[], Sequence[Any]]
    #: (progress, wait) -> IndexReport; progress True shows a tqdm bar (Gradio can track it), wait waits
    #: for another process's build instead of failing with IndexBusyError.
    build: Callable[[bool | None, bool], Any]
    settings: Settings


def make_backend(settings: Settings) -> Backend:
    """One :class:`~assistant.Assistant` for ``settings``, its methods bound for the web layer."""
    from assistant import Assistant
    from assistant.indexing.child import build_in_child

    bot = Assistant(settings)

    def stream(
        question: str, history: list[dict[str, str]], documents: Sequence[str] | None
    ) -> Iterator[Any]:
        # The answerers return whole answers; an answerer that yields its validated sentences as
        # they come plugs in here, and the chat shows each as it arrives.
        yield bot.answer(question, history, documents)

    def build(progress: bool | None, wait: bool) -> Any:
        # In a child process with a time limit: a build's native memory goes with it, and one stuck in
        # C code can be stopped (indexing/child.py).
        report = build_in_child(settings, progress=progress, wait=wait)
        if report.moved_aside:
            bot.store.reopen()
        return report

    return Backend(
        answer=bot.answer,
        stream=stream,
        search=bot.search,
        documents=bot.documents,
        build=build,
        settings=settings,
    )


# --- the typed shapes an API or MCP client receives --------------------------------------------------


class CitationData(TypedDict):
    """One cited sentence: ``quote == text[start:end]`` of the source file as read (seeds.text_as_read)."""

    number: int
    title: str
    source: str
    quote: str
    start: int
    end: int
    date: str | None
    answer_start: int | None
    answer_end: int | None


class AnswerData(TypedDict):
    """An answer whose sentences carry markers [n] pointing at ``citations``."""

    text: str
    short_answer: str | None
    abstained: bool
    confidence: float | None
    uncertain: bool
    citations: list[CitationData]
    related: list[CitationData]
    notice: str | None
    focus: list[str]


class PassageData(TypedDict):
    """A retrieved passage; ``text`` is its sentences as in the source, joined by single spaces."""

    source: str
    title: str
    date: str | None
    text: str
    start: int
    end: int
    score: float


class DocumentData(TypedDict):
    """An indexed document."""

    source: str
    title: str
    date: str | None
    author: str | None
    site: str | None
    passages: int


def citation_data(c: Any) -> CitationData:
    """A Citation as plain JSON-ready data."""
    return CitationData(
        number=c.number,
        title=c.title,
        source=c.source,
        quote=c.quote,
        start=c.start,
        end=c.end,
        date=c.date,
        answer_start=c.answer_start,
        answer_end=c.answer_end,
    )


def answer_data(result: Any) -> AnswerData:
    """An Answer as plain JSON-ready data (the ``ask`` tool's result)."""
    return AnswerData(
        text=result.text,
        short_answer=result.short_answer,
        abstained=bool(result.abstained),
        confidence=result.confidence,
        uncertain=bool(result.uncertain),
        citations=[citation_data(c) for c in result.citations],
        related=[citation_data(c) for c in result.related],
        notice=result.notice,
        focus=list(result.focus),
    )


def passage_data(hit: Any) -> PassageData:
    """A PassageHit as plain data; ``start``/``end`` span its first to last sentence in the source."""
    return PassageData(
        source=hit.source,
        title=hit.title,
        date=hit.date,
        text=hit.text,
        start=hit.sentences[0].source_start if hit.sentences else 0,
        end=hit.sentences[-1].source_end if hit.sentences else 0,
        score=round(float(hit.score), 4),
    )


def document_data(doc: Any) -> DocumentData:
    """An IndexedDocument as plain data."""
    return DocumentData(
        source=doc.source,
        title=doc.title,
        date=doc.date,
        author=doc.author,
        site=doc.site,
        passages=int(doc.passages),
    )


def failing_as_gradio_error(what: str, call: Callable[[], Any]) -> Any:
    """Run ``call``; an AssistantError becomes a gr.Error with its message, anything else a generic one."""
    import gradio as gr

    try:
        return call()
    except AssistantError as exc:
        log.warning("%s failed: %s", what, exc)  # the full message, paths and all, for the server's log
        raise gr.Error(for_client(exc), print_exception=False) from exc
    except gr.Error:
        raise
    except Exception as exc:
        log.exception("%s failed", what)
        raise gr.Error(f"{what} failed unexpectedly; the server log has the details.") from exc


def checked_k(k: Any) -> int:
    """``k`` as the API schema says it is: a whole number from 1 to MAX_SEARCH_K (not a bool, a float
    or a string of digits); anything else is a BadQuestionError with the library's message."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_SEARCH_K:
        raise BadQuestionError(f"k must be a whole number from 1 to {MAX_SEARCH_K}, not {k!r}.")
    return k


def checked_history(history: Any) -> list[Any]:
    """``history`` as the API schema says it is: absent, or a list of {"role", "content"} turns."""
    if history is None:
        return []
    if not isinstance(history, list) or not all(isinstance(turn, dict) for turn in history):
        raise BadQuestionError(
            'history must be a list of {"role": "user"|"assistant", "content": text} turns, oldest first, '
            f"not {type(history).__name__}."
        )
    return history


def checked_documents(documents: Any) -> list[str] | None:
    """``documents`` as the API schema says it is: absent, or a list of document names."""
    if documents is None:
        return None
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise BadQuestionError(
            "documents must be a list of document names (file names or titles from list_documents), "
            f"not {type(documents).__name__}."
        )
    return documents


def api_tools(backend: Backend) -> list[Callable[..., Any]]:
    """The endpoints ``/ask``, ``/search`` and ``/list_documents`` (also the MCP tools of those names)."""

    def ask(
        question: str, history: list[dict[str, str]] | None = None, documents: list[str] | None = None
    ) -> AnswerData:
        """Answer a question about the indexed news articles with exact, checkable quotes.

        Each sentence of `text` ends with markers like [1] that point at `citations`; every citation's
        `quote` is the exact text at characters `start`..`end` of the file `source`. `short_answer` is
        the answer phrase itself (e.g. "$1.405 billion") when one was found. When the articles do not
        answer, `abstained` is true, `text` says so, and `related` lists the closest passages (related
        reading, not evidence). `confidence` is the calibrated chance that the quotes hold the answer;
        under 0.5 (ASSISTANT_UNCERTAIN_BELOW) `uncertain` is true, `text` opens with a line saying the
        articles may not answer, and `short_answer` is null. An empty or overlong question is an error
        with a message saying why.
        Pass `history` for a follow-up such as "How much are they worth?" (it is answered from the
        documents the previous answer quoted first). With several documents indexed, a question that
        names one ("the Reuters story") is answered from it; pass `documents` to choose them yourself.
        `focus` lists the documents the question was narrowed to (empty: all of them).

        Args:
            question: The question, in plain language (e.g. "How much is the missile deal worth?").
            history: Optional earlier turns, oldest first, as {"role": "user"|"assistant", "content": text}.
            documents: Optional file names (or titles) from list_documents to answer from; default all.

        Returns:
            text with [n] markers, short_answer, abstained, confidence, uncertain, citations, related,
            notice, focus.
        """
        return failing_as_gradio_error(
            "Answering",
            lambda: answer_data(
                backend.answer(question, checked_history(history), checked_documents(documents))
            ),
        )

    def search(query: str, k: int = 5) -> list[PassageData]:
        """Find the passages of the indexed news articles that best match a query (meaning and keywords).

        Use it to read around a topic or to check context; use `ask` for a cited answer. Each passage
        gives its document (`source`, `title`, `date`), its text, and where it stands in the file.

        Args:
            query: What to look for, in words (a question or keywords).
            k: How many passages to return, 1 to 20 (default 5).

        Returns:
            The best passages first, each with source, title, date, text, start, end and score.
        """
        return failing_as_gradio_error(
            "Searching", lambda: [passage_data(h) for h in backend.search(query, checked_k(k))]
        )

    def list_documents() -> list[DocumentData]:
        """List the news articles the assistant can answer from.

        Returns:
            One entry per indexed document: source (file name), title, date, author, site (the outlet it
            names, e.g. "Reuters") and number of passages.
        """
        return failing_as_gradio_error(
            "Listing the documents", lambda: [document_data(d) for d in backend.documents()]
        )

    tools = [ask, search, list_documents]
    for tool in tools:  # real types, not the strings of `from __future__ import annotations`
        tool.__annotations__ = get_type_hints(tool)
    return tools
