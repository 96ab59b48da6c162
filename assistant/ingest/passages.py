"""Passages: split a document's body into sentences, and sentences into passages.

Every sentence and passage keeps its character span in the source text. The splitter knows
abbreviations ("U.S.", "Mr."), initials ("J. K. Rowling"), decimals ("$1.405 billion"),
closing quotes after a full stop, and all-lower-case text (where sentences start lower case).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from assistant.ingest.cleaning import SeedDocument
from assistant.ingest.paragraphs import trimmed

#: Bump when the splitting rules change: the index then rebuilds instead of mixing old and new cuts.
SPLITTER_VERSION = "5"  # 5: an abbreviation opening a paragraph ("Dr. Ines ...") ends no sentence

Span = tuple[int, int]

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "col", "lt", "sgt", "capt", "cmdr",
    "gov", "sen", "rep", "rev", "hon", "pres", "supt", "det", "insp", "inc", "corp", "co", "ltd", "plc",
    "llc", "bros", "vs", "etc", "e.g", "i.e", "cf", "al", "approx", "dept", "est", "fig", "no", "nos",
    "vol", "ed", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "a.m", "p.m", "ft", "oz",
    "lb", "lbs", "km", "mi", "ave", "blvd", "rd", "u.s", "u.k", "u.n", "e.u",
}  # fmt: skip
# Words that open a sentence after a dotted acronym: "... in the U.S. The next day ..."
_STARTERS = {
    "the", "a", "an", "he", "she", "it", "they", "we", "i", "you", "this", "that", "these", "those",
    "but", "and", "in", "on", "at", "as", "if", "when", "while", "after", "before", "however", "there",
    "his", "her", "their", "its", "our", "my", "some", "many", "most", "one", "two", "for", "so", "yet",
}  # fmt: skip
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+)")
# Paragraphs glued by a scraper: "years earlier.Biden's gaffes" (a full stop straight into a word).
_GLUED = re.compile(r"(?<=[a-z0-9)\"”’%])[.!?…]+[\"'”’)\]]*(?=[\"“‘]?[A-Z][a-z])")
_MAX_SENTENCE = 600  # longer runs without a full stop (lists, tables) are cut at white space


@dataclass(frozen=True)
class Passage:
    """A run of consecutive sentences from one document."""

    source: str
    ordinal: int  # position among the document's passages
    sentences: tuple[Span, ...]  # spans in the source text
    kind: str = "body"  # "body", or "header" for the title/date passage


def split_sentences(text: str, span: Span, *, lower_case: bool = False) -> list[Span]:
    """Sentence spans inside ``text[span[0]:span[1]]``, trimmed of white space."""
    start, end = span
    cuts = [start]
    for match in _BOUNDARY.finditer(text, start, end):
        cut = match.end()
        if _is_boundary(text, match.start(), cut, end, lower_case):
            cuts.append(cut)
    cuts.extend(m.end() for m in _GLUED.finditer(text, start, end) if _is_glued(text, m.start(), m.end()))
    cuts = sorted(set(cuts))
    cuts.append(end)
    spans: list[Span] = []
    for a, b in itertools.pairwise(cuts):
        spans.extend(_wrap(text, trimmed(text, a, b)))
    return [s for s in spans if s[1] > s[0]]


def _word_before(text: str, punct_start: int) -> str:
    """The word before a full stop, lower-cased, from the last white space of any kind ("Dr." opening
    a paragraph follows a line break: read from the last space it was "day.\n\ndr")."""
    word_start = max(text.rfind(c, 0, punct_start) for c in " \n\t") + 1
    return text[word_start:punct_start].lstrip("\"'“‘([").lower()


def _is_boundary(text: str, punct_start: int, cut: int, end: int, lower_case: bool) -> bool:
    nxt = re.match(r"\s+([\"'“‘(\[]?)(\S?)", text[cut : min(end, cut + 8)])
    if not nxt or not nxt.group(2):
        return False
    first = nxt.group(2)
    if not (first.isupper() or first.isdigit() or nxt.group(1) or (lower_case and first.isalpha())):
        return False
    if text[punct_start] != ".":
        return True
    token = _word_before(text, punct_start)
    if len(token) == 1 and token.isalpha():
        return False  # an initial: "J. Smith"
    if token in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", token):
        next_word = re.match(r"\s*[\"'“‘(\[]?([A-Za-z]+)", text[cut : cut + 30])
        return bool(next_word and next_word.group(1).lower() in _STARTERS and token not in _TITLES)
    return True


def _is_glued(text: str, punct_start: int, cut: int) -> bool:
    """A glued boundary, unless the word before is an abbreviation, an initialism or part of a URL."""
    token = _word_before(text, punct_start)
    word_end = re.match(r"\S*", text[cut:])
    rest = word_end.group() if word_end else ""
    if any(mark in token + rest for mark in ("/", "@", "www", "://")) or re.search(r"\.[a-z]{2,}$", rest):
        return False  # a URL, an e-mail address or a domain name
    last = token.rsplit(".", 1)[-1]
    return not (
        last in _ABBREVIATIONS or token in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]?", token)
    )


_TITLES = {"mr", "mrs", "ms", "dr", "prof", "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep", "rev",
           "st", "mt"}  # fmt: skip


def _wrap(text: str, span: Span) -> list[Span]:
    """Cut an overlong sentence at white space so no quote is a wall of text."""
    a, b = span
    out = []
    while b - a > _MAX_SENTENCE:
        cut = text.rfind(" ", a + _MAX_SENTENCE // 2, a + _MAX_SENTENCE)
        if cut <= a:
            cut = a + _MAX_SENTENCE
        out.append(trimmed(text, a, cut))
        a = trimmed(text, cut, b)[0]
    out.append((a, b))
    return out


def is_lower_case(text: str) -> bool:
    """True for text written without capitals (some corpora are lower-cased)."""
    letters = [c for c in text[:5000] if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) < 0.01 * len(letters)


def split_document(doc: SeedDocument, passage_chars: int) -> list[Passage]:
    """The document's passages: a header (title, date, byline), then body sentences to ~passage_chars."""
    passages: list[Passage] = []
    header: list[Span] = []
    for span in sorted(s for s in (doc.title_span, doc.date_span, doc.author_span) if s):
        if not header or span[0] >= header[-1][1]:  # a byline and date on one line never overlap
            header.append(span)
    if header:
        passages.append(Passage(doc.source, 0, tuple(header), kind="header"))
    lower = is_lower_case(doc.text)
    current: list[Span] = []
    size = 0
    for paragraph in doc.body:
        for sentence in split_sentences(doc.text, paragraph, lower_case=lower):
            length = sentence[1] - sentence[0]
            if current and size + length > passage_chars:
                passages.append(Passage(doc.source, len(passages), tuple(current)))
                current, size = [], 0
            current.append(sentence)
            size += length + 1
    if current:
        passages.append(Passage(doc.source, len(passages), tuple(current)))
    return passages


# Markdown link and image syntax (an address may hold one level of parentheses and a "title"). A
# sentence may start or end inside a link, so a bare "](address)" tail is a link too.
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_MD_TAIL = re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_BARE_URL = re.compile(r"<?https?://\S+>?")
_EMPHASIS = re.compile(r"\*{2,}|_{2,}")


def link_text(text: str) -> str:
    """``text`` with each Markdown link shown as its words: "[the report](https://...)" -> "the report"."""
    if "](" not in text:
        return text
    out = _MD_TAIL.sub("", _MD_LINK.sub(r"\1", text))
    if text.lstrip().startswith("[") and "]" not in out:
        out = out.lstrip().removeprefix("[")  # the sentence opens inside a link
    return out


def embedding_text(sentence: str) -> str:
    """What the model reads of a sentence: Markdown link targets, bare URLs and emphasis marks left out.

    The quote stays the sentence as written; only its vector is spared the noise of
    "[Reuters](https://example.com/subject/reuters/)".
    """
    if "](" not in sentence and "://" not in sentence and "*" not in sentence and "__" not in sentence:
        return sentence
    text = _BARE_URL.sub("", link_text(sentence))
    return " ".join(_EMPHASIS.sub("", text).split()) or sentence


def passage_text(doc_text: str, passage: Passage) -> tuple[str, list[tuple[int, int, int, int]]]:
    """The passage's sentences joined by single spaces, and each sentence's (local, source) spans."""
    parts, spans, pos = [], [], 0
    for start, end in passage.sentences:
        sentence = doc_text[start:end]
        spans.append((pos, pos + len(sentence), start, end))
        parts.append(sentence)
        pos += len(sentence) + 1
    return " ".join(parts), spans
