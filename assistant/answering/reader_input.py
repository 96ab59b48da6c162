"""What the reader reads: one question-candidate pair assembled as model input, a batch padded,
and the best answer span read off the span head's logits.

Shared by the reader (reader.py), its training (training/) and the tests: the model only knows the
shapes it was trained on, so there is one place that builds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: Token budgets (the same at training and answering time: the model only knows these shapes).
MAX_QUESTION = 32
MAX_TITLE = 12
MAX_SENTENCE = 80
#: The longest direct answer, in word pieces.
MAX_SPAN = 24
#: Batches are padded to a multiple of this many word pieces.
PAD_TO = 32


@dataclass(frozen=True)
class Layout:
    """What a reader reads around the question and the sentence: part of the trained model."""

    #: Word pieces of context before the candidate (the tail of the sentences before it).
    before: int = 24
    #: How many sentences before the candidate that context is drawn from.
    context_sentences: int = 1
    #: Word pieces of the previous question in a conversation (0: the reader reads no history).
    history: int = 0

    @classmethod
    def from_metadata(cls, metadata: dict[str, str] | None) -> Layout:
        """The layout a weights file was trained with (files without one are the first reader's)."""
        meta = metadata or {}
        return cls(
            before=int(meta.get("before_tokens", 24)),
            context_sentences=int(meta.get("context_sentences", 1)),
            history=int(meta.get("history_tokens", 0)),
        )

    def metadata(self) -> dict[str, str]:
        """This layout as safetensors metadata."""
        return {
            "before_tokens": str(self.before),
            "context_sentences": str(self.context_sentences),
            "history_tokens": str(self.history),
        }


#: The first reader (3 layers, one sentence of context) and the one trained with context and history.
FIRST_LAYOUT = Layout()
CONTEXT_LAYOUT = Layout(before=64, context_sentences=2, history=24)


@dataclass(frozen=True)
class Encoded:
    """One question-candidate pair as model input, and where the candidate's tokens are."""

    ids: list[int]
    types: list[int]
    #: Index of the candidate sentence's first token in ``ids``, and its token count.
    sentence_start: int
    sentence_len: int
    #: Character offsets of each candidate token inside the sentence text.
    offsets: list[tuple[int, int]]


def encode(
    tokenizer: Any,
    question: Sequence[int],
    sentence: tuple[Sequence[int], Sequence[tuple[int, int]]],
    before: Sequence[int] = (),
    title: Sequence[int] = (),
    history: Sequence[int] = (),
    layout: Layout = FIRST_LAYOUT,
) -> Encoded:
    """Assemble one pair from pre-tokenized parts (word-piece ids without special tokens)."""
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    q = list(question[:MAX_QUESTION])
    s_ids = list(sentence[0][:MAX_SENTENCE])
    offsets = [tuple(o) for o in sentence[1][:MAX_SENTENCE]]
    ids = [cls, *q, sep]
    h = list(history[: layout.history]) if layout.history else []
    if h:  # the conversation belongs to the question's side (segment 0)
        ids += [*h, sep]
    head = len(ids)
    t = list(title[:MAX_TITLE])
    if t:
        ids += [*t, sep]
    b = list(before[-layout.before :]) if before and layout.before else []
    if b:
        ids += [*b, sep]
    start = len(ids)
    ids += [*s_ids, sep]
    types = [0] * head + [1] * (len(ids) - head)
    return Encoded(ids, types, start, len(s_ids), offsets)  # type: ignore[arg-type]


def collate(batch: Sequence[Encoded]) -> dict[str, torch.Tensor]:
    """Pad a batch of pairs to its longest; ``allowed`` marks [CLS] and the candidate's tokens."""
    import torch

    # Padded to a multiple of 32: a few shapes, so the CPU kernels made for a shape (oneDNN bf16
    # primitives) are reused from question to question instead of made anew for every width.
    width = -(-max(len(e.ids) for e in batch) // PAD_TO) * PAD_TO
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    allowed = torch.zeros((len(batch), width), dtype=torch.bool)
    for row, e in enumerate(batch):
        n = len(e.ids)
        ids[row, :n] = torch.tensor(e.ids)
        types[row, :n] = torch.tensor(e.types)
        mask[row, :n] = 1
        allowed[row, 0] = True
        allowed[row, e.sentence_start : e.sentence_start + e.sentence_len] = True
    return {"ids": ids, "mask": mask, "types": types, "allowed": allowed}


def best_span(start: Any, end: Any, e: Encoded) -> tuple[float, int, int]:
    """The best answer span's score minus the no-answer ([CLS]) score, and its token range in the
    sentence (at most MAX_SPAN pieces): one vectorised pass, as training, tests and answers share it."""
    import numpy as np

    start, end = np.asarray(start), np.asarray(end)
    n = e.sentence_len
    if n == 0:
        return -1e4, 0, 0
    s = start[e.sentence_start : e.sentence_start + n]
    t = end[e.sentence_start : e.sentence_start + n]
    i, j = np.indices((n, n))
    grid = np.where((j >= i) & (j < i + MAX_SPAN), s[:, None] + t[None, :], -np.inf)
    a, b = np.unravel_index(int(np.argmax(grid)), grid.shape)
    return float(grid[a, b] - (start[0] + end[0])), int(a), int(b)
