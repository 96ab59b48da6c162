"""The app as an MCP server and over Gradio's API: real app, real index, official clients.

The MCP test speaks streamable HTTP with the official `mcp` Python client to the app launched with
``mcp=True`` on a free 127.0.0.1 port; the API tests use `gradio_client`. Both check the one error
contract: a bad question fails with the library's own message.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import SEED, TITLE, serve

EMPTY_MESSAGE = "The question is empty"


@pytest.fixture(scope="module")
def mcp_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("mcp"), {SEED.name: SEED.read_text(encoding="utf-8")}, mcp=True) as (
        url,
        _,
    ):
        yield url


async def _mcp_session(url: str) -> dict:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    out: dict = {}
    async with (
        streamable_http_client(url + "gradio_api/mcp/") as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        out["tools"] = {t.name: t for t in (await session.list_tools()).tools}
        out["ask"] = await session.call_tool("ask", {"question": "How much is the missile deal worth?"})
        out["follow_up"] = await session.call_tool(
            "ask",
            {
                "question": "How much are they worth?",
                "history": [{"role": "user", "content": "How many missiles were approved?"}],
            },
        )
        out["bad"] = await session.call_tool("ask", {"question": "   "})
        out["chosen"] = await session.call_tool(
            "ask", {"question": "When was it published?", "documents": [SEED.name]}
        )
        out["unknown"] = await session.call_tool("ask", {"question": "Who?", "documents": ["Daily Bugle"]})
        out["search"] = await session.call_tool("search", {"query": "PAC-3 missiles", "k": 2})
        out["documents"] = await session.call_tool("list_documents", {})
    return out


def _json(result: object) -> object:
    """A tool's result: Gradio's MCP server sends a tool's return value as its Python literal text."""
    assert not result.isError, result.content
    return ast.literal_eval(result.content[0].text)


def test_mcp_tools_answer_with_checkable_quotes_and_fail_cleanly(mcp_app: str) -> None:
    out = asyncio.run(_mcp_session(mcp_app))
    tools = out["tools"]
    assert set(tools) == {"ask", "search", "list_documents"}  # UI events stay out of the API
    ask = tools["ask"]
    assert "exact" in ask.description and "citations" in ask.description
    assert ask.inputSchema["required"] == ["question"]
    assert set(ask.inputSchema["properties"]) == {"question", "history", "documents"}
    assert "list_documents" in ask.inputSchema["properties"]["documents"]["description"]
    assert ask.inputSchema["properties"]["question"]["description"]
    assert tools["search"].inputSchema["properties"]["k"]["type"] == "integer"

    source = SEED.read_text(encoding="utf-8")
    for key in ("ask", "follow_up"):
        data = _json(out[key])
        assert not data["abstained"] and data["citations"], data
        assert "$1.405 billion" in data["text"]
        for c in data["citations"]:
            assert source[c["start"] : c["end"]] == c["quote"]
            assert c["title"] == TITLE and c["source"] == SEED.name
            assert f"[{c['number']}]" in data["text"]
        assert set(data) >= {"text", "short_answer", "abstained", "confidence", "citations"}

    bad = out["bad"]
    assert bad.isError
    assert EMPTY_MESSAGE in bad.content[0].text
    chosen = _json(out["chosen"])
    assert chosen["focus"] == [SEED.name] and "2020" in chosen["text"]
    assert (
        out["unknown"].isError
        and "No indexed document is called 'Daily Bugle'" in out["unknown"].content[0].text
    )

    passages = _json(out["search"])
    assert 1 <= len(passages) <= 2 and any("PAC-3" in p["text"] for p in passages)
    documents = _json(out["documents"])
    assert [(d["source"], d["title"]) for d in documents] == [(SEED.name, TITLE)]
    assert set(documents[0]) == {"source", "title", "date", "author", "site", "passages"}
    assert documents[0]["passages"] > 0 and "2020" in documents[0]["date"]


def test_api_endpoints_share_one_error_contract(mcp_app: str) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(mcp_app, verbose=False)
    assert set(client.view_api(return_format="dict")["named_endpoints"]) == {
        "/ask",
        "/search",
        "/list_documents",
    }
    data = client.predict("How many missiles were approved?", None, api_name="/ask")
    source = SEED.read_text(encoding="utf-8")
    assert data["citations"] and all(source[c["start"] : c["end"]] == c["quote"] for c in data["citations"])
    for endpoint, args in (("/ask", ("   ", None)), ("/search", ("   ", 3)), ("/ask", ("x" * 5000, None))):
        with pytest.raises(AppError) as caught:
            client.predict(*args, api_name=endpoint)
        assert "question" in str(caught.value)
    with pytest.raises(AppError, match="k must be a whole number from 1 to 20"):
        client.predict("missiles", 0, api_name="/search")
    with pytest.raises(AppError, match="The question is empty"):
        client.predict("   ", None, api_name="/ask")
    # The chat endpoint is callable (one conversation per client) but not documented or a tool.
    reply = client.predict("How many missiles were approved?", api_name="/chat")
    assert "136" in reply and '<div class="nw-sources" data-citations=' in reply


def test_mcp_needs_the_package_only_when_asked(tmp_path: Path) -> None:
    from assistant.settings import Settings
    from assistant.web.app import launch_options

    assert launch_options(Settings(port=0))["mcp_server"] is False
    assert launch_options(Settings(port=0, mcp=True))["mcp_server"] is True


def test_bad_arguments_over_the_api_get_the_library_message(mcp_app: str) -> None:
    """#25: k and history are checked as the MCP schema says, with the library's own message."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(mcp_app, verbose=False)
    for k in ("abc", None, [3], 2.5, True, "3", 21):  # (NaN: gradio_client itself refuses to send it)
        with pytest.raises(AppError, match="k must be a whole number from 1 to 20") as caught:
            client.predict("missiles", k, api_name="/search")
        assert "upstream" not in str(caught.value)
    for history in (7, "How many?", [1, 2]):
        with pytest.raises(AppError, match="history must be a list of"):
            client.predict("How many missiles were approved?", history, None, api_name="/ask")
    for documents in (7, SEED.name, [1]):
        with pytest.raises(AppError, match="documents must be a list of document names"):
            client.predict("How many missiles were approved?", None, documents, api_name="/ask")
    # A lone surrogate in the history is cleaned like one in a question (a tokenizer TypeError before).
    # gradio_client cannot encode one, so the call goes as raw JSON with the escape in it.
    turns = [{"role": "user", "content": "How many missiles \ud800 were approved?"}]
    data = _gradio_raw(mcp_app, "ask", ["How much are they worth?", turns, None])
    assert not data["abstained"] and "1.405" in data["text"]


def _gradio_raw(url: str, api_name: str, args: list) -> dict:
    """Call a Gradio API endpoint with raw HTTP (POST the call, read its result event)."""
    import json

    import httpx

    body = json.dumps({"data": args}, ensure_ascii=True).encode("ascii")
    with httpx.Client(timeout=120) as client:
        posted = client.post(
            f"{url}gradio_api/call/{api_name}", content=body, headers={"Content-Type": "application/json"}
        )
        event = posted.json()["event_id"]
        stream = client.get(f"{url}gradio_api/call/{api_name}/{event}").text
    lines = stream.splitlines()
    kinds = [ln[6:].strip() for ln in lines if ln.startswith("event:")]
    datas = [ln[5:].strip() for ln in lines if ln.startswith("data:")]
    assert kinds and kinds[-1] == "complete", stream
    return json.loads(datas[-1])[0]


def _mcp_raw(url: str, calls: list[dict]) -> list[dict]:
    """JSON-RPC over streamable HTTP by hand, so a lone surrogate can travel as its JSON escape
    ("\\ud800"); the official client cannot encode one."""
    import json

    import httpx

    endpoint = url + "gradio_api/mcp/"
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

    def post(client: httpx.Client, message: dict) -> httpx.Response:
        body = json.dumps(message, ensure_ascii=True).encode("ascii")  # surrogates as \\udxxx escapes
        return client.post(endpoint, content=body, headers=headers, timeout=120)

    def result(reply: httpx.Response) -> dict:
        lines = [ln[5:].strip() for ln in reply.text.splitlines() if ln.startswith("data:")] or [reply.text]
        return json.loads(lines[-1])

    with httpx.Client() as client:
        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        }
        reply = post(client, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
        if session := reply.headers.get("mcp-session-id"):
            headers["mcp-session-id"] = session
        post(client, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        return [
            result(post(client, {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": call}))
            for n, call in enumerate(calls, start=1)
        ]


def test_surrogates_over_mcp_are_cleaned_not_a_codec_error(mcp_app: str) -> None:
    turns = [{"role": "user", "content": "How many missiles \ud800 were approved?"}]
    question, follow_up = _mcp_raw(
        mcp_app,
        [
            {"name": "ask", "arguments": {"question": "How many \udfff missiles were approved?"}},
            {"name": "ask", "arguments": {"question": "How much are they worth?", "history": turns}},
        ],
    )
    for reply, expected in ((question, "136"), (follow_up, "1.405")):
        assert "error" not in reply and not reply["result"].get("isError"), reply
        text = reply["result"]["content"][0]["text"]
        assert "codec" not in text and expected in ast.literal_eval(text)["text"]


def test_an_undecodable_mcp_body_is_one_log_line_not_a_traceback(mcp_app: str) -> None:
    import logging

    import httpx

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    transport = logging.getLogger("mcp.server.streamable_http")
    transport.addHandler(handler)
    try:
        reply = httpx.post(
            mcp_app + "gradio_api/mcp/",
            content=b'{"jsonrpc": "2.0", "method": "\xc3\x28"}',  # not UTF-8
            headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
            timeout=30,
        )
    finally:
        transport.removeHandler(handler)
    assert reply.status_code >= 400 and "Traceback" not in reply.text
    assert records and all(r.exc_info is None for r in records)
    assert any("not valid UTF-8 JSON" in r.getMessage() for r in records)
