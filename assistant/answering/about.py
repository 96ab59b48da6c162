"""Questions about a document itself: its headline, date, author, what it is about.

News is written lead-first and headed by a headline and dateline, so these are answered from the
document's header passage and its opening sentence rather than by scoring every sentence.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant.ingest.lexical import tokens

if TYPE_CHECKING:
    from assistant.indexing.evidence import DocumentInfo, PassageHit
# Questions about the document itself: its date or its headline.
_ASKS_DATE = re.compile(
    r"\b(?:when|(?:what|which) (?:date|day|time|year|month))\b"
    r".*\b(?:publish\w*|post(?:ed)?|updated?|written|wrote|released?"
    r"|dated?)\b(?!.*\b(?:due|expected|planned|finished|built|opened|launched)\b)"
    r"|\bdate of (?:the|this) (?:article|story|piece|report)\b"
    r"|\bwhat (?:date|day)\b.*\b(?:article|story|piece|report)\b",
    re.I,
)
# A date question is about the document only when it names one ("When was the article published?") or
# nothing else ("When was it published?"): "When did Priestley publish his findings?" or "When was the
# album released?" ask about something the story tells of, and its dateline is not their answer.
_NAMES_DOCUMENT = re.compile(r"\b(?:article|story|piece|report|post|page|document|column|blog)s?\b", re.I)
# "What is the headline?", "the article's title" — not "What is Hasker's full title?".
_ASKS_TITLE = re.compile(
    r"\bheadlines?\b|\b(?:article|story|piece|report|document)s?(?:'s|’s|s’)? titles?\b"
    r"|\btitle of (?:the|this|that) (?:article|story|piece|report|document)\b"
    r"|\bwhat(?:'s| is| was) (?:the|its) title\b",
    re.I,
)
_ASKS_AUTHOR = re.compile(
    r"\bwho (?:wrote|writes|has written|authored|penned|reported)"
    r"(?: (?:this|that|it|the|each|every|these|those)"
    # "the Federer Dubai story": a few topic words may name which document; before "report" only
    # one ("the harbour report"), since a report may be what the story is about ("the UN climate report")
    r"(?:(?: [\w'’-]+){0,3} (?:article|story|piece)s?|(?: [\w-]+)? reports?)?)?\s*[?.!]*\s*$"
    # "Who wrote the article about Nick Griffin's arrest?", "the DW piece on Berlin's colonial past?"
    # (not "report": one may be the story's subject)
    r"|\bwho (?:wrote|has written|authored|penned) (?:this|that|the)(?: [\w'’-]+){0,2}"
    r" (?:article|story|piece) (?:about|on) "
    r"|\bwho(?:'s| is| was| were)(?: the)? (?:author|writer|reporter|journalist)s?\b"
    # "the author of the article?", not "What does the author of the report want done?"
    r"|\b(?:author|writer|byline|reporter)s? of (?:this|the|that) (?:article|story|piece|page)\s*[?.!]*\s*$"
    r"|\bwho (?:is|was) (?:it|this|the (?:article|story|piece|report)) (?:written |reported )?by\b"
    r"|\bwhose (?:article|story|piece|byline)\b",
    re.I,
)
_ASKS_GIST = re.compile(
    r"\bwhat(?:'s| is| was)? (?:this|the|it)"
    r"(?:(?: [\w'’-]+){0,3} (?:article|story|piece|report|news|text|document))?"
    r" about\b(?!\s*\w)"
    r"|\bsummar(?:y|ise|ize)\b|\bmain (?:point|story|topic|idea|news)\b|\bgist\b",
    re.I,
)


_ABOUT = (_ASKS_TITLE, _ASKS_AUTHOR, _ASKS_GIST)
# The words of a question about a document itself: what it asks for and how it speaks of the document.
_ABOUT_WORDS = frozenset(
    tokens(
        "headline headlines title titles author authors writer writers reporter reporters journalist "
        "journalists byline bylines wrote written write writes penned authored reported publish published "
        "posted updated released dated date dates day time summary summarise summarize main point points "
        "topic idea gist article articles story stories piece pieces report reports page pages document "
        "documents text news each every both whole full original originally first last initially "
        "year month week hour"
    )
)


def asks_about_document(question: str) -> bool:
    """True for a question about a document itself: its headline, date, author or gist."""
    return asks_date(question) or any(pattern.search(question) for pattern in _ABOUT)


def asks_date(question: str) -> bool:
    """True for a question about when the document itself was published, posted or updated."""
    return bool(_ASKS_DATE.search(question)) and (
        bool(_NAMES_DOCUMENT.search(question)) or names_no_topic(question)
    )


def topic_words(question: str) -> list[str]:
    """The question's words beyond those that ask about a document ("headline", "wrote", "article")."""
    return [t for t in tokens(question) if t not in _ABOUT_WORDS]


def names_no_topic(question: str) -> bool:
    """True when a question about a document says nothing of which one: "Who wrote the article?",
    not "Who wrote the article about the moon lander?"."""
    return not topic_words(question)


def about_document(question: str, document: DocumentInfo) -> list[tuple[PassageHit, int]] | None:
    """Answer questions about the article itself: headline, date, author (header), gist (lead sentence).

    Returns the sentences to quote as (passage, sentence index), [] when the question is not about
    the document itself, or None when it asks for its headline, author or date and the document's
    header has none: then the article doesn't say, whatever its body mentions.
    """
    header, lead = document.header, document.lead
    if _ASKS_GIST.search(question):
        # News is written lead-first: the headline and the opening sentence say what the story is about.
        picks = (
            [(header, i) for i in range(len(header.sentences)) if _role(header, i) == "title"]
            if header
            else []
        )
        if lead and lead.sentences:
            picks.append((lead, 0))
        return picks
    want_date = asks_date(question)
    want_title = bool(_ASKS_TITLE.search(question))
    want_author = bool(_ASKS_AUTHOR.search(question))
    # A headline, byline or date is read off the document's header; without one there the document
    # doesn't say, whatever its body mentions (its title may only be its file name).
    if header is None:
        return None if want_date or want_author or want_title else []
    picks = []
    for i in range(len(header.sentences)):
        part = _role(header, i)
        if (
            (want_date and part == "date")
            or (want_title and part == "title")
            or (want_author and part == "author")
        ):
            picks.append((header, i))
    if not picks and (want_date or want_author or want_title):
        return None
    return picks


def is_headline(hit: PassageHit, index: int) -> bool:
    """True when sentence ``index`` of ``hit`` is its document's headline, in its header."""
    return hit.kind == "header" and _role(hit, index) == "title"


def _role(header: PassageHit, index: int) -> str:
    """What a header sentence is: the headline, the date, or (neither) the byline's names."""
    text = " ".join(header.sentence_text(index).split())
    if header.date is not None and text == header.date:
        return "date"
    if text == " ".join(header.title.split()):
        return "title"
    return "author"
