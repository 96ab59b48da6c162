"""Cleaning: decide which spans of a document's text are its title, date and body.

Nothing is rewritten: a document keeps its text exactly as read, and cleaning only decides which
character spans are body, title or date. That way every quote keeps its offsets. Web boilerplate
("Like Us on Facebook", photo credits, a repeated headline) is left out by general rules about
the shape of a line, so the same rules serve any news page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

Span = tuple[int, int]


@dataclass(frozen=True)
class SeedDocument:
    """One seed file: its text as read, and which spans of it are title, date and body."""

    source: str  # path relative to the seeds folder, with forward slashes
    text: str
    title: str
    title_span: Span | None
    date: str | None
    date_span: Span | None
    body: tuple[Span, ...]  # the kept paragraphs, in order
    digest: str  # sha256 of the file's bytes: what "changed" means
    author: str | None = None  # the byline's names, when the page has one
    author_span: Span | None = None


_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_RE = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"  # Jun 16, 2020
    rf"|\b\d{{1,2}}\s+{_MONTH},?\s+\d{{4}}\b"  # 16 June 2020
    r"|\b\d{4}-\d{2}-\d{2}\b"  # 2020-06-16
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b",  # 6/16/2020
    re.IGNORECASE,
)
# Share buttons, follow prompts, photo credits, trackers: the furniture of news pages.
_BOILERPLATE_RE = re.compile(
    r"homepage|facebook|twitter|instagram|linkedin|whatsapp|pinterest|newsletter|subscribe|sign ?up"
    r"|log ?in|cookie|advertis|sponsored|\bshare\b|read more|click here|follow us|all rights reserved"
    r"|copyright|©|analytics|related (?:articles|stories|news)|most (?:popular|read)|trending"
    r"|^\W*(?:photo|image|picture|video|source|credit|file)s?\s*(?:credit)?\s*:",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’)\]]*\s*$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _norm_heading(text: str) -> str:
    # "U.S. Missile Sales" and "US Missile Sales" are the same headline.
    return "".join(_words(text))


def _line_spans(text: str) -> list[Span]:
    """Spans of the non-blank lines, trimmed of surrounding white space (incl. no-break spaces)."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        line = match.group()
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            spans.append((match.start() + lead, match.start() + lead + len(stripped)))
    return spans


def _strip_markdown(text: str, span: Span) -> tuple[Span, bool]:
    """Skip a Markdown line's block marker (#, >, -, 1.); say whether it was a heading."""
    line = text[span[0] : span[1]]
    marker = re.match(r"(#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+)", line)
    if not marker:
        return span, False
    return (span[0] + marker.end(), span[1]), marker.group().startswith("#")


def parse_document(
    source: str, text: str, digest: str, *, markdown: bool = False, known_title: str | None = None
) -> SeedDocument:
    """Split a text into title, date and body spans by the shape of each line."""
    lines = []  # (span, kind) with kind in body / heading / date / boilerplate
    for span in _line_spans(text):
        is_md_heading = False
        if markdown:
            span, is_md_heading = _strip_markdown(text, span)
        line = text[span[0] : span[1]]
        n_words = len(_words(line))
        short = n_words < 12
        if short and _DATE_RE.search(line) and n_words <= 14:
            kind = "date"
        elif (short and _BOILERPLATE_RE.search(line) and not _SENTENCE_END.search(line)) or n_words == 0:
            kind = "boilerplate"
        elif is_md_heading or (n_words < 20 and not _SENTENCE_END.search(line)):
            kind = "heading"
        else:
            kind = "body"
        lines.append((span, kind))

    body = tuple(span for span, kind in lines if kind == "body")
    body_words = {w for s, e in body for w in _words(text[s:e])}

    title_span = _pick_title(text, lines, body_words, known_title)
    title = text[title_span[0] : title_span[1]] if title_span else (known_title or _title_from_name(source))
    date_span = next((span for span, kind in lines if kind == "date"), None)
    date = text[date_span[0] : date_span[1]] if date_span else None
    if not body:  # a document of short lines only (a list, a poem): keep its lines rather than nothing
        body = tuple(span for span, kind in lines if kind == "heading" and span != title_span)
    return SeedDocument(
        source, text, _clean(title), title_span, _clean(date) if date else None, date_span, body, digest
    )


def _pick_title(
    text: str, lines: list[tuple[Span, str]], body_words: set[str], known_title: str | None
) -> Span | None:
    """The headline: among the heading-like lines near the top, the one sharing most words with the body."""
    candidates = [span for span, kind in lines[:12] if kind == "heading"]
    if known_title:
        wanted = _norm_heading(known_title)
        for span in candidates:
            if _norm_heading(text[span[0] : span[1]]) == wanted:
                return span
    best, best_score = None, 0.0
    for rank, span in enumerate(candidates):
        words = _words(text[span[0] : span[1]])
        if len(words) < 2:
            continue
        overlap = sum(w in body_words for w in words) / len(words)
        score = overlap - 0.01 * rank  # earlier wins a tie
        if score > best_score:
            best, best_score = span, score
    return best


def _title_from_name(source: str) -> str:
    stem = Path(source).stem
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or source


def _clean(text: str) -> str:
    return " ".join(text.split())
