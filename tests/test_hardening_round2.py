"""Hardening, round 2 (#25), core side: each finding reproduced on a real input made here.

1 one hostile MHTML must not stop every build; 2 the bold direct answer never comes from a story
the answer does not lead with (the seed article beside two real BBC articles); 5 a lone surrogate
in the chat history; 7 NUL bytes after the first 8 KB of a .txt. The interface side (Gradio's API,
MCP, the browser) is in test_web_mcp.py and test_web_browser.py.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from conftest import ARTICLE, require_shared

from assistant import Assistant, Settings, answer, build_index
from assistant.ingest.decoding import MAX_MIME_CONTAINERS, mhtml_page

BBC = Path(__file__).resolve().parents[2] / "shared" / "eval" / "bbc-news-928.csv"


def nested_mhtml(depth: int) -> bytes:
    """An MHTML file whose page sits inside ``depth`` nested multipart/related containers."""
    out = [b"From: <Saved by Blink>\r\nSubject: Nested\r\nMIME-Version: 1.0\r\n"]
    for k in range(depth):
        out.append(b'Content-Type: multipart/related; boundary="b%d"\r\n\r\n--b%d\r\n' % (k, k))
    page = (
        b"<html><body><h1>Harbour festival draws record crowd</h1><p>The harbour festival drew a record "
        b"crowd of 40,000 visitors on Saturday, organisers said.</p></body></html>"
    )
    out.append(b"Content-Type: text/html\r\n\r\n" + page + b"\r\n")
    out.extend(b"--b%d--\r\n" % k for k in reversed(range(depth)))
    return b"".join(out)


def test_a_deeply_nested_mhtml_is_skipped_by_name_and_the_build_goes_on(make_settings) -> None:
    settings = make_settings(
        {ARTICLE.name: ARTICLE.read_text(encoding="utf-8"), "nested.mhtml": nested_mhtml(3000)}
    )
    report = build_index(settings)  # raised RecursionError (a 107-line traceback) before
    why = dict(entry.split(": ", 1) for entry in report.skipped)
    assert set(why) == {"nested.mhtml"}
    assert (
        "3000 multipart containers" in why["nested.mhtml"] and str(MAX_MIME_CONTAINERS) in why["nested.mhtml"]
    )
    assert report.added == 1
    assert not answer("How many missiles were approved?", settings=settings).abstained
    # A browser's own save (one or two containers) still reads.
    assert b"record crowd of 40,000" in mhtml_page(nested_mhtml(2))


def test_a_direct_answer_comes_from_the_sentence_the_answer_leads_with(tmp_path: Path) -> None:
    require_shared(BBC)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(ARTICLE, seeds / ARTICLE.name)
    with BBC.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for i in (30, 31):  # the rows the issue names: two unrelated BBC stories
        (seeds / f"bbc-{i}.txt").write_text(rows[i]["text"], encoding="utf-8")
    bot = Assistant(Settings(seeds_dir=seeds, index_dir=tmp_path / "index"))
    bot.build_index()
    for reader in (False, True):
        result = Assistant(Settings(seeds_dir=seeds, index_dir=tmp_path / "index", reader=reader)).answer(
            "How many missiles were approved?"
        )
        if reader and result.abstained:
            continue  # the opt-in reader abstains here (docs/quality.md): then nothing is in bold
        assert result.citations and result.citations[0].source == ARTICLE.name, (reader, result)
        if result.short_answer is not None:
            # The bold answer sits in the sentence the answer leads with (citation 1), in the article.
            holder = [c for c in result.citations if c.answer_start is not None]
            assert len(holder) == 1 and holder[0] is result.citations[0], (reader, result)
            assert result.short_answer in holder[0].quote


def test_a_lone_surrogate_in_the_history_is_cleaned_like_a_question(article_settings: Settings) -> None:
    history = [
        {"role": "user", "content": "How many missiles \ud800 were approved?"},
        {"role": "assistant", "content": "136 PAC-3 missiles \udfff [1]"},
    ]
    result = answer("How much are they worth?", history=history, settings=article_settings)
    assert not result.abstained  # TypeError deep in the tokenizer before
    assert "1.405" in result.text


def test_nul_bytes_after_the_first_8_kb_make_a_binary_file(make_settings) -> None:
    body = ("Plain prose that goes on. " * 400).encode()  # ~10 KB of text, then binary
    settings = make_settings(
        {ARTICLE.name: ARTICLE.read_text(encoding="utf-8"), "late.txt": body + b"\x00\x01\x02" * 50}
    )
    report = build_index(settings)
    assert [e.split(": ", 1)[0] for e in report.skipped] == ["late.txt"]
    assert "binary" in report.skipped[0]
