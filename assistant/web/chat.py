"""The chat function behind the Chat tab, and the conversation it remembers as data.

Gradio's chat history holds what was shown (rendered HTML). What the answerer needs for a follow-up
is the plain answer text, so each session keeps a small map from every message it showed to the
answer's text (a ``gr.State``). The history's order still comes from Gradio, so clearing, undoing
or retrying turns just works; a message the map does not know (an error) is left out with its
question. Nothing is parsed back out of HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from assistant.errors import AssistantError
from assistant.web.api import Backend
from assistant.web.render import render_answer, render_error

log = logging.getLogger(__name__)

#: Per session: rendered assistant message -> the plain answer text it showed.
Memory = dict[str, str]


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
            turns.append({"role": "user", "content": content.strip()})
        elif content in memory:
            turns.append({"role": "assistant", "content": memory[content]})
        elif turns and turns[-1]["role"] == "user":
            turns.pop()
    return [t for t in turns if t["content"]]


def respond(
    message: Any, history: list[dict[str, Any]], memory: Memory | None, backend: Backend
) -> Iterator[tuple[str, Memory]]:
    """Yield the chat message as soon as the answer exists (an LLM's answer as its sentences arrive).

    Yields (message, memory): the memory keeps only the messages still in the history, plus this one.
    """
    import gradio as gr

    question = message if isinstance(message, str) else message_text(message)
    memory = memory or {}
    shown = {message_text(m.get("content")) for m in history or ()}
    kept = {k: v for k, v in memory.items() if k in shown}
    try:
        result = None
        for partial in backend.stream(question, plain_history(history, memory)):
            if result is not None:  # an earlier, shorter version of the answer: show it meanwhile
                yield render_answer(result, final=False), kept
            result = partial
        if result is None:
            return
        rendered = render_answer(result)
    except AssistantError as exc:
        yield render_error(str(exc)), kept
        return
    except Exception as exc:
        log.exception("Answering %r failed", question)
        raise gr.Error("Something went wrong while answering; the server log has the details.") from exc
    yield rendered, kept | {rendered: result.text}
