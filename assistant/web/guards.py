"""What reaches the app from clients, made safe before Gradio or the ``mcp`` package reads it.

* **Lone surrogates.** JSON may carry a lone UTF-16 surrogate as an escape (``"\\ud800"``). Python
  decodes it into a string that cannot be encoded as UTF-8 again, and Gradio's MCP bridge re-encodes
  tool arguments before our code sees them, so a tool call failed with Python's raw codec message.
  :class:`CleanSurrogates` blanks such escapes in JSON request bodies (a valid surrogate pair, an
  emoji, is kept), as questions and history turns are cleaned of them anyway.
* **Server details in messages.** An error's full message names server paths and command-line
  advice; a web or MCP client gets :func:`for_client` of it instead (the server log keeps the rest).
* **Undecodable bodies.** The ``mcp`` package logs a request body it cannot decode (invalid UTF-8,
  not JSON) with a full traceback, although the client gets a clean error; :class:`BadBodyOneLine`
  makes that one line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

#: The logger of the MCP server's streamable HTTP transport (mcp/server/streamable_http.py).
MCP_TRANSPORT = "mcp.server.streamable_http"
#: A high surrogate escape not followed by a low one, or a low one not preceded by a high one.
_LONE = re.compile(
    rb"(?<!\\)\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_BLANK = b" " * 6  # the same length as the escape: the request's Content-Length stays true

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class CleanSurrogates:
    """ASGI middleware: blank lone surrogate escapes in the JSON bodies sent to Gradio's API and MCP."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or ())
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or "/gradio_api/" not in scope.get("path", "")
            or b"json" not in headers.get(b"content-type", b"")
        ):
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay(message, receive), send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        cleaned = {"type": "http.request", "body": _LONE.sub(_BLANK, body), "more_body": False}
        await self.app(scope, _replay(cleaned, receive), send)


def _replay(first: MutableMapping[str, Any], receive: Receive) -> Receive:
    sent = False

    async def replay() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay


class BadBodyOneLine(logging.Filter):
    """Turns a logged undecodable request body into one line that says so (no traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, UnicodeDecodeError | json.JSONDecodeError):
            record.msg = "MCP request refused: its body is not valid UTF-8 JSON (%s)"
            record.args = (exc,)
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_bad_mcp_bodies() -> None:
    """Install the filter on the MCP transport's logger (once per process)."""
    logger = logging.getLogger(MCP_TRANSPORT)
    if not any(isinstance(f, BadBodyOneLine) for f in logger.filters):
        logger.addFilter(BadBodyOneLine())


# "(raise ASSISTANT_MAX_SEED_MB to index it)", "; ... or raise ASSISTANT_PARSE_SECONDS": server settings.
# "(`assistant documents` lists them)": command-line advice.
_SETTING_ADVICE = re.compile(
    r"\s*(?:\([^()]*(?:ASSISTANT_[A-Z_]+|`assistant [^`]*`)[^()]*\)"
    r"|[;,]\s*or\s+(?:raise|set)\s+ASSISTANT_[A-Z_]+)"
)
_PATH = re.compile(r"(?<![\w.])/(?:[\w.~-]+/)+[\w.~-]*")


def for_client(error: Exception | str) -> str:
    """What a web or MCP client is told of ``error``: its public message, no server path or setting.

    An AssistantError words its own public message; from any message (an upload's reason, a bad
    question's) server settings, command-line advice and absolute paths are taken out.
    """
    text = str(error) if isinstance(error, str) else str(getattr(error, "public", error))
    return _PATH.sub("(a server folder)", _SETTING_ADVICE.sub("", text))
