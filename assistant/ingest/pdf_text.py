"""PDF seeds: the text a reader sees on the pages, without what the printer added to every page.

A news article saved with the browser's "Print -> Save as PDF" (or an e-paper download) carries page
furniture: a running header and footer on every page (the print date and the page title, the URL and
"1/5" or "Page 2 of 5"), words hyphenated at line ends, and sometimes two columns. This module reads
the text layer with pypdf (pure Python; it follows the content stream, which for browser prints and
most news PDFs is the reading order, columns one after the other) and then:

* drops the running lines: a line in the first or last three lines of a page that recurs, with its
  digits masked, on most pages; and lone page counters ("3", "Page 3 of 5", "3/5") anywhere there;
* joins a word hyphenated across a line end ("inter-" + "national"), when the next line goes on in
  lower case, unless the text writes that word with its hyphen elsewhere ("present-day");
* turns typographic ligatures back into letters ("ﬁ" -> "fi").

What is left goes through the same cleaning as a .txt seed (headline, byline, date, furniture
blocks). Pages start where ``PdfText.pages`` says, so a citation can name its page.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass

from assistant.ingest.decoding import NotText
from assistant.ingest.pdf_hidden import hide_unseen_text

log = logging.getLogger(__name__)

#: More pages than any news article: a longer PDF is a book or a report, refused before it is read.
MAX_PAGES = 300
_EDGE = 3  # lines at the top and bottom of a page where running headers and footers sit
_COUNTER = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?\s*$", re.I)
# Anchored at a word's start (the lookbehind): unanchored, a hyphen-free run of n letters cost n^2
# steps (a 40,000-letter run took 24 s).
_HYPHENATED = re.compile(r"(?<![^\W\d_])([^\W\d_]+)-\n([a-z]+)")
_COMPOUND = re.compile(r"(?<![^\W\d_])[^\W\d_]+-[^\W\d_]+")
_WORD = re.compile(r"[^\W\d_]+")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})


@dataclass(frozen=True)
class PdfText:
    """A PDF's text as read, where each page starts in it, and the title its metadata gives."""

    text: str
    pages: tuple[int, ...]
    title: str | None
    #: The site a browser print names in its title ("Headline | Nature" -> "Nature").
    site: str | None = None
    #: Text drawn where no reader sees it, not read: "14 characters of white text ..." (pdf_hidden.py).
    hidden: tuple[str, ...] = ()


def read_pdf(data: bytes) -> PdfText:
    """The article text of a PDF's bytes. Raises NotText with what to do when it has none."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # warnings about odd fonts are not the reader's
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise NotText("an encrypted PDF; save an unprotected copy (print it to PDF again) and add that")
        count = len(reader.pages)
        if count > MAX_PAGES:
            raise NotText(f"{count} pages is over the {MAX_PAGES}-page limit for a PDF seed; split it")
        hidden: Counter[str] = Counter()
        pages = []
        for page in reader.pages:
            try:
                hidden += hide_unseen_text(page, reader)
            except Exception as exc:  # a content stream it cannot walk is read as it is
                log.debug("Cannot check a page for hidden text: %s", exc)
            pages.append(page.extract_text() or "")
        title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except NotText:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise NotText(f"not a readable PDF ({type(exc).__name__}); save or print it to PDF again") from None
    except Exception as exc:  # pypdf raises many kinds on a broken file; none may stop a build
        if "crypt" in str(exc).lower():
            raise NotText(
                "an encrypted PDF; save an unprotected copy (print it to PDF again) and add that"
            ) from None
        raise NotText(f"not a readable PDF ({type(exc).__name__}); save or print it to PDF again") from None
    if not any(ch.isalnum() for page in pages for ch in page):
        raise NotText(
            "no text layer (a scan or images only): OCR it first, e.g. with ocrmypdf, and add the result"
        )
    text = assemble(pages, _headline(str(title)) if title else None)
    unseen = tuple(f"{n:,} characters of {reason}" for reason, n in sorted(hidden.items()) if n)
    return dataclasses.replace(text, site=_site(str(title)) if title else None, hidden=unseen)


def _site(title: str) -> str | None:
    """The site part of a printed page's title, "Headline | Section | Site" -> "Site", if it has one."""
    parts = [p.strip() for p in re.split(r"\s+[|–—]\s+", title) if p.strip()]
    return parts[-1] if len(parts) >= 2 and len(parts[-1]) <= 40 else None


def _headline(title: str) -> str | None:
    """A browser print's title is the page's <title>: "Headline | Section | Site" keeps its headline."""
    parts = [p.strip() for p in re.split(r"\s+[|–—]\s+|\s+-\s+", title) if p.strip()]
    return max(parts[:2], key=len) if parts else None


def assemble(pages: list[str], title: str | None = None) -> PdfText:
    """The article text of a PDF's extracted pages: running lines dropped, line-end hyphens joined."""
    lines = [[line.rstrip() for line in page.translate(_LIGATURES).splitlines()] for page in pages]
    running = _running_lines(lines)
    flat = " ".join(" ".join(page) for page in lines)
    # Looked up per hyphenated word: a substring search of the whole text each time was quadratic too.
    compounds, words = set(_COMPOUND.findall(flat)), set(_WORD.findall(flat))

    def join(m: re.Match[str]) -> str:
        hyphenated = f"{m.group(1)}-{m.group(2)}"
        if hyphenated in compounds and f"{m.group(1)}{m.group(2)}" not in words:
            return hyphenated  # a compound the text writes with its hyphen: only the line end goes
        return m.group(1) + m.group(2)

    starts: list[int] = []
    text = ""
    for page in lines:
        kept = [
            line
            for n, line in enumerate(page)
            if not (_at_edge(n, len(page)) and (_mask(line) in running or _COUNTER.match(line)))
        ]
        body = _HYPHENATED.sub(join, "\n".join(kept)).strip("\n")
        if text:
            # A sentence running on to the next page stays one paragraph; otherwise a page break
            # ends one.
            runs_on = not re.search(r"[.!?:\"”’)]\s*$", text) and re.match(r"\s*[a-z]", body)
            text += "\n" if runs_on else "\n\n"
        starts.append(len(text))
        text += body
    return PdfText(text + "\n", tuple(starts), title)


def _at_edge(n: int, count: int) -> bool:
    return n < _EDGE or n >= count - _EDGE


def _mask(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip())


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Lines (digits masked) at a page's top or bottom on at least 60% of the pages (two pages or more)."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for page in pages:
        edge = {_mask(line) for n, line in enumerate(page) if _at_edge(n, len(page)) and line.strip()}
        seen.update(edge)
    return {line for line, n in seen.items() if n >= max(2, 0.6 * len(pages))}
