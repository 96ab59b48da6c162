"""Blocks: every paragraph of a text, classed by its own shape, never by the words it names.

As jusText and trafilatura do: length, share of function words, share of capitalised words, final
punctuation, separators between short items (menus, link lists), repetition within the document,
runs of short lines, position before or after the article, legal or copyright markers.
:mod:`assistant.ingest.cleaning` turns these classes into a document's title, date, byline and body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.ingest.lexical import STOPWORDS
from assistant.ingest.paragraphs import split_paragraphs
from assistant.ingest.run_on import split_run_on

Span = tuple[int, int]

# Words; in Chinese and Japanese, written without spaces, each character counts as one.
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)
_MD_LINK_URL = re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_IMAGE_ONLY = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_URL_ONLY = re.compile(r"<?(?:https?://|www\.)\S+>?")
_TERMINAL = re.compile(r"[.!?…。！？؟][\"'”’)\]*_」』]*$")
# Legal and consent furniture: copyright lines, rights notices, policy links, cookie banners.
_LEGAL = re.compile(
    r"©|\(c\)\s*\d{4}|\ball rights reserved\b|\bcopyright\s+(?:©\s*)?\d{4}|\b\d{4}\s+copyright\b"
    r"|\bprivacy (?:policy|notice|statement)\b|\bterms (?:of|and) (?:use|service|conditions)\b"
    r"|\b(?:we|this (?:site|website)) uses? cookies\b|\bcookie (?:policy|settings|preferences)\b",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"\s[|•·]\s")


def words_of(text: str) -> list[str]:
    """The words of ``text``, lower-cased."""
    return _WORD.findall(text.lower())


def norm(text: str) -> str:
    """Letters and digits only, lower-cased: the key two spellings of one headline share."""
    # "U.S. Missile Sales" and "US Missile Sales" are the same headline.
    return "".join(words_of(text))


@dataclass
class Para:
    """One paragraph: its span, what it is computed on, and the class it is given."""

    span: Span  # content span (block marker skipped)
    marker: str
    text: str  # what features are computed on (Markdown link targets left out)
    words: list[str]
    source: str = ""  # the paragraph as written
    label: str = ""  # good, short, heading, list, or a drop reason
    kind: str = ""
    level: int = 0  # Markdown heading level
    english: bool = True  # False: the English function-word share says nothing about this text
    table: bool = False  # a row of a Markdown table (its rows run under a |---| delimiter row)

    @property
    def n(self) -> int:
        return len(self.words)

    @property
    def stop_share(self) -> float:
        if not self.english:
            return 0.3  # neutral: a text in another language has none of our function words
        return sum(w in STOPWORDS for w in self.words) / max(1, self.n)

    @property
    def caps_share(self) -> float:
        alpha = [w for w in re.findall(r"[^\W\d_][\w'’-]*", self.text)]
        return sum(w[0].isupper() for w in alpha) / max(1, len(alpha))

    @property
    def terminal(self) -> bool:
        return bool(_TERMINAL.search(self.text.rstrip(" *_")))


def label(p: Para, seen: dict[tuple[str, ...], int], i: int) -> str:
    """The paragraph's class by its own shape (position and neighbours come later)."""
    raw = p.text
    if p.marker == "---":
        return "front matter (page metadata, not article text)"
    if _IMAGE_ONLY.fullmatch(p.source):
        return "image"
    if p.n == 0:
        return "no words"
    if _URL_ONLY.fullmatch(raw):
        return "bare link"
    if p.n <= 40 and _LEGAL.search(raw):
        return "copyright or legal notice"
    key = tuple(p.words[:10])
    if p.n >= 6:
        if key in seen:
            return "repeats an earlier paragraph"
        seen[key] = i
    pieces = [s for s in _SEPARATORS.split(raw) if s.strip()]
    # A table row's cells are short by nature: they are facts, not menu items.
    if not p.table and len(pieces) >= 3 and all(len(words_of(s)) <= 5 for s in pieces):
        return "link list or menu (short items between separators)"
    # Prose that ends a sentence, or leads into a quote or a list ("She told the Times:").
    leads_in = p.text.rstrip(" *_").endswith(":")
    prose = (p.terminal or leads_in) and p.n >= 8 and p.stop_share >= 0.2
    if prose or (p.n >= 25 and p.stop_share >= 0.15):
        return "good"
    if p.marker in ("-", "1.", "|"):
        return "list"
    if p.terminal:
        return "short"
    if p.n >= 8 and p.stop_share < 0.1 and p.caps_share > 0.6:
        return "menu-like (few function words, mostly capitalised)"
    return "heading" if p.n <= 20 else "short"


def paragraphs_of(text: str, markdown: bool) -> list[Para]:
    """The text's paragraphs (:mod:`assistant.ingest.paragraphs`), block markers skipped, unclassed."""
    out = []
    # A page scraped onto one line is cut where its menu, headline, byline and footer meet (run_on.py).
    for para in (piece for p in split_paragraphs(text, markdown=markdown) for piece in split_run_on(text, p)):
        a, b = para.span
        if para.marker in ("#", ">", "-", "1."):
            skip = re.match(r"(?:#{1,6}|>|[-*+•▪◦‣]|\d{1,3}[.)])[ \t]*", text[a:b])
            a += skip.end() if skip else 0
        level = len(text[para.span[0] : a]) - len(text[para.span[0] : a].lstrip("#"))
        content = _MD_LINK_URL.sub("]", text[a:b]) if markdown else text[a:b]
        out.append(Para((a, b), para.marker, content, words_of(content), text[a:b], level))
    _mark_tables(out)
    return out


_DELIMITER_ROW = re.compile(r"\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?")


def _mark_tables(paras: list[Para]) -> None:
    """Rows in a run of ``|`` lines that holds a delimiter row form a table; a lone ``| a | b |`` is not."""
    i = 0
    while i < len(paras):
        j = i
        while j < len(paras) and paras[j].marker == "|":
            j += 1
        if any(_DELIMITER_ROW.fullmatch(p.source.strip()) for p in paras[i:j]):
            for p in paras[i:j]:
                p.table = True
        i = max(j, i + 1)


def mark_runs(paras: list[Para], keep: set[int]) -> None:
    """Three or more short lines in a row (no sentence among them) are a menu or a link list.

    ``keep``: the headline, byline and date lines, which often stand together; they break a run.
    """
    i = 0
    while i < len(paras):
        j = i
        while j < len(paras) and j not in keep and paras[j].label == "heading" and paras[j].marker != "#":
            j += 1
        if j - i >= 3:
            for p in paras[i:j]:
                p.label = "link list or menu (a run of short lines)"
        i = max(j, i + 1)


def mark_stray_lists(paras: list[Para], last: int, body_words: set[str]) -> None:
    """A run of two or more list items after the article that share few words with it is a link
    list ("Most read", "Related stories"), not the article's closing facts."""
    if last < 0 or not body_words:
        return  # no article prose to compare with: a note of lists is all lists
    i = last + 1
    while i < len(paras):
        j = i
        # Bullet items only: a table's rows are its facts, wherever the table stands.
        while j < len(paras) and paras[j].label == "list" and not paras[j].table and not paras[j].terminal:
            j += 1
        items = [w for p in paras[i:j] for w in p.words if w not in STOPWORDS]
        # A list the text introduces ("The package includes:") is the story's; so is one that shares
        # half its words with the story (closing facts repeat its words; other headlines do not).
        introduced = paras[i - 1].text.rstrip().endswith(":")
        if j - i >= 2 and not introduced and sum(w in body_words for w in items) < 0.5 * len(items):
            for p in paras[i:j]:
                p.label = "link list after the article (its items share few words with the story)"
        i = max(j, i + 1)


def verdict(p: Para, i: int, first: int, last: int, title_span: Span | None) -> tuple[str, str]:
    """(kind, reason) of paragraph ``i`` once the article's first and last good paragraphs are known."""
    if p.marker == "---":
        return "dropped", p.label
    if title_span and p.span[0] <= title_span[0] and title_span[1] <= p.span[1]:
        return "title", "headline"
    if p.kind == "byline":
        return "byline", p.label if p.label == "wire credit line" else "byline"
    if p.kind == "date":
        return "date", "dateline"
    if p.label in ("good", "list"):
        return "body", ""
    if p.label in ("short", "heading"):
        if first <= i <= last:
            # Inside the article a short line is content unless it is a bare subheading.
            fact = p.label == "short" or bool(re.search(r"\d", p.text))
            return ("body", "") if fact else ("dropped", "subheading")
        zone = "before" if i < first else "after"
        if p.n >= 6 and p.stop_share >= 0.2 and p.caps_share < 0.6:
            return "body", ""  # a standfirst or a closing sentence, written as prose
        if i == last + 1 and p.terminal and p.n >= 8 and p.stop_share >= 0.1 and p.caps_share < 0.5:
            # The story's last sentence right after it, terse as wire copy is ("Acme employs 8,000
            # staff worldwide, chief executive Tom Reed told reporters at the site.").
            return "body", ""
        return "dropped", f"page furniture {zone} the article"
    return "dropped", p.label
