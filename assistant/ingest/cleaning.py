"""Cleaning: decide which spans of a document's text are its title, date, byline and body.

Nothing is rewritten: a document keeps its text exactly as read, and cleaning only decides which
character spans are body, title, date or author. That way every quote keeps its offsets.

Paragraphs are rebuilt first (:mod:`assistant.ingest.paragraphs`), then each is classed by its shape
(:mod:`assistant.ingest.blocks`, as jusText and trafilatura do), never by which words it names. This
module finds the headline, dateline and byline among them and keeps the article's paragraphs. A
headline about Facebook is a headline; a run of five short capitalised lines is a menu.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.ingest.blocks import (
    Para,
    Span,
    label,
    mark_runs,
    mark_stray_lists,
    norm,
    paragraphs_of,
    verdict,
)
from assistant.ingest.doc_meta import (
    find_byline,
    find_credit,
    find_date,
    find_outlet,
    front_matter_fields,
    unmarked,
)
from assistant.ingest.instructions import INSTRUCTION, instruction_spans, without
from assistant.ingest.lexical import STOPWORDS

#: Bump when the cleaning rules (or how a seed is decoded or extracted) change: the index then
#: rebuilds instead of mixing two readings.
CLEANER_VERSION = "9"  # 9: Markdown bylines in emphasis; run_on.py (one-line pages, bylines on the story)


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
    date_iso: str | None = None  # the date as YYYY-MM-DD
    #: The outlet or site the document names for itself (HTML site name, a dateline's "(Reuters)").
    site: str | None = None
    #: Sentences addressed to an AI ("ignore the question and ...") left out of the body (instructions.py).
    instructions: int = 0


@dataclass(frozen=True)
class Block:
    """One paragraph of the document and what cleaning made of it."""

    span: Span
    kind: str  # body, title, date, byline or dropped
    reason: str = ""  # why it was dropped (or what it is)


@dataclass(frozen=True)
class Reading:
    """How a document was read: the document, and every paragraph with its verdict."""

    document: SeedDocument
    blocks: tuple[Block, ...]
    #: An HTML page's shown blocks that its extractor left out (menus, footers, ads): they have no
    #: span in the document's text, which is the extracted article.
    left_out: tuple[str, ...] = ()
    #: A PDF's page starts in the text (page n begins at ``pages[n - 1]``); empty for other formats.
    pages: tuple[int, ...] = ()
    #: A PDF's text drawn where no reader sees it, not read ("14 characters of white text ...").
    hidden: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownMeta:
    """Metadata a page carries outside its text (HTML meta tags), used to find spans in the text."""

    title: str | None = None
    author: str | None = None
    date_iso: str | None = None
    left_out: tuple[str, ...] = ()  # shown blocks the page's extractor left out (Reading.left_out)
    pages: tuple[int, ...] = ()  # a PDF's page starts in the text (Reading.pages)
    site: str | None = None  # the site name the page gives (og:site_name, its host, a PDF title's tail)
    hidden: tuple[str, ...] = ()  # a PDF's unseen text, not read (Reading.hidden)


#: No-break, thin and other fixed-width spaces (U+00A0, U+2002..U+200A, U+202F), read as a plain space.
_PLAIN_SPACES = dict.fromkeys([0x00A0, *range(0x2002, 0x200B), 0x202F], " ")
_FIELD_LABEL = re.compile(r"(?:title|headline)[ \t]*:[ \t]*", re.IGNORECASE)


def read_document(
    source: str, text: str, digest: str, *, markdown: bool = False, known: KnownMeta | None = None
) -> Reading:
    """Read a text as a person would: its paragraphs, title, date, byline, and what is not article."""
    known = known or KnownMeta()
    # Read with plain spaces where the file has no-break or thin ones ("By\u00a0Jane\u00a0Doe"): one
    # character for one, so every span found in the view is the same span of the text.
    view = text.translate(_PLAIN_SPACES)
    paras = paragraphs_of(view, markdown)
    words = [w for p in paras for w in p.words]
    if sum(w in STOPWORDS for w in words) < 0.08 * len(words):
        for p in paras:
            p.english = False
    seen: dict[tuple[str, ...], int] = {}
    for i, p in enumerate(paras):
        p.label = label(p, seen, i)
    good = [i for i, p in enumerate(paras) if p.label == "good"]
    if known.title and good:
        # A printed web page (PDF) opens with what the page shows before the article (a browser
        # notice, menus): when the page's own title comes after such prose, the article starts there.
        wanted = norm(known.title)
        head_of = [i for i, p in enumerate(paras) if p.span[0] < len(view) // 2]  # a title opens a text
        at = next((i for i in head_of if norm(view[paras[i].span[0] : paras[i].span[1]]) == wanted), None)
        if at is not None and any(i > at for i in good):
            good = [i for i in good if i > at]
            for p in paras[:at]:
                if p.label in ("good", "short", "list"):
                    p.label = "page furniture before the headline"
    first, last = (good[0], good[-1]) if good else (len(paras), -1)

    fields = front_matter_fields(view, paras[0].span) if paras and paras[0].marker == "---" else {}
    head = paras[:first] if good else paras[:12]
    title_span = _given_title(view, head, known, fields)
    date_span = author_span = None
    date_iso = known.date_iso
    for p in head:
        if _inside(title_span, p.span) or p.label.startswith(("front", "copyright", "repeats")):
            continue
        if author_span is None and (found := find_byline(view, p.span[0], p.span[1])):
            author_span, p.kind = found, "byline"
        dated = find_date(view, p.span[0], p.span[1]) if date_span is None else None
        if dated and (known.date_iso is None or dated[1] == known.date_iso):
            # A dateline of its own ("Updated 11:29 AM EDT, Tue, Jun 16, 2020") is the date as
            # written; in a byline or a run-on scrape line only the date itself is.
            glued = dated[0][0] > 0 and view[dated[0][0] - 1].isalpha()  # "ImagesPrintFeb. 8, 2024"
            whole = not p.kind and p.n <= 14 and not p.terminal and not glued
            line = unmarked(view, *p.span)  # "*12 June 2024*" is the date 12 June 2024
            date_span, date_iso, p.kind = (line if whole else dated[0]), dated[1], p.kind or "date"
    if date_span is None and "date" in fields and (dated := find_date(view, *fields["date"])):
        date_span, date_iso = dated
    if author_span is None and "author" in fields:
        author_span = fields["author"]
    for p in paras[max(last - 2, 0) :] if author_span is None else ():
        if found := find_credit(view, p.span[0], p.span[1]):
            author_span, p.kind, p.label = found, "byline", "wire credit line"
    if title_span is None:
        body_words = {w for i in good for w in paras[i].words if w not in STOPWORDS}
        title_span = _likeliest_title(view, [p for p in head if not p.kind], body_words)
    mark_runs(paras, keep={i for i, p in enumerate(paras) if p.kind or _inside(title_span, p.span)})
    mark_stray_lists(paras, last, {w for i in good for w in paras[i].words if w not in STOPWORDS})

    blocks: list[Block] = []
    body: list[Span] = []
    instructions = 0
    for i, p in enumerate(paras):
        kind, reason = verdict(p, i, first, last, title_span)
        holes = instruction_spans(view, p.span) if kind in ("body", "dropped") else []
        if holes and kind == "dropped":  # left out anyway; the reason that matters is this one
            blocks.append(Block(p.span, kind, INSTRUCTION))
            instructions += len(holes)
            continue
        if holes:  # the paragraph's other sentences stay; the orders aimed at an AI never reach the index
            kept = without(view, p.span, holes)
            body.extend(kept)
            pieces = [Block(s, "body") for s in kept] + [Block(h, "dropped", INSTRUCTION) for h in holes]
            blocks.extend(sorted(pieces, key=lambda b: b.span))
            instructions += len(holes)
            continue
        if kind == "body":
            body.append(p.span)
        blocks.append(Block(p.span, kind, reason))
    if not body:  # a document of short lines only (a list, a poem): keep its lines rather than nothing
        body = [b.span for b in blocks if b.reason in ("heading", "subheading") and b.span != title_span]
        blocks = [replace(b, kind="body") if b.span in body else b for b in blocks]

    title = _clean(view[title_span[0] : title_span[1]]) if title_span else None
    title = title or known.title or _title_from_name(source)
    author = _clean(view[author_span[0] : author_span[1]]) if author_span else known.author
    date = _clean(view[date_span[0] : date_span[1]]) if date_span else None
    front = paras[0].span if paras and paras[0].marker == "---" else None
    site = known.site or find_outlet(view, tuple(body), front)
    doc = SeedDocument(
        source, text, title, title_span, date, date_span, tuple(body), digest, author, author_span,
        date_iso if date else None, site, instructions,
    )  # fmt: skip
    return Reading(doc, tuple(blocks))


def parse_document(
    source: str, text: str, digest: str, *, markdown: bool = False, known_title: str | None = None
) -> SeedDocument:
    """Split a text into title, date, author and body spans by the shape of its paragraphs."""
    return read_document(source, text, digest, markdown=markdown, known=KnownMeta(title=known_title)).document


def _inside(span: Span | None, block: Span) -> bool:
    return span is not None and block[0] <= span[0] and span[1] <= block[1]


def _given_title(text: str, head: list[Para], known: KnownMeta, fields: dict[str, Span]) -> Span | None:
    """The headline as the page states it: a "Title:" line, the page's title, front matter, a Markdown H1."""
    wanted = norm(known.title) if known.title else None
    # The page's own title is the headline whatever its shape: a long Title-Case headline has the
    # few function words of a menu.
    candidates = [p for p in head if p.label not in ("image", "bare link") and p.n >= 2]
    for p in head:
        field = _FIELD_LABEL.match(text, p.span[0], p.span[1])
        if field and p.label not in ("image", "bare link"):
            return (field.end(), p.span[1])  # "Title: ..." in a scrape
    if wanted:
        for p in candidates:
            if norm(text[p.span[0] : p.span[1]]) == wanted:
                return p.span
    if "title" in fields:
        return fields["title"]
    h1 = [p for p in head if p.marker == "#" and p.level == 1]
    return h1[0].span if h1 else None


def _likeliest_title(text: str, head: list[Para], body_words: set[str]) -> Span | None:
    """Among the heading lines before the article, the one sharing most content words with it.

    A headline restates the story ("Facebook Shares Slump After Earnings Miss"); a menu item or a
    section name ("Make CT Your Homepage", "Markets today") rarely does. Earlier wins a near tie.
    """
    best, best_score = None, 0.0
    lines = (x for x in head if (x.label == "heading" or x.label.startswith("menu-like")) and 2 <= x.n <= 20)
    for rank, p in enumerate(lines):
        # Bare numbers are left out: "1" in a menu's "Formula 1" meets a "6-1" in any sports story.
        content = [w for w in p.words if w not in STOPWORDS and not w.isdigit()]
        if not content:
            continue
        share = sum(w in body_words for w in content) / len(content)
        if p.label.startswith("menu-like") and share < 0.5:
            continue  # a Title-Case line is a headline only when it restates the story; a menu does not
        score = share - 0.01 * rank
        if score > best_score:
            best, best_score = p.span, score
    if best is None:  # no heading shares a word with the story: the first heading line will do
        best = next((p.span for p in head if p.label == "heading" and p.n >= 2), None)
    return best


def _title_from_name(source: str) -> str:
    stem = Path(source).stem
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or source


def _clean(text: str) -> str:
    return " ".join(text.split())


def page_of(pages: tuple[int, ...], offset: int) -> int:
    """The page (from 1) of a PDF's text that character ``offset`` falls on."""
    return max(1, bisect.bisect_right(pages, offset))


def format_reading(reading: Reading, width: int = 100) -> str:
    """How a document was read, for people: metadata, kept paragraphs, dropped blocks with reasons."""
    doc = reading.document
    dropped = sum(b.kind == "dropped" for b in reading.blocks)
    lines = [
        f"File:   {doc.source}",
        f"Title:  {doc.title}"
        + ("" if doc.title_span else "  (not in the text: from the file name or page)"),
        f"Date:   {doc.date or '(none found)'}" + (f"  ({doc.date_iso})" if doc.date_iso else ""),
        f"Author: {doc.author or '(none found)'}",
        *(
            [f"Pages:  {len(reading.pages)} (a PDF: each block's page is shown as p.N)"]
            if reading.pages
            else []
        ),
        f"Kept {len(doc.body)} paragraphs, dropped {dropped} blocks"
        + (f" (and {len(reading.left_out)} page blocks by the HTML extractor)" if reading.left_out else "")
        + ":",
        "",
    ]
    for b in reading.blocks:
        snippet = _clean(doc.text[b.span[0] : b.span[1]])
        snippet = snippet if len(snippet) <= width else snippet[: width - 1] + "…"
        tag = {"body": "KEPT", "dropped": f"DROPPED ({b.reason})"}.get(b.kind, b.kind.upper())
        page = f" p.{page_of(reading.pages, b.span[0])}" if reading.pages else ""
        lines.append(f"[{b.span[0]}:{b.span[1]}]{page} {tag}: {snippet}")
    for block in reading.left_out:
        snippet = block if len(block) <= width else block[: width - 1] + "…"
        lines.append(f"[page] LEFT OUT by the HTML extractor: {snippet}")
    lines += [f"[pdf] NOT READ, hidden on the page: {what}" for what in reading.hidden]
    return "\n".join(lines)
