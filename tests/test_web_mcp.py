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
    assert set(ask.inputSchema["properties"]) == {"question", "history"}
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

    passages = _json(out["search"])
    assert 1 <= len(passages) <= 2 and any("PAC-3" in p["text"] for p in passages)
    documents = _json(out["documents"])
    assert [(d["source"], d["title"]) for d in documents] == [(SEED.name, TITLE)]
    assert set(documents[0]) == {"source", "title", "date", "author", "passages"}
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
    with pytest.raises(AppError, match="k must be between 1 and 20"):
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
