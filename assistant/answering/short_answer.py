"""The direct answer: the phrase inside the quote that answers a factoid question ("136", "$1.405 billion").

For questions that ask for a figure, a date or an acronym's long form (how many / how much / when /
what does X stand for), the phrase is the span of that kind in the quoted sentences that the
question does not already say, nearest to the question's own words in the sentence (the answer to
"When did X happen?" sits next to "X"). A count must count the thing asked about and a measure carry
its unit (``answer_types.figure_fits``). No span of the kind, no short answer: the quote alone is
the answer then.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.answering.answer_types import answer_type, figure_fits, typed_spans
from assistant.ingest.lexical import STOPWORDS

if TYPE_CHECKING:
    from assistant.answering.features import Candidate


# Figures, dates and spelled-out acronyms have a shape that is found reliably; names do not.
_FIGURES = ("money", "number", "date", "expansion")


def short_answer(
    question: str, chosen: Sequence[Candidate], lead: Candidate | None = None
) -> tuple[int, int, int] | None:
    """(position in ``chosen``, start, end) of the answer phrase inside that sentence, or None.

    ``lead`` is the sentence the answer leads with (default: the best-scored one of ``chosen``).
    """
    kind = answer_type(question)
    # Names and places are found by capitalisation alone, which also catches adjectives ("South
    # Korean") and titles: a wrong phrase in bold misleads more than none (exact match 0.23-0.37 on
    # SQuAD train), so only figures, dates and long forms.
    if kind not in _FIGURES:
        return None
    asked = {w for w in re.findall(r"\w+", question.lower()) if w not in STOPWORDS}
    # Only the sentence the answer leads with (the best-scored one) and the neighbour it leans on: a
    # figure from another story's sentence further down must never be the bold answer.
    best = lead or max(chosen, key=lambda c: c.score)
    lead = [n for n, c in enumerate(chosen) if c.hit is best.hit and abs(c.index - best.index) <= 1]
    order = sorted(lead, key=lambda n: -chosen[n].score)
    for n in order:
        text = chosen[n].text
        spans = typed_spans(kind, text, question)
        if kind == "number":
            # The bold answer must be the figure asked for, not any number in the sentence: the
            # answerer's features and abstention keep the looser match, which ranks better (tried).
            spans = [s for s in spans if figure_fits(question, text, s)]
        if spans:
            start, end = min(spans, key=lambda s: distance(s, text, asked))
            return n, start, end
    return None


def distance(span: tuple[int, int], text: str, asked: set[str]) -> int:
    """Characters between ``span`` and the nearest question word in ``text`` (its length if none)."""
    places = [m.start() for m in re.finditer(r"\w+", text) if m.group().lower() in asked]
    if not places:
        return span[0]
    return min(min(abs(p - span[0]), abs(p - span[1])) for p in places)
