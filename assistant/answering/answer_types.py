"""Answer types: what kind of answer a question asks for (a number, a date, money, a person, a place)
and where a sentence holds one, as character spans.

English question words and number/date/money shapes only: no word here comes from a particular
question. The extractive answerer scores sentences on it; the direct answer is cut out by it.
"""

from __future__ import annotations

import re

from assistant.ingest.lexical import STOPWORDS, stem, tokens

# Number words that are a count on their own ("two"); "million" alone is only a multiplier.
_COUNT_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
    r"|dozen|half|several|first|second|third"
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
    r"|hundred|thousand|million|billion|trillion|dozen|half|several|first|second|third"
)
# Month names only when capitalised: "may", "march" and "dec..." are also ordinary words.
_MONTH = (
    r"(?-i:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b\.?"
)
#: Each answer type: (how a question asks for it, how a sentence holds it). English question words
#: and number/date/money shapes: no word here comes from a particular question.
TYPES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "money": (
        re.compile(
            r"\bhow much\b.*\b(cost|price|worth|pay|paid|spen[dt]|value|sale|deal|fund|budget|money|charge)"
            r"|\b(price|cost|worth|value)\b",
            re.I,
        ),
        re.compile(
            # "$23-million" is written hyphenated as well as spaced
            r"[$£€¥]\s?\d[\d,.]*(?:[\s-]?(?:billion|million|thousand|trillion|bn|m)\b)?"
            # "2.3 million pounds": a multiplier may stand between the figure and the currency
            r"|\b\d[\d,.]*\s?(?:(?:thousand|million|billion|trillion)\s)?(?:dollars?|pounds?|euros?|yen|bn)\b"
            # "5€", "3,50 €": the symbol after the figure, as much of Europe writes it
            r"|\b\d[\d,.]*(?:[\s-]?(?:billion|million|thousand|trillion|bn|m)\b)?\s?[€£¥]",
            re.I,
        ),
    ),
    "date": (
        re.compile(
            r"\bwhen\b|\bwhat (?:year|date|day|month|time|century|decade|period|era)\b"
            r"|\b(?:which|what) (?:year|century|decade|month|day)\b|\bhow long ago\b",
            re.I,
        ),
        re.compile(
            rf"\b(?:\d{{1,2}} )?{_MONTH}(?: \d{{1,2}}(?:st|nd|rd|th)?\b)?(?:,? (?:1[0-9]|20)\d\d)?"
            r"|\b(?:early |late |mid-?)?(?:1[0-9]|20)\d\d(?:s)?\b|\b\d{1,2}(?:st|nd|rd|th) centur(?:y|ies)\b"
            r"|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b"
            r"|\b(?:yesterday|today|tomorrow|(?:last|next) (?:week|month|year))\b"
            # "in the summer", "at the end of the season": times of year and parts of a period
            r"|\b(?:(?:this|next|last|early|late|mid-?) )?(?:spring|summer|autumn|winter)\b"
            r"|\b(?:end|start|beginning|middle) of (?:the |this |next |last )?"
            r"(?:season|year|month|week|decade|century|spring|summer|autumn|winter)\b",
            re.I,
        ),
    ),
    "number": (
        re.compile(
            r"\bhow (?:many|much|long|far|old|big|large|tall|high|often)\b"
            r"|\bwhat (?:number|percentage|percent|proportion|share|amount|size)\b",
            re.I,
        ),
        re.compile(
            # Not a digit that ends a designation ("PAC-3", "F-16"): that names a thing, it counts nothing.
            r"(?:[$£€¥]\s?)?(?<![A-Za-z]-)\b\d[\d,.]*(?:\s?(?:%|percent|per cent|[€£¥]))?"
            rf"(?:\s(?:{_NUMBER_WORDS})\b)?"
            rf"|\b(?:{_COUNT_WORDS})\b",
            re.I,
        ),
    ),
    "person": (
        re.compile(
            r"^\W*(?:who|whom|whose)\b|\bwho (?:is|was|were|are)\b|\bwhich (?:person|man|woman)", re.I
        ),
        re.compile(r"\b[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|[A-Z]\.|de|von|van|bin|al))*(?: [IVX]+\b)?"),
    ),
    "place": (
        re.compile(
            r"\bwhere\b|\b(?:what|which) (?:country|city|place|region|town|state|area|nation)\b", re.I
        ),
        re.compile(r"\b[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|of|de))*(?: [A-Z][a-z]+)?"),
    ),
}


# "What does THAAD stand for?": the question names an acronym and asks for its long form.
# The acronym must end the question's clause ("... THAAD stand for?"), or follow the word "acronym":
# "What did the US Army say it would stand for?" asks something else.
_ACRONYM_ASKED = re.compile(
    r"\b(?-i:([A-Z][A-Z0-9&-]*[A-Z0-9]))\s+(?:stands?|is short|short)\s+for\W*(?:what\W*)?$"
    r"|\b(?:acronym|abbreviation|initials)\s+(?-i:([A-Z][A-Z0-9&-]*[A-Z0-9]))\b",
    re.I,
)
# Words a long form may hold without a letter in the acronym ("Bank *of* England" -> BoE).
_MINOR = frozenset({"of", "the", "and", "for", "in", "on", "to", "a", "an", "&", "de"})
_WORD_RUN = re.compile(r"[A-Za-z][\w'’]*(?:-[\w'’]+)*|&")


def asked_acronym(question: str) -> str | None:
    """The acronym whose long form the question asks for ("THAAD" in "What does THAAD stand for?")."""
    m = _ACRONYM_ASKED.search(question.strip())
    acronym = (m.group(1) or m.group(2)) if m else None
    # Two capital letters at least: "G7" or "A-1" spell out too little to find a long form by.
    return acronym if acronym and sum(ch.isupper() for ch in acronym) >= 2 else None


def expansions(acronym: str, sentence: str) -> list[tuple[int, int]]:
    """Spans of ``sentence`` that spell ``acronym`` out: a run of words starting with its first letter
    and ending with a word starting with its last, whose initials (and those of hyphenated parts) hold
    its letters in order ("Terminal High Altitude Area Defense" for THAAD). An acronym of four letters
    or more may leave one word unused ("Five-hundred-meter Aperture Spherical Radio Telescope" for
    FAST); a shorter one may not, or "Under the new rules" would spell UN. Initials only: a long form
    that lends letters from inside its words ("RADAR") is not found."""
    letters = [ch.lower() for ch in acronym if ch.isalpha()]
    if len(letters) < 2:
        return []
    spare = 1 if len(letters) >= 4 else 0
    words = list(_WORD_RUN.finditer(sentence))
    out = []
    for i, first in enumerate(words):
        if (
            first.group()[0].lower() != letters[0]
            or first.group() == acronym
            or first.group().lower() in _MINOR
        ):
            continue
        for j in range(i, min(len(words), i + len(letters) + 2 + spare)):
            run = words[i : j + 1]
            if run[-1].group()[0].lower() != letters[-1] or run[-1].group().lower() in _MINOR:
                continue
            if _spells(letters, [w.group() for w in run], spare):
                out.append((first.start(), run[-1].end()))
                break
    return out


def _spells(letters: list[str], run: list[str], spare: int) -> bool:
    """True when the run's capitalised words' initials hold ``letters`` in order, with at most
    ``spare`` of them unused."""
    if any(not w[0].isupper() for w in run if w.lower() not in _MINOR):
        return False  # a long form is a name: its words are capitalised ("Under the new rules" is not UN)
    at, unused = 0, 0
    for word in run:
        parts = [p for p in word.split("-") if p]
        took = False
        for part in parts:
            if at < len(letters) and part[0].lower() == letters[at]:
                at, took = at + 1, True
        if not took and word.lower() not in _MINOR:
            unused += 1
    return at == len(letters) and unused <= spare


# "How many images did they send back?" counts images: the thing counted is the last of the content
# words right after "how many" ("How many of the South Koreans were ..." counts Koreans).
_HOW_MANY = re.compile(r"\bhow many\b", re.I)
_WORDS = re.compile(r"[^\W_]+")  # the words lexical.tokens splits on, before stemming
# "How far / tall / long ...?" asks for a measure: a figure with its unit, not any number in the sentence
# (a caption's "Jan. 25, 2024" is no distance). English units of length, area, weight, speed and time.
_MEASURE_ASKED = re.compile(r"\bhow (?:far|tall|high|wide|deep|long|big|large|heavy|fast)\b", re.I)
_UNIT = re.compile(
    r"[\s-]*(?:km|cm|mm|m|ft|mph|kph|kg|sq|kilomet(?:er|re)s?|met(?:er|re)s?|miles?|feet|foot|yards?|"
    r"inch(?:es)?|light[\s-]years?|acres?|hectares?|square|tons?|tonnes?|kilo(?:gram)?s?|grams?|pounds|lbs?|"
    r"lit(?:er|re)s?|gallons?|degrees?|knots?|storeys?|stories|floors?|seconds?|minutes?|hours?|days?|"
    r"weeks?|months?|years?|decades?|centur(?:y|ies))\b",
    re.I,
)


def counted(question: str) -> str | None:
    """The stem of what a "how many" question counts ("imag" in "How many images did they send?")."""
    m = _HOW_MANY.search(question)
    if not m:
        return None
    words = _WORDS.findall(question[m.end() :].lower())
    while words and words[0] in ("of", "the", "those", "these", "its", "their"):
        words.pop(0)
    head = []
    for word in words:
        if word in STOPWORDS:
            break
        head.append(word)
    return stem(head[-1]) if head else None


# A figure that carries its own measure: a share or an amount of money.
_SELF_MEASURED = re.compile(r"%|\bper ?cent\b|[$£€¥]", re.I)


def figure_fits(question: str, sentence: str, span: tuple[int, int]) -> bool:
    """Whether the figure at ``span`` in ``sentence`` is the one a number question asks for: a
    measure has its unit after it (or is a share or an amount: "5%", "$2 million"); a count is
    followed within four words by the thing counted, when the sentence names that thing at all (else
    it may say it in other words: "staff" asked, "employees" written). "two" in "The two probes
    select images" is no count of images."""
    start, end = span
    if _MEASURE_ASKED.search(question):
        return bool(_UNIT.match(sentence, end) or _SELF_MEASURED.search(sentence[start:end]))
    thing = counted(question)
    if thing is None or thing not in tokens(sentence):
        return True
    return thing in tokens(sentence[end:], keep_stopwords=True)[:4]


_PLACE_BEFORE = re.compile(r"\b(?:in|to|from|at|of|into|across|near|the)\s+$", re.I)


def answer_type(question: str) -> str | None:
    """The kind of answer the question wants, by its wording ("how many" wants a number)."""
    if asked_acronym(question):
        return "expansion"
    for name, (asks, _) in TYPES.items():
        if asks.search(question):
            return name
    return None


def typed_spans(kind: str, sentence: str, question: str) -> list[tuple[int, int]]:
    """Spans of ``sentence`` holding the kind of answer asked for and not already in the question."""
    if kind == "expansion":
        acronym = asked_acronym(question)
        return expansions(acronym, sentence) if acronym else []
    asked = {w.lower() for w in re.findall(r"\w+", question)}
    out = []
    for m in TYPES[kind][1].finditer(sentence):
        start = m.start()
        words = [w.lower() for w in re.findall(r"\w+", m.group())]
        if kind == "person":
            # A title the question names before a name it does not ("Who is the culture secretary?" in
            # "Culture Secretary Tessa Jowell said"): the name alone is the answer.
            while len(words) > 1 and words[0] in asked:
                step = re.match(r"\w+[ -]", sentence[start : m.end()])
                if not step:
                    break
                start += step.end()
                words = words[1:]
        if not words or all(w in asked for w in words):
            continue
        # A name the question already uses ("Where did Lippert serve?") is not the answer to it.
        if kind in ("person", "place") and any(w in asked for w in words):
            continue
        # A capitalised word that opens the sentence is often just an opening, not a name.
        if kind in ("person", "place") and start == 0 and len(words) == 1:
            continue
        # After "in", "to", "from" ... a capitalised phrase names a place or a body, not a person.
        if kind == "person" and _PLACE_BEFORE.search(sentence[:start]):
            continue
        end = m.end()
        while end > start and sentence[end - 1] in ",.;:":
            end -= 1  # a number's pattern can take the sentence's own punctuation
        out.append((start, end))
    return out
