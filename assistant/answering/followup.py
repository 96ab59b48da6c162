"""Follow-ups: does a question lean on the turn before it, or stand alone?

A question is a follow-up only when it cannot be understood alone: it points back with a pronoun or
a demonstrative ("How much are they worth?", "Why did he say that?"), it is elliptical ("What
about China?", "And the price?"), or it has no subject of its own at all ("Why?", "How so?"). A
question that names its own subject ("How did China react?") stands alone, however short, so a
topic switch is never mixed with the previous question.
"""

from __future__ import annotations

import re

from assistant.indexing.lexicon import Lexicon
from assistant.ingest.lexical import stopword_only, tokens

# Words that only make sense with an antecedent: third-person pronouns and bare demonstratives.
_POINTS_BACK = re.compile(
    r"\b(?:they|them|their|theirs|it|its|he|him|his|she|her|hers|this|that|these|those|"
    r"there|then|the same)\b",
    re.I,
)
# Elliptical openings that continue the previous question with a new subject.
_ELLIPSIS = re.compile(r"^\W*(?:and|also|what about|how about|what of|and what about|same for)\b", re.I)
# "it"/"this" that refers to the document itself, not to the last answer ("When was it published?").
_ABOUT_DOCUMENT = re.compile(
    r"\b(?:it|this)\b.{0,30}\b(?:publish\w*|written|posted|dated|about|headline|title)\b"
    r"|\b(?:this|the) (?:article|story|piece|report|page|document)\b",
    re.I,
)

# How much a word the question borrowed from the turn before it weighs, against the question's own
# words, when sentences are scored: "How many residents complained about it?" after a question about
# renaming streets wants the sentence about complaints, not the one about renaming. Fitted on the two
# tune sets (bench/data/multidoc_tune.jsonl, followup_tune.jsonl: 67 of 88 follow-ups right at 1.0,
# 68 at 0.5, 70 at 0.25, 70 at 0.1, 68 at 0).
BORROWED_WEIGHT = 0.25


def is_elliptical(question: str) -> bool:
    """True for a follow-up that goes on with a subject of its own: "And Amazon?", "What about China?"."""
    return bool(_ELLIPSIS.search(question))


def is_follow_up(question: str) -> bool:
    """True when ``question`` leans on what came before it."""
    if _ELLIPSIS.search(question):
        return True
    if _ABOUT_DOCUMENT.search(question):
        return False  # "What is it about?" asks about the document
    if stopword_only(question):
        return True  # "Why?", "When?", "How so?": nothing but a question word
    return bool(_POINTS_BACK.search(question))


def term_weights(question: str, query: str, lexicon: Lexicon) -> dict[str, float]:
    """Each query term's rarity, as the answerer weighs it (1 + idf); a term only the borrowed words
    of a follow-up's query hold weighs BORROWED_WEIGHT times as much."""
    own = set(tokens(question))
    idf = lexicon.idfs(tokens(query))  # the known terms only
    return {t: idf[t] if t in own else BORROWED_WEIGHT * (1 + idf[t]) - 1 for t in tokens(query) if t in idf}
