"""HTML for chat messages: the direct answer first (or, for an uncertain answer, a line saying so),
then the cited passages, one block per passage.

Pure functions, no Gradio. Everything that comes from a seed document (titles, quotes, passages,
file names) is untrusted: it is HTML-escaped before any tag of ours is put around it, and in the
Markdown part of a chat message its punctuation is backslash-escaped too, so a seed's ``<script>``,
``<img onerror=...>`` or ``[link](javascript:...)`` shows as the text it is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as url_quote

SOURCES_MARK = '<div class="nw-sources"'

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")
_MD_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_MARKER = re.compile(r"\\\[(\d+)\\\]")
_SPACES = re.compile(r"\s+")


# --- escaping ------------------------------------------------------------------------------------


#: Bidirectional controls: in a file name, U+202E shows "txt.exe" as "exe.txt"; shown as their code.
_BIDI = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def shown_name(name: str) -> str:
    """A file name as shown: bidirectional controls made visible ("[U+202E]"), nothing reordered."""
    return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", name)


def escape_html(text: str) -> str:
    """Text for inside our HTML tags: entities for & < > " ' and newlines folded to spaces.

    Folding newlines also keeps our one-line HTML block from being ended by a blank line, after
    which a Markdown renderer would parse the rest as Markdown.
    """
    return html.escape(fold(text), quote=True)


def escape_markdown(text: str) -> str:
    """Text for a Markdown message: every Markdown/HTML-significant character neutralised."""
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=True)


def unescape_markdown(text: str) -> str:
    """The inverse of :func:`escape_markdown`."""
    return _MD_UNESCAPE.sub(r"\1", html.unescape(text))


def fold(text: str | None) -> str:
    """Whitespace runs folded to single spaces."""
    return _SPACES.sub(" ", text or "")


# --- passages: citations grouped by the passage they quote ----------------------------------------


@dataclass
class Quote:
    """One cited sentence inside a passage: its span in the passage's folded text and its markers."""

    start: int
    end: int
    numbers: list[int]
    citation: Any


@dataclass
class PassageBlock:
    """A passage shown once, with every sentence cited from it."""

    source: str
    title: str
    date: str | None
    text: str  # the passage, whitespace folded
    quotes: list[Quote] = field(default_factory=list)

    @property
    def numbers(self) -> list[int]:
        """The citation markers that point into this passage, in order."""
        return sorted(n for q in self.quotes for n in q.numbers)


def group_by_passage(citations: Iterable[Any]) -> list[PassageBlock]:
    """Citations gathered per passage, in order of first citation; a sentence cited twice shows once."""
    blocks: dict[tuple[str, str], PassageBlock] = {}
    for c in citations:
        before, quote, after = fold(c.before).strip(), fold(c.quote).strip(), fold(c.after).strip()
        text = " ".join(part for part in (before, quote, after) if part)
        block = blocks.setdefault(
            (c.source, text), PassageBlock(c.source, c.title or shown_name(c.source), c.date, text)
        )
        start = len(before) + (1 if before else 0)
        same = next((q for q in block.quotes if q.start == start), None)
        if same:
            same.numbers.append(int(c.number))
        else:
            block.quotes.append(Quote(start, start + len(quote), [int(c.number)], c))
    for block in blocks.values():
        block.quotes.sort(key=lambda q: q.start)
    return list(blocks.values())


def _answer_phrase(c: Any) -> tuple[int, int] | None:
    """Where the short answer stands inside citation ``c``'s quote (raw quote offsets), if it does."""
    a, b = c.answer_start, c.answer_end
    if a is None or b is None:
        return None
    a, b = a - c.start, b - c.start
    return (a, b) if 0 <= a < b <= len(c.quote) else None


def render_quote(c: Any) -> str:
    """A cited sentence, with the answer phrase inside it marked when the citation has one."""
    phrase = _answer_phrase(c)
    if phrase is None:
        return escape_html(fold(c.quote).strip())
    a, b = phrase
    pre, mid, post = fold(c.quote[:a]).lstrip(), fold(c.quote[a:b]), fold(c.quote[b:]).rstrip()
    return f'{escape_html(pre)}<mark class="nw-answer">{escape_html(mid)}</mark>{escape_html(post)}'


def document_link(source: str, start: int, end: int) -> str:
    """A link that opens the Documents tab at ``source`` with characters start..end in view."""
    target = f"#nw-doc:{url_quote(source, safe='')}:{int(start)}:{int(end)}"
    return f'<a class="nw-open" href="{html.escape(target, quote=True)}">Show in document</a>'


def _head(numbers: Sequence[int], title: str, date: str | None, source: str) -> str:
    head = " ".join(f"[{n}]" for n in numbers) + (" " if numbers else "") + f"<b>{escape_html(title)}</b>"
    if date:
        head += f" · {escape_html(date)}"
    if source and source != title:
        head += f' · <span class="nw-src">{escape_html(shown_name(source))}</span>'
    return head


def render_passage(block: PassageBlock) -> str:
    """One passage block: its heading, and its text with every cited sentence marked."""
    parts, at = [], 0
    for q in block.quotes:
        if q.start < at:  # overlapping quotes (never from one answerer): show the text once
            continue
        parts.append(escape_html(block.text[at : q.start]))
        refs = "".join(f'<sup class="nw-ref">[{n}]</sup>' for n in q.numbers)
        mark = f'<mark class="nw-quote" data-n="{q.numbers[0]}">{render_quote(q.citation)}</mark>'
        parts.append(mark + refs)
        at = q.end
    parts.append(escape_html(block.text[at:]))
    first, last = block.quotes[0].citation, block.quotes[-1].citation
    numbers = block.numbers
    return (
        f'<div class="nw-cite" data-citations="{" ".join(map(str, numbers))}">'
        f'<div class="nw-cite-head">{_head(numbers, block.title, block.date, block.source)}</div>'
        f'<div class="nw-passage">{"".join(parts)}</div>'
        f'<div class="nw-cite-foot">{document_link(block.source, first.start, last.end)}</div></div>'
    )


def render_related(c: Any) -> str:
    """A related passage after an abstention: shown as reading, not as evidence (nothing marked)."""
    text = " ".join(p for p in (fold(c.before).strip(), fold(c.quote).strip(), fold(c.after).strip()) if p)
    return (
        '<div class="nw-related"><div class="nw-cite-head">Related passage (it does not answer the '
        f"question) · {_head((), c.title or c.source, c.date, c.source)}</div>"
        f'<div class="nw-passage">{escape_html(text)}</div>'
        f'<div class="nw-cite-foot">{document_link(c.source, c.start, c.end)}</div></div>'
    )


# --- chat messages -------------------------------------------------------------------------------


def render_text(text: str, numbers: Iterable[int] = ()) -> str:
    """An answer's text as safe Markdown, its citation markers [n] styled."""
    known = {str(n) for n in numbers}
    # One paragraph per line: an answer for several documents puts each document on its own line.
    lines = [escape_markdown(fold(line).strip()) for line in text.split("\n") if line.strip()]
    return _MARKER.sub(
        lambda m: f'<span class="nw-ref">[{m[1]}]</span>' if m[1] in known else m[0], "\n\n".join(lines)
    )


def render_used(result: Any, titles: Mapping[str, str] | None = None) -> str:
    """Which documents an answer used, by title: "From: Title A · Title B" (or what it was narrowed to,
    titled from ``titles``, each document's title by file name)."""
    titles = titles or {}
    used = dict.fromkeys((c.title or c.source, c.source) for c in result.citations)
    if not used and result.focus:
        used = dict.fromkeys((titles.get(source) or source, source) for source in result.focus)
    if not used:
        return ""
    what = "From" if result.citations else "Asked of"
    names = " · ".join(
        f'<span title="{escape_html(source)}">{escape_html(title)}</span>' for title, source in used
    )
    return f'<div class="nw-used" data-kind="used">{what}: {names}</div>'


def render_answer(result: Any, *, final: bool = True, titles: Mapping[str, str] | None = None) -> str:
    """A whole chat message: the direct answer in bold (an uncertain answer has none: its text's first
    line says it may not answer), the quoted text, then its passages.

    ``final=False`` renders an answer still being written (an LLM streaming its sentences);
    ``titles`` (each document's title by file name, given when several are indexed) adds which
    documents the answer used.
    """
    parts = []
    short = result.short_answer
    if short and not result.abstained:
        parts.append(f'<div class="nw-direct"><strong>{escape_html(short)}</strong></div>')
    parts.append(render_text(result.text, (c.number for c in result.citations)) + ("" if final else " …"))
    if result.notice:
        parts.append(f'<div class="nw-notice">{escape_html(result.notice)}</div>')
    if titles and (used := render_used(result, titles)):
        parts.append(used)
    if result.abstained:
        parts.append(
            '<div class="nw-abstain" data-kind="abstained">No passage in the documents answers this.</div>'
        )
    blocks = group_by_passage(result.citations)
    related = "".join(render_related(c) for c in result.related)
    if (blocks or related) and final:
        body = "".join(render_passage(b) for b in blocks) + related
        parts.append(f'{SOURCES_MARK} data-citations="{len(result.citations)}">{body}</div>')
    return "\n\n".join(parts)


def render_error(message: str) -> str:
    """A user-facing error (bad question, no index) as a chat message."""
    return f'<div class="nw-error" data-kind="error">⚠️ {escape_html(message)}</div>'
