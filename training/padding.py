"""The padding cut (``pad_min`` in rerank.json): which read sentences an answer quotes beside the best.

``training.fit_rerank`` chooses it out-of-fold: the highest cut on the blend's log-odds whose answers
shown (the gold answer anywhere in the quoted text) fall by at most half a point on each fitting source,
against quoting every sentence in ranked order as before. Quoting fewer sentences the blend thinks
unlikely keeps answers to what bears on the question (issue #32).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from assistant.answering.extractive import choose
from assistant.answering.features import Candidate
from assistant.answering.reader import Reading
from assistant.answering.rerank import quoted
from assistant.eval.metrics import contains_answer

#: The cuts tried (blend log-odds), and the most answers shown a cut may cost on any source.
CUTS = tuple(float(x) for x in np.arange(-8.0, -0.9, 0.5))
MAX_LOSS = 0.005


class Asked(Protocol):
    """A fitting question: what was asked and its gold answers (none: unanswerable)."""

    question: str
    answers: tuple[str, ...]


def pick_pad_min(
    items: Sequence[Asked],
    reranked: Sequence[Sequence[tuple[Candidate, Reading]]],
    rest: Sequence[Sequence[Candidate]],
    budget: int,
    kinds: np.ndarray,
) -> tuple[float, list[tuple[object, dict[str, float], float]]]:
    """The cut, and a table of (cut, answers shown per source, sentences quoted on average)."""
    answerable = np.array([bool(it.answers) for it in items])
    sources = [k for k in sorted(set(kinds)) if (answerable & (kinds == k)).any()]

    def rates(order_of: Callable[[int], list[Candidate]]) -> tuple[dict[str, float], float]:
        hits, sizes = np.zeros(len(items), dtype=bool), np.zeros(len(items))
        for k, it in enumerate(items):
            chosen = choose(order_of(k), budget, it.question)
            text = " ".join(c.text for c in chosen)
            hits[k] = any(contains_answer(text, a) for a in it.answers)
            sizes[k] = len(chosen)
        return {s: float(hits[answerable & (kinds == s)].mean()) for s in sources}, float(sizes.mean())

    before, quoted_before = rates(lambda k: [c for c, _ in reranked[k]] + list(rest[k]))
    table: list[tuple[object, dict[str, float], float]] = [("every sentence", before, quoted_before)]
    best = CUTS[0]
    for cut in CUTS:
        now, quoted_now = rates(lambda k, cut=cut: quoted(reranked[k], cut))
        table.append((cut, now, quoted_now))
        if all(before[s] - now[s] <= MAX_LOSS for s in sources):
            best = cut
    return best, table
