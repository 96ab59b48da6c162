"""Document metadata found in text: dates (as written, and as ISO), bylines, front-matter fields."""

from __future__ import annotations

import datetime as dt
import re

Span = tuple[int, int]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
DATE_RE = re.compile(
    # Jun 16, 2020 (also glued to a word before it: "PrintFeb. 8, 2024")
    rf"(?:\b|(?-i:(?<=[a-z])(?=[A-Z])))(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    r"(?P<y1>\d{4})\b"
    rf"|\b(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{_MONTH}),?\s+(?P<y2>\d{{4}})\b"  # 16 June 2020
    r"|\b(?P<y3>\d{4})-(?P<m3>\d{2})-(?P<d3>\d{2})(?:\b|(?=T\d))"  # 2020-06-16
    r"|\b(?P<m4>\d{1,2})/(?P<d4>\d{1,2})/(?P<y4>\d{4})\b",  # 6/16/2020 (US order)
    re.IGNORECASE,
)
# A name: capitalised words, with the particles names carry ("de", "van") and initials ("J.").
_NAME = r"[A-Z][\w'’.-]*(?:[ \t]+(?:[A-Z][\w'’.-]*|de|del|der|van|von|da|di|du|le|la|bin|al|ibn))*"
_NAMES = rf"{_NAME}(?:(?:[ \t]*,[ \t]*|[ \t]+(?:and|&)[ \t]+){_NAME})*"
_LOWER_NEXT = re.compile(r"[ \t]+[a-z]")
#: Newsroom job titles that follow a byline's name ("By Jane Doe, Political Editor").
_ROLES = {"editor", "correspondent", "reporter", "writer", "columnist", "contributor", "staff", "producer"}
_GLUED_WORD = re.compile(r"\b[A-Z][a-z]{4,}(?=[A-Z][a-z])")
_BYLINE_RE = re.compile(
    rf"(?i:(?:(?:written|words|story|text|reporting|reported)[ \t]+)?by)[: \t]+(?P<names>{_NAMES})"
    rf"|(?i:author|authors|byline|by)[ \t]*:[ \t]*(?P<names2>{_NAMES})"
)
# A wire story's closing credit: "(Reporting by A and B; Writing by C; Editing by D)", or its
# contact line: "To contact the reporter on this story: A in Atlanta at a@example.com".
_CREDIT_RE = re.compile(
    rf"^\(.*?(?<![Aa]dditional )\b(?:Reporting|Writing) by[ \t]+(?P<names>{_NAMES})"
    rf"|\b(?i:reporters?) on this story:?[ \t]+(?P<names2>{_NAMES})",
    re.S | re.M,
)
_FIELD_RE = re.compile(
    r"^(?P<key>title|headline|date|published|author)[ \t]*:[ \t]*(?P<value>.+?)[ \t]*$", re.I | re.M
)


def parse_date(match: re.Match[str]) -> str | None:
    """The ISO date (YYYY-MM-DD) a DATE_RE match names, or None when it is no real date."""
    g = match.groupdict()
    try:
        if g["y1"] or g["y2"]:
            month = _MONTHS.index((g["m1"] or g["m2"])[:3].lower()) + 1
            day, year = int(g["d1"] or g["d2"]), int(g["y1"] or g["y2"])
        elif g["y3"]:
            year, month, day = int(g["y3"]), int(g["m3"]), int(g["d3"])
        else:
            month, day, year = int(g["m4"]), int(g["d4"]), int(g["y4"])
        return dt.date(year, month, day).isoformat()
    except (ValueError, TypeError):
        return None


def find_date(text: str, start: int, end: int) -> tuple[Span, str] | None:
    """The first real date in ``text[start:end]``: its span and its ISO form."""
    for match in DATE_RE.finditer(text, start, end):
        iso = parse_date(match)
        if iso:
            return match.span(), iso
    return None


def written_date(iso: str) -> str:
    """An ISO date as a reader writes it: "24 September 2019"."""
    day = dt.date.fromisoformat(iso[:10])
    return f"{day.day} {day.strftime('%B')} {day.year}"


def find_byline(text: str, start: int, end: int) -> Span | None:
    """The span of the author names in a byline ("By Jane Doe and John Roe | May 1") at ``start``,
    Markdown emphasis around it or not ("*By Jane Doe, Science Editor — 4 March 2025*")."""
    start = unmarked(text, start, end)[0]
    match = _BYLINE_RE.match(text, start, end)
    if not match:
        return None
    group = "names" if match.group("names") else "names2"
    a, b = match.span(group)
    b = unmarked(text, a, b)[1]  # "_By Tom Okafor_": a name's characters include the underscore
    names = text[a:b]
    # A date or time that follows the names is not part of them ("By Jane Doe Feb. 8").
    cut = DATE_RE.search(names)
    if cut:
        b = a + len(names[: cut.start()].rstrip(" ,|-–—"))
    # Nor is page furniture a scraper glued on ("By Tom FordhamGetty ImagesPrint"). A name's own
    # inner capital follows a short prefix (McDonald, DeSantis, MacKenzie, FitzGerald); a glue point
    # follows a whole word of five letters or more.
    glued = _GLUED_WORD.search(text, a, b)
    if glued:
        b = glued.end()
    # A role after a comma is not a second author: "By Alex Morgan, Tennis correspondent" (the role
    # goes on in lower case) or "By Jane Doe, Political Editor" (it ends in a newsroom job title).
    while "," in text[a:b]:
        comma = text.rindex(",", a, b)
        piece = text[comma + 1 : b].split()
        if not (_LOWER_NEXT.match(text, b) or (piece and piece[-1].lower() in _ROLES)):
            break
        b = a + len(text[a:comma].rstrip())
    return (a, b) if b > a else None


def unmarked(text: str, start: int, end: int) -> Span:
    """``text[start:end]`` without the Markdown emphasis marks and spaces around it."""
    while start < end and text[start] in "*_ \t":
        start += 1
    while end > start and text[end - 1] in "*_ \t":
        end -= 1
    return start, end


def find_credit(text: str, start: int, end: int) -> Span | None:
    """The reporters named in a story's closing credit, "(Reporting by A; Editing by B)"."""
    match = _CREDIT_RE.search(text, start, end)
    if not match:
        return None
    return match.span("names") if match.group("names") else match.span("names2")


def front_matter_fields(text: str, span: Span) -> dict[str, Span]:
    """Spans of the top-level ``title``/``date``/``author`` values in a YAML front-matter block."""
    fields: dict[str, Span] = {}
    for match in _FIELD_RE.finditer(text, span[0], span[1]):
        a, b = match.span("value")
        while a < b and text[a] in "'\" ":
            a += 1
        while b > a and text[b - 1] in "'\" ":
            b -= 1
        if b > a and match.group("key").lower() not in fields:
            fields[match.group("key").lower()] = (a, b)
    return fields


# A wire or outlet dateline at the start of a story: "LONDON (Reuters) -", "WASHINGTON (AP) —".
_DATELINE_OUTLET = re.compile(r"^[^\n()]{0,60}?\((?P<outlet>[A-Z][\w&.' ]{0,30}?)\)\s*[-–—:]", re.M)
# A dateline whose dash a scraper stripped ("TOKYO (AP)  Japan's space agency said"): only after a
# place in capitals, so "The agency (JAXA) Director said" is not one.
_CAPS_DATELINE_OUTLET = re.compile(
    r"^[A-Z][A-Z.,'’ -]{1,40}\((?P<outlet>[A-Z][\w&.' ]{0,30}?)\)\s+(?=[A-Z])", re.M
)
# A copyright line with "all rights reserved" names the publisher: "Copyright 2024 The Associated
# Press. All Rights Reserved." A photo credit ("© Getty Images") lacks the reservation.
_COPYRIGHT_OUTLET = re.compile(
    r"^\W*(?:(?i:copyright)\b|©|\([cC]\))\W*(?:©\s*)?(?:\d{4}(?:\s*[-–]\s*\d{4})?,?\s+)?(?:[Tt]he\s+)?"
    r"(?P<outlet>[A-Z][\w&' ]{1,40}?)\W*\s+(?i:all rights reserved)\b",
    re.M,
)
# Front-matter fields naming the publisher, or a URL whose host does.
_OUTLET_FIELD_RE = re.compile(
    r"^(?P<key>site_?name|site|publisher|source|outlet|publication|url|link|canonical_url|feed)"
    r"[ \t]*:[ \t]*['\"]?(?P<value>[^'\"\n]+?)['\"]?[ \t]*$",
    re.I | re.M,
)
_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://(?:www\d?\.|m\.|amp\.)?(?P<host>[^/:?#\s]+)", re.I)
# The second-level label of a host: "vancouversun" in www.vancouversun.com, "bbc" in bbc.co.uk.
_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "ac", "edu"}


def site_of_host(host: str) -> str | None:
    """The publisher's name a host gives: "pressgazette.co.uk" -> "pressgazette", "DW.COM" -> "DW"."""
    labels = [x for x in host.strip().strip(".").split(".") if x]
    if len(labels) < 2:
        return None
    labels = labels[:-1]  # the top-level domain
    if len(labels) >= 2 and labels[-1].lower() in _SECOND_LEVEL:
        labels = labels[:-1]
    return labels[-1] or None


def clean_site(name: str | None) -> str | None:
    """A site name as a reader says it: a bare domain becomes its name ("DW.COM" -> "DW")."""
    if not name:
        return None
    name = " ".join(name.split()).strip(" |-–—")
    if re.fullmatch(r"[\w-]+(?:\.[\w-]+)+", name):
        return site_of_host(name)
    return name or None


def find_outlet(text: str, spans: tuple[Span, ...], front: Span | None = None) -> str | None:
    """The outlet a text names for itself: a front-matter field, a wire dateline "(Reuters) -", or
    its copyright line.

    Only the text's own words count (never a list of known outlets): the publisher's field in a
    Markdown export, the host of its URL field, the parenthesised name in the first paragraphs'
    dateline, or the holder in a "Copyright ... All rights reserved" line. A holder whose initials are
    the dateline's name gives both: "Associated Press (AP)".
    """
    if front is not None:
        found: dict[str, str] = {}
        for match in _OUTLET_FIELD_RE.finditer(text, front[0], front[1]):
            found.setdefault(match.group("key").lower().replace("_", ""), match.group("value").strip())
        for key in ("sitename", "site", "publisher", "outlet", "publication", "source"):
            if key in found and not _HOST.match(found[key]):
                return clean_site(found[key])
        for key in ("url", "canonicalurl", "link", "feed", "source"):
            host = _HOST.match(found.get(key, ""))
            if host:
                return site_of_host(host.group("host"))
    # Photo captions can come before the story: a capitals dateline is looked for a little further.
    datelines = (
        match.group("outlet").strip()
        for pattern, paragraphs in ((_DATELINE_OUTLET, 3), (_CAPS_DATELINE_OUTLET, 10))
        for a, b in spans[:paragraphs]
        if (match := pattern.match(text, a, min(b, a + 120)))
    )
    dateline = next(datelines, None)
    holder = next((m.group("outlet").strip() for m in _COPYRIGHT_OUTLET.finditer(text)), None)
    if holder and dateline and dateline != holder:
        # "Associated Press (AP)": the full name, and the short one the story itself uses.
        initials = "".join(w[0] for w in holder.split() if w[:1].isupper())
        return f"{holder} ({dateline})" if initials == dateline else dateline
    return dateline or holder
