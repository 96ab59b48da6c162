"""The chat function behind the Chat tab, and the conversation it remembers as data.

Gradio's chat history holds what was shown (rendered HTML). What the answerer needs for a follow-up
is the plain answer text, so each session keeps a small map from every message it showed to the
answer's text (a ``gr.State``). The history's order still comes from Gradio, so clearing, undoing
or retrying turns just works; a message the map does not know (an error) is left out with its
question. Nothing is parsed back out of HTML.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from assistant.errors import AssistantError
from assistant.web.api import Backend
from assistant.web.guards import for_client
from assistant.web.render import render_answer, render_error

log = logging.getLogger(__name__)

#: Per session: rendered assistant message -> the plain answer text it showed.
Memory = dict[str, str]

# Every character Markdown or HTML would read as markup. The chat renders messages as Markdown with
# sanitised HTML, so a question such as '<img src="http://…">' would show as an image (and fetch it):
# the question box writes these as numeric character references before the chat shows the question
# (Markdown shows a reference as its character and never reads it as markup; a backslash escape would
# be kept literally inside a URL; ":", "." and "@" are written so too, so no text turns into a link),
# and they are read back before the question is answered.
_MARKUP = re.compile(r"[&<>`*_\[\]()!#|~\\:.@]")


def as_text(question: str) -> str:
    """``question`` escaped so the chat shows it as the literal text typed, never as markup."""
    return _MARKUP.sub(lambda m: f"&#{ord(m.group())};", question)


def from_text(shown: str) -> str:
    """The question as typed, from what :func:`as_text` made of it (exactly: ``&`` is escaped too)."""
    return html.unescape(shown)


def question_box(**options: Any) -> Any:
    """The chat's question box: a Textbox whose value reaches the chat (and its history) escaped."""
    import gradio as gr

    box = gr.Textbox(**options)
    plain = box.preprocess

    # An instance attribute, not a subclass: Gradio writes a .pyi stub beside any module that
    # subclasses one of its components.
    def preprocess(payload: str | None) -> str | None:
        text = plain(payload)
        return as_text(text) if isinstance(text, str) else text

    box.preprocess = preprocess
    return box


def message_text(content: Any) -> str:
    """A Gradio message's text, whether it is a string, a text part or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, list | tuple):
        return "\n".join(filter(None, (message_text(part) for part in content)))
    return ""


def plain_history(history: Sequence[dict[str, Any]] | None, memory: Memory | None) -> list[dict[str, str]]:
    """Gradio's chat history as answer() wants it: questions, and the answers' plain text from memory.

    A turn whose reply is not in memory (an error message) is dropped together with its question.
    """
    memory = memory or {}
    turns: list[dict[str, str]] = []
    for message in history or ():
        role = message.get("role")
        if message.get("metadata") or role not in ("user", "assistant"):
            continue
        content = message_text(message.get("content"))
        if role == "user":
            turns.append({"role": "user", "content": from_text(content).strip()})
        elif content in memory:
            turns.append({"role": "assistant", "content": memory[content]})
        elif turns and turns[-1]["role"] == "user":
            turns.pop()
    return [t for t in turns if t["content"]]


def respond(
    message: Any,
    history: list[dict[str, Any]],
    memory: Memory | None,
    backend: Backend,
    documents: Sequence[str] | None = None,
    titles: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, Memory]]:
    """Yield the chat message as soon as the answer exists (an LLM's answer as its sentences arrive).

    ``documents`` is the picker's choice (empty or None: every document); ``titles`` (each indexed
    document's title by file name, given when several are indexed) makes each answer name the
    documents it used. Yields (message, memory): the memory keeps only the messages still in the
    history, plus this one.
    """
    import gradio as gr

    question = from_text(message if isinstance(message, str) else message_text(message))
    memory = memory or {}
    shown = {message_text(m.get("content")) for m in history or ()}
    kept = {k: v for k, v in memory.items() if k in shown}
    try:
        result = None
        chosen = [d for d in documents or () if isinstance(d, str)] or None
        for partial in backend.stream(question, plain_history(history, memory), chosen):
            if result is not None:  # an earlier, shorter version of the answer: show it meanwhile
                yield render_answer(result, final=False, titles=titles), kept
            result = partial
        if result is None:
            return
        rendered = render_answer(result, titles=titles)
    except AssistantError as exc:
        log.warning("Answering %r failed: %s", question, exc)
        yield render_error(for_client(exc)), kept
        return
    except Exception as exc:
        log.exception("Answering %r failed", question)
        raise gr.Error("Something went wrong while answering; the server log has the details.") from exc
    yield rendered, kept | {rendered: result.text}
