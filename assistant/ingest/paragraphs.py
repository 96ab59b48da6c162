"""Paragraphs first: rebuild a text's paragraphs from its own shape, keeping exact character spans.

Saved pages come in every shape: one paragraph per line, hard-wrapped at some width, Markdown with
soft line breaks (and links on lines of their own), CRLF line ends, tabs and no-break spaces. A
paragraph here is a run of lines that read as one: lines are joined when the text's shape says the
break is a wrap (the line is about as long as the document's wrapped lines, or the next line goes on
mid-sentence), and kept apart at blank lines, indentation and block markers (lists, headings, table
rows). Nothing is rewritten: a paragraph is a span of the text as read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

Span = tuple[int, int]

# A line that starts a block of its own in Markdown or plain text: heading, quote, list item, table row.
_MARKER = re.compile(r"(#{1,6}\s+|>\s*|[-*+•▪◦‣]\s+|\d{1,3}[.)]\s+|\|)")
_TERMINAL = re.compile(r"[.!?…:;。！？؟][\"'”’)\]*_」』]*$")
# The line goes on mid-sentence: it starts lower case or with punctuation that cannot open a sentence.
_CONTINUES = re.compile(r"[a-z,.;:)\]–—]|\[[^\]]*\]\(")  # also a Markdown link "[text](url)"
_OPEN_END = re.compile(r"[,(\[–—-]$|\b(?:a|an|the|of|to|in|on|at|by|for|with|and|or|but|from|that)$", re.I)
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n.*?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def trimmed(text: str, a: int, b: int) -> Span:
    """``(a, b)`` without the white space at either end of ``text[a:b]``."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


@dataclass(frozen=True)
class Paragraph:
    """One paragraph: its trimmed span in the text, how many lines it joins, and its block marker."""

    span: Span
    lines: int
    marker: str = ""  # "#", ">", "-", "1.", "|" (Markdown/list/table), "---" (front matter) or ""


@dataclass(frozen=True)
class _Line:
    span: Span  # trimmed of white space (spaces, tabs, \r, no-break spaces)
    indent: int
    blank_before: bool


def front_matter(text: str) -> Span | None:
    """The span of a leading YAML front-matter block ("---" ... "---"), if the text has one."""
    match = _FRONT_MATTER.match(text)
    return (match.start(), match.end()) if match else None


def _lines(text: str, start: int) -> list[_Line]:
    lines: list[_Line] = []
    blank = True
    for match in re.finditer(r"([^\n]*)(?:\n|\Z)", text[start:]):
        raw = match.group(1)
        stripped = raw.strip()
        if not stripped:
            blank = True
            continue
        lead = len(raw) - len(raw.lstrip())
        a = start + match.start() + lead
        indent = len(raw[:lead].expandtabs(4))
        lines.append(_Line((a, a + len(stripped)), indent, blank))
        blank = False
    return lines


def wrap_width(lines: list[str]) -> int | None:
    """The width a text is hard-wrapped at, judged from its lines; None when it is not wrapped.

    Wrapped text has most of its long lines just short of one width, almost none beyond it, and
    many of those lines break mid-sentence; text with a paragraph per line has lengths all over the
    place, or lines that each end a sentence. Short lines (a menu, a headline, a byline) say nothing
    about the wrapping, so only the long ones are judged: a short page of three wrapped lines under
    a long menu is still wrapped.
    """
    lengths = [len(line) for line in lines]
    if not lengths:
        return None
    ordered = sorted(lengths)
    longest = ordered[math.ceil(0.9 * (len(ordered) - 1))]  # ignoring the odd overlong line (a URL)
    long_lines = [line for line in lines if len(line) >= 0.5 * longest]
    if len(long_lines) < 3:
        return None
    ordered = sorted(len(line) for line in long_lines)
    width = ordered[math.ceil(0.9 * (len(ordered) - 1))]
    if not 30 <= width <= 130:
        return None
    # Long lines just short of the width: where the text was wrapped.
    full_at = [i for i, n in enumerate(lengths) if n >= 0.5 * longest and 0.7 * width <= n <= width + 8]
    full = [lines[i] for i in full_at]
    beyond = sum(n > width * 1.25 for n in lengths)
    open_ended = sum(not _TERMINAL.search(line) for line in full)
    # Where a wrapped sentence goes on, the next line mostly starts lower case; a list of headlines,
    # each line as long as the next and none ending in a full stop, never does. Judged once there are
    # enough breaks to judge by.
    goes_on = [lines[i + 1].lstrip() for i in full_at if i + 1 < len(lines)]
    lower = sum(bool(_CONTINUES.match(line)) for line in goes_on)
    wrapped = (
        len(full) >= 0.5 * len(long_lines)
        and beyond <= 0.05 * len(lines)
        and open_ended >= 0.4 * len(full)
        and (len(goes_on) < 5 or lower >= 0.2 * len(goes_on))
    )
    return width if wrapped else None


def _marker(text: str, span: Span, markdown: bool) -> str:
    line = text[span[0] : span[1]]
    match = _MARKER.match(line)
    if not match:
        return ""
    mark = match.group().strip()
    if mark.startswith("#") and not markdown:
        return ""  # "#1 seed" in plain text is not a heading
    if mark == "|" and line.count("|") < 2:
        return ""
    return "1." if mark[0].isdigit() else ("-" if mark in "*+•▪◦‣" else mark[0])


def _joins(text: str, prev: _Line, line: _Line, marker: str, markdown: bool, width: int | None) -> bool:
    """Whether ``line`` goes on the paragraph that ``prev`` is in."""
    if line.blank_before or marker:
        return False
    before = text[prev.span[0] : prev.span[1]]
    after = text[line.span[0] : line.span[1]]
    if markdown and not _marker(text, prev.span, markdown).startswith(("#", "|")):
        return True  # Markdown: consecutive lines are one paragraph (soft line breaks)
    if line.indent > prev.indent + 1:
        return False  # an indented first line opens a paragraph
    if width and len(before) >= 0.7 * width:
        return True  # a full-width line of hard-wrapped text
    if _TERMINAL.search(before):
        return False
    return bool(_CONTINUES.match(after) or _OPEN_END.search(before))


def split_paragraphs(text: str, *, markdown: bool = False) -> list[Paragraph]:
    """The text's paragraphs, in order, each a trimmed span of ``text``.

    A leading YAML front-matter block becomes one paragraph marked "---".
    """
    paragraphs: list[Paragraph] = []
    start = 0
    if (fm := front_matter(text)) is not None:
        paragraphs.append(Paragraph((fm[0], fm[1] - (1 if text[fm[1] - 1] == "\n" else 0)), 0, "---"))
        start = fm[1]
    lines = _lines(text, start)
    width = wrap_width([" " * ln.indent + text[ln.span[0] : ln.span[1]] for ln in lines])
    current: list[_Line] = []
    mark = ""
    for line in lines:
        marker = _marker(text, line.span, markdown)
        if current and _joins(text, current[-1], line, marker, markdown, width):
            current.append(line)
            continue
        if current:
            paragraphs.append(Paragraph((current[0].span[0], current[-1].span[1]), len(current), mark))
        current, mark = [line], marker
    if current:
        paragraphs.append(Paragraph((current[0].span[0], current[-1].span[1]), len(current), mark))
    return paragraphs
