"""HTML for the Documents tab and the page heading: the indexed documents, one document in context,
build reports, the pickers' choices. Pure functions, no Gradio; seed text is escaped like everywhere
else (web_render).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from assistant.ingest.cleaning import page_of
from assistant.web.render import escape_html, shown_name

if TYPE_CHECKING:
    from assistant.web.api import Backend

#: Characters of a document shown around a passage when the document is longer than this.
VIEW_CHARS = 60_000


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
        f"<p>Ask about {what}: the answer comes first, then the passages it quotes.</p></div>"
    )


def render_documents(documents: Sequence[Any], problem: str | None = None) -> str:
    """The indexed documents as a table (title, date, author, passages), or why they cannot be listed."""
    if problem:
        error = f'<p class="nw-error" data-kind="error">⚠️ {escape_html(problem)}</p>'
        return f'<div class="nw-docs">{error}</div>'
    if not documents:
        return '<div class="nw-docs"><p>Nothing is indexed yet: add a document or rebuild.</p></div>'
    rows = "".join(
        f"<tr><td>{escape_html(d.title)}<div class='src'>{escape_html(shown_name(d.source))}</div>"
        f"{_flag(d)}</td>"
        f"<td>{escape_html(d.date or '—')}</td><td>{escape_html(getattr(d, 'author', None) or '—')}</td>"
        f"<td class='num'>{int(d.passages)}</td></tr>"
        for d in documents
    )
    return (
        '<div class="nw-docs"><table><thead><tr><th>Title</th><th>Date</th><th>Author</th>'
        f'<th class="num">Passages</th></tr></thead><tbody>{rows}</tbody></table></div>'
    )


def _flag(doc: Any) -> str:
    """A warning for a document that holds sentences addressed to an AI (they were left out)."""
    n = int(getattr(doc, "instructions", 0) or 0)
    if not n:
        return ""
    what = "a sentence" if n == 1 else f"{n} sentences"
    return (
        f"<div class='nw-flag' data-kind='instructions'>⚠️ holds {what} addressed to an AI "
        "(left out: never quoted or given to a model)</div>"
    )


def reading_spans(doc: Any) -> list[tuple[int, int, str]]:
    """How the document was read: (start, end, kind) spans covering its whole text; kind is title, date,
    author, kept, left-out (text the cleaner did not index: page furniture, repeated headlines) or gap
    (white space between them)."""
    marked = [(s, e, "kept") for s, e in doc.body]
    for kind in ("title", "date", "author"):
        span = getattr(doc, f"{kind}_span", None)
        if span:
            marked.append((span[0], span[1], kind))
    marked.sort()
    spans, at = [], 0
    for s, e, kind in marked:
        if s < at:
            continue
        if at < s:
            spans.append((at, s, "left-out" if doc.text[at:s].strip() else "gap"))
        spans.append((s, e, kind))
        at = e
    if at < len(doc.text):
        spans.append((at, len(doc.text), "left-out" if doc.text[at:].strip() else "gap"))
    return spans


def render_document_view(reading: Any, at: tuple[int, int] | None = None) -> str:
    """One document in full: its facts, how it was read, and its text with ``at`` marked and in view.

    ``reading`` is the seed as read (``assistant.ingest.seeds.inspect_seed``: the document and every block
    with its verdict); the text is shown exactly as indexed, so a citation's offsets point into it.
    """
    doc = reading.document
    kept = len(doc.body)
    pages = getattr(reading, "pages", ())
    where = None
    if pages:  # a PDF: say on which page the cited passage is, as a reader of the print would look for it
        where = f"page {page_of(pages, at[0])} of {len(pages)}" if at else f"{len(pages)} pages"
    facts = " · ".join(
        escape_html(x)
        for x in (doc.date, f"by {doc.author}" if doc.author else None, shown_name(doc.source), where)
        if x
    )
    text, lo, hi = doc.text, 0, len(doc.text)
    if len(text) > VIEW_CHARS:  # a very long document: the part around the passage
        centre = at[0] if at else 0
        lo = max(0, centre - VIEW_CHARS // 2)
        hi = min(len(text), lo + VIEW_CHARS)
    pieces = []
    for s, e, kind in reading_spans(doc):
        s, e = max(s, lo), min(e, hi)
        if s >= e:
            continue
        pieces.append(_span_html(text, s, e, kind, at))
    return (
        f'<div class="nw-doc" data-source="{escape_html(doc.source)}"><h3>{escape_html(doc.title)}</h3>'
        f'<p class="nw-doc-facts">{facts}</p>'
        f'<details class="nw-reading"><summary>How it was read: {kept} paragraph(s) kept; '
        "greyed-out text was left out of the index</summary>"
        f"{render_reading(reading)}</details>"
        f'<div class="nw-doc-text">{"".join(pieces)}</div></div>'
    )


def render_reading(reading: Any) -> str:
    """How a seed was read (``cleaning.Reading``): its metadata, and each block with its verdict."""
    doc = reading.document
    date = f"{doc.date} ({doc.date_iso})" if doc.date and getattr(doc, "date_iso", None) else doc.date
    head = "".join(
        f"<tr><th>{name}</th><td>{escape_html(value or '(none found)')}</td></tr>"
        for name, value in (("Title", doc.title), ("Date", date), ("Author", doc.author))
    )
    rows = []
    for block in reading.blocks:
        text = " ".join(doc.text[block.span[0] : block.span[1]].split())
        verdict = {"body": "kept", "dropped": f"dropped: {block.reason}"}.get(block.kind, block.kind)
        rows.append(
            f'<tr class="nw-{escape_html(block.kind)}"><td>{escape_html(verdict)}</td>'
            f"<td>{escape_html(text[:300] + ('…' if len(text) > 300 else ''))}</td></tr>"
        )
    for text in getattr(reading, "left_out", ()):
        rows.append(
            '<tr class="nw-dropped"><td>left out of the page (HTML extractor)</td>'
            f"<td>{escape_html(text[:300] + ('…' if len(text) > 300 else ''))}</td></tr>"
        )
    for text in getattr(reading, "hidden", ()):
        what = escape_html(text)
        rows.append(f'<tr class="nw-dropped"><td>not read: hidden on the PDF page</td><td>{what}</td></tr>')
    return (
        f'<div class="nw-docs nw-reading-table"><table><tbody>{head}</tbody></table>'
        f"<table><thead><tr><th>Verdict</th><th>Paragraph</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table></div>"
    )


def _span_html(text: str, s: int, e: int, kind: str, at: tuple[int, int] | None) -> str:
    """One reading span, with the part of the passage inside it in <mark class="nw-at"> (the first one
    has id="nw-at": the page scrolls it into view)."""
    if at and s < at[1] and at[0] < e:
        a, b = max(at[0], s), min(at[1], e)
        anchor = ' id="nw-at"' if a == at[0] else ""
        inner = (
            _escape_keep_lines(text[s:a])
            + f'<mark class="nw-at"{anchor}>{_escape_keep_lines(text[a:b])}</mark>'
            + _escape_keep_lines(text[b:e])
        )
    else:
        inner = _escape_keep_lines(text[s:e])
    return f'<span class="nw-{kind}">{inner}</span>'


def _escape_keep_lines(text: str) -> str:
    """Escaped, with line breaks kept (the view is ``white-space: pre-wrap``)."""
    return html.escape(text, quote=True)


def render_report(report: Any, note: str = "") -> str:
    """A build report in one line."""
    text = (
        f"Index updated in {report.seconds:.1f} s: {report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged; {report.chunks} passages."
    )
    if not report.changed:
        text = f"The index is up to date ({report.chunks} passages)."
    if report.moved_aside:  # the server's log names the folder; the page says what happened
        text = "The index was damaged, so it was set aside and rebuilt from the documents. " + text
    skipped = "".join(f"<li>Skipped {escape_html(s)}</li>" for s in report.skipped)
    return f"<p>{escape_html(note)} {escape_html(text)}</p>" + (f"<ul>{skipped}</ul>" if skipped else "")


def render_status(message: str, ok: bool = True) -> str:
    """A one-line message in the Documents tab."""
    return f'<p class="{"" if ok else "nw-error"}">{escape_html(message)}</p>'


def document_choices(documents: Sequence[Any]) -> list[tuple[str, str]]:
    """The Documents tab's choices: each document as "Title (file)", its value the file."""
    return [(f"{d.title} ({shown_name(d.source)})", d.source) for d in documents]


def focus_choices(documents: Sequence[Any]) -> list[tuple[str, str]]:
    """The chat's picker choices, kept short for a phone: each title (with its file only when two
    documents share a title), its value the file."""
    titles = [d.title for d in documents]
    return [
        (d.title if titles.count(d.title) == 1 else f"{d.title} ({shown_name(d.source)})", d.source)
        for d in documents
    ]


def show_document(backend: Backend, source: str | None, at: tuple[int, int] | None = None) -> str:
    """The document view for ``source`` (a file in the seeds folder), with ``at`` marked."""
    from assistant.ingest.seeds import SeedProblem, inspect_seed

    if not source:
        return ""
    seeds = Path(backend.settings.seeds_dir)
    path = seeds / source
    if seeds.resolve() not in path.resolve().parents:
        return render_status(f"{source!r} is not a document of this index.", ok=False)
    reading = inspect_seed(path, source, int(backend.settings.max_seed_mb * 2**20))
    if isinstance(reading, SeedProblem):
        return render_status(f"Cannot show {reading}", ok=False)
    return render_document_view(reading, at)


def parse_jump(target: str) -> tuple[str, tuple[int, int] | None]:
    """A "Show in document" link's target ``#nw-doc:<source>:<start>:<end>`` as (source, span)."""
    _, _, rest = (target or "").partition("nw-doc:")
    source, _, span = rest.split("#", 1)[0].partition(":")  # "#<n>" makes a repeated click new
    start, _, end = span.partition(":")
    try:
        return unquote(source), (int(start), int(end))
    except ValueError:
        return unquote(source), None
