"""HTML for the web chat: answers with their cited passages, the documents table, upload checks.

Pure functions, no Gradio. Everything that comes from a seed document (titles, quotes, passages,
file names) is untrusted: it is HTML-escaped before any tag of ours is put around it, and in the
Markdown part of a chat message its punctuation is backslash-escaped too, so a seed's ``<script>``,
``<img onerror=...>`` or ``[link](javascript:...)`` shows as the text it is.
"""

from __future__ import annotations

import html
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

#: Upload types the Documents tab accepts (the seeds loader reads more; the web keeps to these).
UPLOAD_SUFFIXES = (".txt", ".md", ".html")

#: Where the Markdown answer ends and our HTML evidence block starts in a chat message.
SOURCES_MARK = '<div class="nw-sources"'
ERROR_MARK = '<div class="nw-error"'

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")
_MD_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_MARKER = re.compile(r"\\\[(\d+)\\\]")
_SPACES = re.compile(r"\s+")
_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")

CSS = """
.nw-header h1 {margin: 0.2rem 0 0.1rem; font-size: 1.5rem; text-align: center;}
.nw-header p {margin: 0 0 0.4rem; text-align: center; color: var(--body-text-color); opacity: 0.75;}
.nw-sources {margin-top: 0.75rem; display: flex; flex-direction: column; gap: 0.5rem;}
.nw-cite {border-left: 3px solid var(--color-accent); padding: 0.35rem 0.6rem;
  background: var(--background-fill-secondary); border-radius: 4px;}
.nw-cite-head {font-size: 0.85em; margin-bottom: 0.2rem;}
.nw-cite-head .nw-src {opacity: 0.7;}
.nw-passage {font-size: 0.92em; line-height: 1.45;}
.nw-passage mark {background: #ffe066; color: #1a1a1a; padding: 0 2px; border-radius: 2px;}
.nw-ref {font-weight: 600; color: var(--color-accent);}
.nw-abstain {margin-top: 0.4rem; font-size: 0.85em; opacity: 0.75;}
.nw-notice {margin-top: 0.4rem; font-size: 0.85em; font-style: italic;}
.nw-error {color: var(--error-text-color, #b91c1c);}
.nw-docs table {width: 100%; border-collapse: collapse;}
.nw-docs th, .nw-docs td {text-align: left; padding: 0.3rem 0.5rem;
  border-bottom: 1px solid var(--border-color-primary);}
.nw-docs td.num {text-align: right;}
.nw-docs .src {font-size: 0.85em; opacity: 0.7;}
.nw-reading tr.nw-dropped td {opacity: 0.6;}
"""


class UploadError(ValueError):
    """A file the Documents tab refuses; the message says why, for the user."""


# --- escaping ------------------------------------------------------------------------------------


def escape_html(text: str) -> str:
    """Text for inside our HTML tags: entities for & < > " ' and newlines folded to spaces.

    Folding newlines also keeps our one-line HTML block from being ended by a blank line, after
    which a Markdown renderer would parse the rest as Markdown.
    """
    return html.escape(_SPACES.sub(" ", text), quote=True)


def escape_markdown(text: str) -> str:
    """Text for a Markdown message: every Markdown/HTML-significant character neutralised."""
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=True)


def unescape_markdown(text: str) -> str:
    """The inverse of :func:`escape_markdown`."""
    return _MD_UNESCAPE.sub(r"\1", html.unescape(text))


# --- chat messages -------------------------------------------------------------------------------


def render_text(text: str, numbers: Iterable[int] = ()) -> str:
    """An answer's text as safe Markdown, its citation markers [n] styled."""
    known = {str(n) for n in numbers}
    return _MARKER.sub(
        lambda m: f'<span class="nw-ref">[{m[1]}]</span>' if m[1] in known else m[0], escape_markdown(text)
    )


def render_citation(citation: Any) -> str:
    """One cited passage: number, title, date, and the passage with the quoted words in <mark>."""
    head = f"[{int(citation.number)}] <b>{escape_html(citation.title or citation.source)}</b>"
    if citation.date:
        head += f" · {escape_html(citation.date)}"
    if citation.title and citation.source:
        head += f' · <span class="nw-src">{escape_html(citation.source)}</span>'
    # The core strips the context at the quote's edges; put the word gaps back.
    before, after = _fold(citation.before).rstrip(), _fold(citation.after).lstrip()
    passage = (
        f"{escape_html(before + ' ' if before else '')}<mark>{escape_html(citation.quote.strip())}</mark>"
        f"{escape_html(' ' + after if after else '')}"
    )
    return (
        f'<div class="nw-cite" data-n="{int(citation.number)}"><div class="nw-cite-head">{head}</div>'
        f'<div class="nw-passage">{passage}</div></div>'
    )


def render_answer(result: Any) -> str:
    """A whole chat message: the answer (Markdown), then its evidence as one line of HTML."""
    parts = [render_text(result.text, (c.number for c in result.citations))]
    if result.notice:
        parts.append(f'<div class="nw-notice">{escape_html(result.notice)}</div>')
    if result.abstained:
        parts.append(
            '<div class="nw-abstain" data-kind="abstained">No passage in the documents answers this.</div>'
        )
    if result.citations:
        cites = "".join(render_citation(c) for c in result.citations)
        parts.append(f'{SOURCES_MARK} data-citations="{len(result.citations)}">{cites}</div>')
    return "\n\n".join(parts)


def render_error(message: str) -> str:
    """A user-facing error (bad question, no index) as a chat message."""
    return f'{ERROR_MARK} data-kind="error">⚠️ {escape_html(message)}</div>'


def stream_prefixes(text: str, steps: int = 8) -> Iterator[str]:
    """Growing prefixes of ``text`` cut at word boundaries, at most ``steps`` of them (not the full text)."""
    words = re.findall(r"\S+\s*", text)
    if len(words) < 2:
        return
    size = max(1, -(-len(words) // steps))
    for end in range(size, len(words), size):
        yield "".join(words[:end]).rstrip()


def answer_text(content: Any) -> str:
    """The plain answer text back from a chat message we rendered (for the follow-up history)."""
    text = message_text(content)
    if text.startswith(ERROR_MARK):
        return ""
    for mark in (SOURCES_MARK, '<div class="nw-notice"', '<div class="nw-abstain"'):
        text = text.split(mark, 1)[0]
    text = re.sub(r'<span class="nw-ref">\[(\d+)\]</span>', r"[\1]", text)
    return unescape_markdown(text).strip()


def message_text(content: Any) -> str:
    """A Gradio message's text, whether it is a string, a text part or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, list | tuple):
        return "\n".join(filter(None, (message_text(part) for part in content)))
    return ""


def plain_history(history: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Gradio's chat history as answer() wants it; failed turns (errors) are dropped with their question."""
    turns: list[dict[str, str]] = []
    for message in history or ():
        role = message.get("role")
        if message.get("metadata") or role not in ("user", "assistant"):
            continue
        if role == "user":
            turns.append({"role": "user", "content": message_text(message.get("content")).strip()})
            continue
        text = answer_text(message.get("content"))
        if text:
            turns.append({"role": "assistant", "content": text})
        elif turns and turns[-1]["role"] == "user":
            turns.pop()
    return [t for t in turns if t["content"]]


# --- corpus --------------------------------------------------------------------------------------


def corpus_title(documents: Sequence[Any]) -> str:
    """What the chat is named for: the one document's title, or how many articles there are."""
    if len(documents) == 1:
        return documents[0].title or documents[0].source
    return f"{len(documents)} news articles" if documents else "News assistant"


def example_questions(documents: Sequence[Any]) -> list[str]:
    """Questions that make sense for any news article (nothing about this corpus in particular)."""
    if len(documents) > 1:
        return ["What are these articles about?", "When were they published?", "Who reported them?"]
    return ["What is this article about?", "When was it published?", "Who reported it?"]


def render_header(documents: Sequence[Any]) -> str:
    """The page heading."""
    what = "the article" if len(documents) == 1 else "the articles"
    return (
        f'<div class="nw-header"><h1>{escape_html(corpus_title(documents))}</h1>'
        f"<p>Ask about {what}: every answer quotes its source, with the quoted words highlighted.</p></div>"
    )


def render_documents(documents: Sequence[Any]) -> str:
    """The indexed documents as an HTML table."""
    if not documents:
        return '<div class="nw-docs"><p>Nothing is indexed yet: add a document or rebuild.</p></div>'
    rows = "".join(
        f"<tr><td>{escape_html(d.title)}<div class='src'>{escape_html(d.source)}</div></td>"
        f"<td>{escape_html(d.date or '—')}</td><td>{escape_html(getattr(d, 'author', None) or '—')}</td>"
        f"<td class='num'>{int(d.passages)}</td></tr>"
        for d in documents
    )
    return (
        '<div class="nw-docs"><table><thead><tr><th>Title</th><th>Date</th><th>Author</th>'
        f'<th class="num">Passages</th></tr></thead><tbody>{rows}</tbody></table></div>'
    )


def render_reading(reading: Any) -> str:
    """How a seed was read (``cleaning.Reading``): its metadata, kept paragraphs and dropped blocks."""
    doc = reading.document
    head = "".join(
        f"<tr><th>{name}</th><td>{escape_html(value or '(none found)')}</td></tr>"
        for name, value in (
            ("Title", doc.title),
            ("Date", f"{doc.date} ({doc.date_iso})" if doc.date and doc.date_iso else doc.date),
            ("Author", doc.author),
        )
    )
    rows = []
    for block in reading.blocks:
        text = " ".join(doc.text[block.span[0] : block.span[1]].split())
        verdict = {"body": "kept", "dropped": f"dropped: {block.reason}"}.get(block.kind, block.kind)
        rows.append(
            f'<tr class="nw-{escape_html(block.kind)}"><td>{escape_html(verdict)}</td>'
            f"<td>{escape_html(text[:300] + ('…' if len(text) > 300 else ''))}</td></tr>"
        )
    return (
        f'<div class="nw-docs nw-reading"><table><tbody>{head}</tbody></table>'
        f"<table><thead><tr><th>Verdict</th><th>Paragraph</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table></div>"
    )


def render_report(report: Any, note: str = "") -> str:
    """A build report in one line."""
    text = (
        f"Index updated in {report.seconds:.1f} s: {report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged; {report.chunks} passages."
    )
    if not report.changed:
        text = f"The index is up to date ({report.chunks} passages)."
    skipped = "".join(f"<li>Skipped {escape_html(s)}</li>" for s in report.skipped)
    return f"<p>{escape_html(note)} {escape_html(text)}</p>" + (f"<ul>{skipped}</ul>" if skipped else "")


def render_status(message: str, ok: bool = True) -> str:
    """A one-line message in the Documents tab."""
    return f'<p class="{"" if ok else "nw-error"}">{escape_html(message)}</p>'


# --- uploads -------------------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    """A harmless file name for an upload: no folders, no hidden files, only [A-Za-z0-9._-]."""
    base = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = unicodedata.normalize("NFKD", base).rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    stem = _NAME_BAD.sub("-", stem.encode("ascii", "ignore").decode()).strip("._-")[:80] or "document"
    suffix = _NAME_BAD.sub("", suffix.encode("ascii", "ignore").decode()).lower()
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(name: str, data: bytes, max_bytes: int) -> tuple[str, str]:
    """The safe file name and text of an upload, or :class:`UploadError` saying what is wrong."""
    filename = safe_filename(name)
    if not filename.endswith(UPLOAD_SUFFIXES):
        raise UploadError(f"{name!r} is not a .txt, .md or .html file.")
    if len(data) > max_bytes:
        raise UploadError(f"{name!r} is larger than the {max_bytes / 2**20:g} MB limit.")
    if b"\x00" in data:
        raise UploadError(f"{name!r} is a binary file, not text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(f"{name!r} is not UTF-8 text (bad byte at offset {exc.start}).") from None
    if not text.strip():
        raise UploadError(f"{name!r} is empty.")
    return filename, text


def store_upload(seeds_dir: Path, filename: str, data: bytes) -> Path:
    """Write ``data`` into ``seeds_dir`` under ``filename`` or the first free ``stem-N`` variant.

    The bytes go to a hidden temporary file first (the seeds loader ignores hidden files) and are
    then hard-linked into place, which fails instead of overwriting when the name is taken.
    """
    seeds_dir.mkdir(parents=True, exist_ok=True)
    stem, _, suffix = filename.rpartition(".")
    tmp = seeds_dir / f".upload-{os.getpid()}-{os.urandom(4).hex()}.part"
    tmp.write_bytes(data)
    try:
        for n in range(1, 1000):
            target = seeds_dir / (filename if n == 1 else f"{stem}-{n}.{suffix}")
            if target.resolve().parent != seeds_dir.resolve():
                raise UploadError(f"{filename!r} is not a usable file name.")
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            return target
        raise UploadError(f"Too many files named like {filename!r} already.")
    finally:
        tmp.unlink(missing_ok=True)


def _fold(text: str | None) -> str:
    """Whitespace runs folded to single spaces."""
    return _SPACES.sub(" ", text or "")
