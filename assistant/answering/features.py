"""The general signals the answerer scores sentences on, computed from Evidence alone.

Per candidate sentence: meaning (cosine of question and sentence vectors, and of the passage), word
overlap weighted by rarity, *soft* word coverage that credits paraphrases (each question word's best
match among the sentence's word pieces, by the embedding model's own static input token vectors),
the least-covered question word, the kind of answer asked for and found, the neighbouring sentences
and retrieval's rank. The same code computes them for training (training/train_answerer.py) and at
question time, so the fitted weights always see the features they were fitted on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from assistant.answering.answer_types import answer_type, typed_spans
from assistant.ingest.lexical import STOPWORDS, tokens

if TYPE_CHECKING:
    import numpy as np

    from assistant.indexing.evidence import Evidence, PassageHit

# --- soft word coverage by static token vectors --------------------------------------------------------


@lru_cache(maxsize=2)
def token_vectors(model_name: str) -> tuple[object, np.ndarray]:
    """The model's tokenizer and its static input token vectors, unit length (loaded once per model).

    No index storage and no model pass at question time: a lookup per word piece.
    """
    import numpy as np

    from assistant.indexing.embedding import shared_embedder

    model = shared_embedder(model_name).model
    weight = model[0].auto_model.embeddings.word_embeddings.weight.detach().cpu().numpy()
    weight = weight / np.maximum(np.linalg.norm(weight, axis=1, keepdims=True), 1e-9)
    return model.tokenizer, weight.astype(np.float32)


def question_pieces(tokenizer: object, question: str) -> list[list[int]]:
    """Word-piece ids of each content word of the question (stopwords left out)."""
    words = [w for w in re.findall(r"[^\W_]+", question.lower()) if w not in STOPWORDS]
    if not words:
        return []
    ids = tokenizer(words, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    return [p for p in ids if p]


def soft_coverage(
    question: list[list[int]], sentence_ids: Sequence[int], table: np.ndarray
) -> tuple[float, float]:
    """(mean, min) over question words of how well the sentence covers each word.

    A word's cover is the mean over its pieces of the best cosine with any piece of the sentence.
    """
    import numpy as np

    if not question or not sentence_ids:
        return 0.0, 0.0
    # One product for all the question's pieces, then each word's pieces averaged.
    best = (table[[i for pieces in question for i in pieces]] @ table[list(sentence_ids)].T).max(axis=1)
    bounds = np.cumsum([0, *(len(pieces) for pieces in question)])
    covers = np.add.reduceat(best, bounds[:-1]) / np.diff(bounds)
    return float(covers.mean()), float(covers.min())


@lru_cache(maxsize=8192)  # sentences recur across questions; tokenising them is most of the cost
def sentence_info(model_name: str, text: str) -> tuple[tuple[int, ...], frozenset[str]]:
    """A sentence's word-piece ids (for soft coverage) and its stemmed content words."""
    tokenizer, _ = token_vectors(model_name)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    return tuple(ids), frozenset(tokens(text))


# --- the features --------------------------------------------------------------------------------------

#: Names of the sentence features, in column order (the parameters file lists them too).
SENTENCE_FEATURES = (
    "dense",  # the sentence means what the question asks
    "passage_dense",  # ... and so does its passage
    "words",  # the question's rarer words are in the sentence (idf-weighted share)
    "passage_words",  # ... or in its passage
    "near_words",  # ... or in the sentences next to it
    "soft",  # soft coverage of the question's words (paraphrases count)
    "soft_min",  # the least-covered question word
    "near_soft",  # soft coverage by the neighbouring sentences
    "type_found",  # the question asks for a kind of answer and the sentence holds one
    "type_missing",  # ... and it does not
    "rank",  # 1 / (1 + retrieval rank of the passage)
    "repeats",  # the sentence says hardly anything beyond the question's words
    "header",  # a headline passage
    "dense_gap",  # dense minus the best dense among the candidates
    "soft_gap",  # soft minus the best soft among the candidates
)


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage, its features, and its score once scored."""

    hit: PassageHit
    index: int
    text: str
    features: tuple[float, ...]
    score: float = 0.0


def candidates(evidence: Evidence, model_name: str) -> list[Candidate]:
    """Every sentence of the retrieved passages with its features (unscored, in retrieval order)."""
    tokenizer, table = token_vectors(model_name)
    question = evidence.question
    weights = {t: 1.0 + idf for t, idf in evidence.idf.items()}
    total = sum(weights.values()) or 1.0

    def coverage(words: set[str]) -> float:
        return sum(w for t, w in weights.items() if t in words) / total

    kind = answer_type(question)
    pieces = question_pieces(tokenizer, question)
    rows: list[tuple[PassageHit, int, str, list[float]]] = []
    for rank, (hit, vectors) in enumerate(zip(evidence.passages, evidence.vectors, strict=True)):
        sims = vectors @ evidence.vector
        texts = [hit.sentence_text(i) for i in range(len(hit.sentences))]
        infos = [sentence_info(model_name, t) for t in texts]
        softs = [soft_coverage(pieces, ids, table) for ids, _ in infos]
        words = [w for _, w in infos]
        context = coverage(set(tokens(f"{hit.title} {hit.text}")))
        for i, text in enumerate(texts):
            around = [j for j in (i - 1, i + 1) if 0 <= j < len(texts)]
            near = set().union(*(words[j] for j in around))
            found = bool(kind) and bool(typed_spans(kind, text, question))
            row = [
                float(sims[i]),
                hit.dense,
                coverage(words[i]),
                context,
                coverage(near),
                softs[i][0],
                softs[i][1],
                max((softs[j][0] for j in around), default=0.0),
                float(found),
                float(bool(kind) and not found),
                1.0 / (1 + rank),
                float(len(words[i] - set(weights)) < 2),
                float(hit.kind == "header"),
            ]
            rows.append((hit, i, text, row))
    best_dense = max((r[3][0] for r in rows), default=0.0)
    best_soft = max((r[3][5] for r in rows), default=0.0)
    return [
        Candidate(hit, i, text, (*row, row[0] - best_dense, row[5] - best_soft)) for hit, i, text, row in rows
    ]
