"""A tiny OpenAI-compatible chat server for tests: stdlib http.server in a thread on 127.0.0.1.

It implements ``POST /v1/chat/completions`` (plain JSON and, with ``"stream": true``, server-sent
events) and records every request body, so tests exercise the real langchain-openai client.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: The default reply: a sentence supported by passage [1] of the tests' passages.
CANNED_REPLY = "South Korea is buying 136 PAC-3 missiles for $1.405 billion [1]."

Reply = Callable[[dict[str, Any]], str]


class OpenAIStub:
    """Serve canned chat completions; use as a context manager (``with OpenAIStub() as stub``).

    ``reply`` is a string or a function of the request body returning the assistant's text;
    ``delay`` makes every response wait that many seconds first (for timeout tests).
    """

    def __init__(self, reply: str | Reply = CANNED_REPLY, delay: float = 0.0) -> None:
        self.reply: Reply = reply if callable(reply) else (lambda _body, text=reply: text)
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The base URL to give the client, ending in /v1."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> OpenAIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # wakes handlers sleeping in `delay`
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, "application/json", b'{"error": {"message": "not found"}}')
                    return
                stub.requests.append(body)
                if stub.delay and stub._stop.wait(stub.delay):
                    return  # the test is over; the client has long given up
                text = stub.reply(body)
                try:
                    if body.get("stream"):
                        self._stream(body, text)
                    else:
                        self._send(200, "application/json", json.dumps(_completion(body, text)).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, body: dict[str, Any], text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                words = text.split(" ")
                pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
                for delta in [{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces]:
                    self._event(_chunk(body, delta, None))
                self._event(_chunk(body, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    """A non-streaming chat.completion object."""
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()), "total_tokens": 20},
    }


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    """One chat.completion.chunk event."""
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
