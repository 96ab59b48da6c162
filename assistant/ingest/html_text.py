"""HTML seeds: the article's main text, title, author and date, extracted with trafilatura.

trafilatura (the field's standard main-text extractor) leaves out navigation, share widgets,
related-article lists, cookie banners and footers, and reads the page's metadata. The extracted
article becomes the document's text: a headline line, a byline line, a date line (as the page
writes it, when it does), then one paragraph per line pair. Citations of an HTML seed point into
that extracted text, not into the HTML file. trafilatura is given the page as a string, so it
never fetches anything.
"""

from __future__ import annotations

import html
import html.parser
import logging
import re
from dataclasses import dataclass

from assistant.ingest.doc_meta import DATE_RE, clean_site, parse_date, site_of_host, written_date
from assistant.ingest.lexical import compact

_SKIP_TAGS = {
    "script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "form", "button",
    "iframe", "head", "select", "header",
}  # fmt: skip
_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
    "article", "blockquote", "pre", "time", "figcaption", "main", "dd", "dt",
}  # fmt: skip


@dataclass(frozen=True)
class HtmlPage:
    """What an HTML page holds for the assistant: the text spans point into, and its metadata."""

    text: str
    title: str | None
    author: str | None
    date_iso: str | None
    #: The page's shown blocks (menus, footers, asides, ads) that are not in ``text``, for `inspect`.
    left_out: tuple[str, ...] = ()
    #: The site's name as the page gives it (og:site_name, else its host): "Nature", "DW".
    site: str | None = None


# What a browser never shows. Menus, footers and asides (_SKIP_TAGS) are shown: they count as left out.
_HIDDEN_TAGS = {"script", "style", "noscript", "template", "svg", "head", "select", "iframe"}
#: At most this many left-out blocks are listed for a page (a page can be mostly furniture).
MAX_LEFT_OUT = 200


class _VisibleText(html.parser.HTMLParser):
    def __init__(self, skip: set[str] = _SKIP_TAGS) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = skip
        self.parts: list[str] = []
        self.skip_depth = 0
        self.title: str | None = None
        self._in_title = False
        self._in_h1 = False
        self._h1: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self.skip:
            self.skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag == "h1":
            self._in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self.skip and self.skip_depth:
            self.skip_depth -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data
        elif not self.skip_depth:
            self.parts.append(data)
            if self._in_h1:
                self._h1.append(data)


def visible_text(raw_html: str, skip: set[str] = _SKIP_TAGS) -> tuple[str, str | None]:
    """The text a browser shows (scripts, styles and page chrome left out), and the page's h1 or title."""
    parser = _VisibleText(skip)
    parser.feed(raw_html)
    parser.close()
    text = re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v\n]*\n", "\n\n", "".join(parser.parts))
    text = re.sub(r"[ \t]+", " ", text).strip()
    h1 = _clean("".join(parser._h1)) or None
    return text, h1 or (_clean(parser.title) if parser.title else None)


def extract_page(raw_html: str) -> HtmlPage:
    """The page's article text and metadata; falls back to the visible text when no article is found."""
    import trafilatura  # lazily: lxml and friends load only when an HTML seed is read

    # A page trafilatura cannot parse falls back to the visible text below; its log lines would only
    # alarm the user (the seeds loader reports real problems itself).
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    visible, h1 = visible_text(raw_html)
    found = trafilatura.bare_extraction(
        raw_html, with_metadata=True, include_comments=False, include_tables=True, include_images=False,
        include_links=False,  # no deduplicate=True: its cache spans calls, so a re-read would differ
    )  # fmt: skip
    body = (found.text or "").strip() if found is not None else ""
    if not body:
        return HtmlPage(visible, h1, None, None)
    title = _clean(found.title or "") or h1
    if h1 and title and title != h1 and _clean(title).lower().startswith(h1.lower()):
        title = h1  # "Headline | Site name | date": the page's own h1 is the headline
    author = _clean(found.author or "") or None
    publisher = " ".join([found.sitename or "", *_PUBLISHER_META.findall(raw_html[:200_000])])
    if author and compact(author) in compact(publisher):
        # The site named as its own author ("Deutsche Welle (www.dw.com)"): the page's labelled
        # "Author" line, if it shows one, names the writer.
        labelled = _LABELLED_AUTHOR.search(visible)
        author = labelled.group(1) if labelled else None
    iso = found.date if found.date and re.fullmatch(r"\d{4}-\d{2}-\d{2}", found.date) else None
    if iso and iso.endswith("-01-01") and not _states_date(raw_html, iso):
        iso = None  # htmldate's guess from a bare year ("© 2024"), not a date the page gives
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    if title and lines and _clean(lines[0]).lower() == title.lower():
        lines = lines[1:]  # the headline is written once, at the top
    written = _date_as_written(visible + "\n" + _tagless(raw_html), iso) if iso else ""
    head = [title or "", _byline_as_written(visible, author) if author else "", written]
    text = "\n\n".join([h for h in head if h] + lines) + "\n"
    site = clean_site(found.sitename) or (site_of_host(found.hostname) if found.hostname else None)
    return HtmlPage(text, title, author, iso, _left_out(raw_html, text), site)


# "Author\nBen Knight" or "Author: Ben Knight" in a page's fact box.
_LABELLED_AUTHOR = re.compile(
    r"^[ \t]*Authors?[ \t]*:?[ \t]*\n?[ \t]*([A-Z][\w'’.-]+(?:[ \t]+[A-Z][\w'’.-]+){1,3})[ \t]*$", re.M
)


# The publisher a page names in its head: <meta name="publisher" content="Deutsche Welle (www.dw.com)">.
_PUBLISHER_META = re.compile(
    r"<meta\b[^>]*\b(?:name|property)=[\"'](?:publisher|og:site_name|article:publisher|copyright)[\"']"
    r"[^>]*\bcontent=[\"']([^\"']{1,200})",
    re.I,
)


def _byline_as_written(visible: str, author: str) -> str:
    """The page's own byline line for ``author`` ("By Sarah Whitfield, Political reporter"), or a
    plain one: trafilatura joins a byline's parts with ";", which no page writes."""
    first = author.split(";")[0].strip()
    for block in visible.split("\n\n"):
        line = _clean(block)
        if first and line.lower().startswith("by ") and first in line and len(line) <= 160:
            date = DATE_RE.search(line)  # "By Sam Carter, March 5, 2024": the date gets its own line
            return line[: date.start()].rstrip(" ,|-–—·") if date and date.start() > len(first) else line
    return "By " + ", ".join(part.strip() for part in author.split(";"))


def _left_out(raw_html: str, text: str) -> tuple[str, ...]:
    """The blocks a browser shows that the article text does not hold, in page order."""
    shown, _ = visible_text(raw_html, _HIDDEN_TAGS)
    kept = _clean(text).lower()
    out: list[str] = []
    for block in shown.split("\n\n"):
        block = _clean(block)
        if block and block.lower() not in kept and block not in out:
            out.append(block)
            if len(out) == MAX_LEFT_OUT:
                break
    return tuple(out)


def _tagless(raw_html: str) -> str:
    """Every text node of the page, hidden ones too (a date often sits in the page header)."""
    no_code = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", raw_html)
    return html.unescape(re.sub(r"<[^>]+>", " ", no_code))


def _states_date(raw_html: str, iso: str) -> bool:
    """Whether the page gives the date ``iso`` itself: as a machine date (a meta tag, a URL) or in words."""
    y, m, d = iso.split("-")
    if any(form in raw_html for form in (iso, f"{y}/{m}/{d}", f"{y}{m}{d}")):
        return True
    return any(parse_date(match) == iso for match in DATE_RE.finditer(_tagless(raw_html)))


def _date_as_written(page_text: str, iso: str) -> str:
    """The page's own wording of the date ``iso`` ("January 16, 2020"), or a plain one."""
    for match in DATE_RE.finditer(page_text):
        if parse_date(match) == iso and not match.group("y3"):  # a worded date, not a machine one
            return _clean(match.group())
    return written_date(iso)


def _clean(text: str) -> str:
    return " ".join(text.split())
