"""A page scraped onto one line: its header and footer found inside the one paragraph.

Some scrapers join a page's blocks with spaces. The menu, the headline, the byline and the date then
run straight into the first sentence, and the related links and the copyright line into the last:
"Menu Home Markets Login Harbour Bakery sold to Nordvik in $80m deal By Jane Doe | Business | Monday,
19 May 2025 Harbour Bakery, the family-owned chain, ...". Read as one paragraph, the page has no title,
author or date, and its first sentence quotes the menu. Such a paragraph is cut where those parts meet,
so the cleaner reads them as the lines they were (the menu as furniture, the headline as the title, the
byline and its date as the header, the footer as furniture); the story between is left as it is.

A paragraph of any length that opens with a byline and its date is cut after the date too: a PDF's
text layer joins "By Jane Doe · Published March 14, 2024" to the lines of the story below it.
"""

from __future__ import annotations

import itertools
import re

from assistant.ingest.doc_meta import find_byline, find_date
from assistant.ingest.lexical import STOPWORDS
from assistant.ingest.paragraphs import Paragraph, trimmed

#: A paragraph at least this long on one line is a run-on page, not a paragraph someone wrote.
RUN_ON = 1500
#: How far into it a byline is looked for, and how far after "By" its date may come.
HEAD = 400
BYLINE_TO_DATE = 120
#: How far from its end a copyright line is looked for.
TAIL = 600
_BY = re.compile(r"\bBy[ \t]+[A-Z]")
# Narrower than blocks._LEGAL: a story's last sentences may name a privacy policy or cookies; they
# rarely hold a copyright sign.
_COPYRIGHT = re.compile(r"©|\bCopyright\b|\([cC]\)\s*\d{4}|\b[Aa]ll [Rr]ights [Rr]eserved\b")
# Where a sentence ends: ". The", or glued by the scraper: "year.Chief".
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?(?:\s+|(?=[A-Z][a-z]))(?=[\"“‘(]?[A-Z])")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")  # a word begins with a letter, in any script
_CALENDAR = re.compile(
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun|to|yester)day|jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?"
    r"|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?",
    re.IGNORECASE,
)


def split_run_on(text: str, para: Paragraph) -> list[Paragraph]:
    """``para`` cut into menu, headline, byline, story and footer when it is a run-on page, or into
    byline and story when it opens with a byline and its date; else ``[para]``."""
    a, b = para.span
    if para.marker:
        return [para]
    if para.lines == 1 and b - a >= RUN_ON:
        cuts = [a, *_header_cuts(text, a, b), *_footer_cut(text, a, b), b]
    elif _BY.match(text, a):
        cuts = [a, *_header_cuts(text, a, b), b]
    else:
        return [para]
    spans = [trimmed(text, x, y) for x, y in itertools.pairwise(cuts)]
    return [Paragraph(s, 1) for s in spans if s[1] > s[0]]


def _header_cuts(text: str, a: int, b: int) -> list[int]:
    """Where the headline, the byline and the story begin: a "By Name" near the start with a date
    soon after it ("By Jane Doe | Business | Monday, 19 May 2025"), and a headline before it."""
    by = _BY.search(text, a, min(b, a + HEAD))
    # Not "... it said. By Tuesday 5 March the council had ...": a headline does not end a sentence,
    # and a byline names a person, not a day or a month.
    if not by or text[a : by.start()].rstrip().endswith((".", "!", "?", '"', "”")):
        return []
    names = find_byline(text, by.start(), min(b, by.start() + BYLINE_TO_DATE))
    if not names or _CALENDAR.fullmatch(text[names[0] : names[1]].split()[0]):
        return []
    dated = find_date(text, names[1], min(b, by.start() + BYLINE_TO_DATE))
    if not dated:
        return []
    story = dated[0][1]
    while story < b and not text[story].isalnum() and text[story] not in '"“‘(':
        story += 1  # past the separators after the date ("| ", "— ")
    return [c for c in (_headline_start(text, a, by.start(), story, b), by.start(), story) if a < c < b]


def _headline_start(text: str, a: int, by: int, story: int, b: int) -> int:
    """Where the headline begins in the words before the byline: the menu before it shares few words
    with the story ("Home Markets Login"), the headline most ("Harbour Bakery sold to Nordvik"). The
    start is the word after which the story's words most outnumber the others."""
    told = {w.lower() for w in _WORD.findall(text, story, b)}
    words = [(m.start(), m.group().lower()) for m in _WORD.finditer(text, a, by)]
    content = [(at, w in told) for at, w in words if w not in STOPWORDS]
    best, best_score, score = a, 0, 0
    for at, known in reversed(content):  # the score of each suffix, from the last word back
        score += 1 if known else -1
        if known and score >= best_score:  # ">=": of equal scores, the longer headline
            best, best_score = at, score
    return best


def _footer_cut(text: str, a: int, b: int) -> list[int]:
    """Where the footer begins: the start of the sentence holding a copyright line near the end (the
    links and share buttons before "© 2025 ..." run into it in such a scrape)."""
    mark = _COPYRIGHT.search(text, max(a, b - TAIL), b)
    if not mark:
        return []
    ends = [m.end() for m in _SENTENCE_END.finditer(text, max(a, b - TAIL - 400), mark.start())]
    return [ends[-1]] if ends else []
