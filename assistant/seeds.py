"""Seeds: read the documents in ``seeds/`` and find their title, date and body.

Nothing is rewritten: a document keeps its text exactly as read (UTF-8), and the cleaning only
decides which character spans are body, title or date. That way every quote keeps its offsets.
Web boilerplate ("Like Us on Facebook", photo credits, a repeated headline) is left out by
general rules about the shape of a line, so the same rules serve any news page.
"""

from __future__ import annotations

import hashlib
import html.parser
import logging
import re
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SEED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")

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


@dataclass(frozen=True)
class SeedProblem:
    """A seed file that was left out, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


# --- reading -------------------------------------------------------------------------------------


def seed_files(seeds_dir: Path) -> list[Path]:
    """Every file under ``seeds_dir`` that is not hidden, sorted by path."""
    if not seeds_dir.is_dir():
        return []
    return sorted(
        p
        for p in seeds_dir.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(seeds_dir).parts) and not p.is_dir()
    )


def load_seeds(seeds_dir: Path, max_bytes: int) -> tuple[list[SeedDocument], list[SeedProblem]]:
    """Read every seed; bad ones (binary, not UTF-8, empty, too big, unreadable) become problems."""
    documents: list[SeedDocument] = []
    problems: list[SeedProblem] = []
    for path in seed_files(seeds_dir):
        source = path.relative_to(seeds_dir).as_posix()
        result = read_seed(path, source, max_bytes)
        if isinstance(result, SeedProblem):
            log.warning("Skipping seed %s", result)
            problems.append(result)
        else:
            documents.append(result)
    return documents, problems


def read_seed(path: Path, source: str, max_bytes: int) -> SeedDocument | SeedProblem:
    """Read and parse one seed file, or say why it cannot be used."""
    if path.suffix.lower() not in SEED_SUFFIXES:
        return SeedProblem(
            source, f"unsupported file type {path.suffix or '(none)'!r}; use .txt, .md or .html"
        )
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # reading a FIFO would wait forever for a writer
            return SeedProblem(source, "not a regular file (a pipe, socket or device)")
        size = info.st_size
        if size > max_bytes:
            return SeedProblem(
                source,
                f"{size / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB limit "
                "(raise ASSISTANT_MAX_SEED_MB to index it)",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        return SeedProblem(source, "file vanished while indexing")
    except OSError as exc:
        return SeedProblem(source, f"unreadable ({exc.strerror or exc})")
    if b"\x00" in data[:8192]:
        return SeedProblem(source, "binary file, not text")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SeedProblem(source, f"not valid UTF-8 (byte {exc.start}); re-save it as UTF-8")
    if not raw.strip():
        return SeedProblem(source, "empty file")
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        text, html_title = visible_text(raw)
        return parse_document(source, text, digest, markdown=False, known_title=html_title)
    return parse_document(source, raw, digest, markdown=suffix in (".md", ".markdown"))


# --- cleaning ------------------------------------------------------------------------------------

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


# --- HTML ----------------------------------------------------------------------------------------

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
