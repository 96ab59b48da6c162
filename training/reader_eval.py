"""The reader's held-out figures: per question, is the best-read sentence the gold one, is its span
the answer, and how well do its scores tell answered questions from unanswerable ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.answering.reader_input import best_span, collate
from assistant.environment import Precision, autocast
from assistant.ingest.lexical import tokens
from training.reader_pairs import Pair


def auc(pos: list[float], neg: list[float]) -> float:
    """Area under the ROC curve (probability a random positive outscores a random negative)."""
    if not pos or not neg:
        return float("nan")
    scores = np.array(pos + neg)
    ranks = scores.argsort().argsort() + 1.0
    r_pos = ranks[: len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def normal(text: str) -> str:
    """Text compared for an exact answer: lower-cased words, punctuation dropped."""
    return " ".join(tokens(text, keep_stopwords=True))


def score(net: Any, pairs: list[Pair], device: str, precision: Precision, batch: int = 64) -> list[tuple]:
    """(pair, answers logit, span margin, span start, span end) for every pair, in order."""
    import torch

    net.eval()
    rows = []
    with torch.no_grad(), autocast(precision, device):
        for k in range(0, len(pairs), batch):
            chunk = pairs[k : k + batch]
            x = {n: t.to(device) for n, t in collate([p.enc for p in chunk]).items()}
            answer, start, end = (t.float().cpu() for t in net(**x))
            for p, a, s, e in zip(chunk, answer.tolist(), start.tolist(), end.tolist(), strict=True):
                margin, i, j = best_span(s, e, p.enc)
                rows.append((p, a, margin, i, j))
    net.train()
    return rows


def figures(rows: list[tuple], keep: Callable[[Pair], bool] = lambda p: True) -> dict[str, float]:
    """Per-question figures over scored pairs (each question: its gold sentence and negatives)."""
    groups: dict[int, list] = defaultdict(list)
    for r in rows:
        if keep(r[0]):
            groups[r[0].group].append(r)
    top1 = em = answerable = 0
    best_pos: dict[str, list[float]] = {"answer": [], "span": [], "sum": []}
    best_neg: dict[str, list[float]] = {"answer": [], "span": [], "sum": []}
    pair_pos, pair_neg = [], []
    for rs in groups.values():
        for p, a, m, _, _ in rs:
            (pair_pos if p.label else pair_neg).append(a + m)
        has = any(r[0].label for r in rs)
        for name, f in (("answer", lambda r: r[1]), ("span", lambda r: r[2]), ("sum", lambda r: r[1] + r[2])):
            (best_pos if has else best_neg)[name].append(max(f(r) for r in rs))
        if not has:
            continue
        answerable += 1
        best = max(rs, key=lambda r: r[1] + r[2])
        if best[0].label:
            top1 += 1
            p, _, _, i, j = best
            off = p.enc.offsets
            if normal(p.sentence[off[i][0] : off[j][1]]) == normal(p.answer):
                em += 1
    return {
        "questions": len(groups),
        "answerable": answerable,
        "top1": round(top1 / max(answerable, 1), 4),
        "span_exact": round(em / max(answerable, 1), 4),
        "pair_auc": round(auc(pair_pos, pair_neg), 4),
        "abstain_auc_answer": round(auc(best_pos["answer"], best_neg["answer"]), 4),
        "abstain_auc_span": round(auc(best_pos["span"], best_neg["span"]), 4),
        "abstain_auc_sum": round(auc(best_pos["sum"], best_neg["sum"]), 4),
    }


def evaluate(net: Any, pairs: list[Pair], device: str, precision: Precision) -> dict[str, Any]:
    """All figures, and the follow-up questions' top-1 on their own when there are any."""
    rows = score(net, pairs, device, precision)
    out: dict[str, Any] = figures(rows)
    if any(p.kind == "followup" for p in pairs):
        out["followup_top1"] = figures(rows, lambda p: p.kind == "followup")["top1"]
    return out
