"""HTML seeds: the text a browser shows, with scripts, styles and page chrome left out."""

from __future__ import annotations

import html.parser
import re

_SKIP_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "nav",
    "footer",
    "aside",
    "form",
    "button",
    "iframe",
    "head",
    "select",
    "header",
}
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "section",
    "article",
    "blockquote",
    "pre",
    "time",
    "figcaption",
    "main",
    "dd",
    "dt",
}


class _VisibleText(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.title: str | None = None
        self._in_title = False
        self._in_h1 = False
        self._h1: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag == "h1":
            self._in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP_TAGS and self.skip_depth:
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


def visible_text(raw_html: str) -> tuple[str, str | None]:
    """The text a browser shows (scripts, styles and page chrome left out), and the page title."""
    parser = _VisibleText()
    parser.feed(raw_html)
    parser.close()
    text = re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v\n]*\n", "\n\n", "".join(parser.parts))
    text = re.sub(r"[ \t]+", " ", text).strip()
    h1 = _clean("".join(parser._h1)) or None
    return text, h1 or (_clean(parser.title) if parser.title else None)


def _clean(text: str) -> str:
    return " ".join(text.split())
