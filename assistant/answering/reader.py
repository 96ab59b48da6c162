"""The reader: a small cross-encoder that reads the question against each candidate sentence.

It is the packaged all-MiniLM-L6-v2 with its top layers fine-tuned here (``bench/train_reader.py``,
on SQuAD; figures in ``reader.json``) and two heads:

* **answers**: one logit per candidate, "this sentence answers the question", from the mean of the
  last layer's token vectors (the model's own pooling, which learns faster than a fresh [CLS]);
* **span**: start and end logits over the candidate sentence's tokens; token 0 ([CLS]) is "no
  answer here", SQuAD 2.0 style. The best span is the direct answer.

Input: ``[CLS] question [SEP] title [SEP] previous sentence (its tail) [SEP] sentence [SEP]``. Only
what was trained ships (``reader.safetensors``, the top layers and heads in float16); the word
embeddings and the frozen bottom layers are read from the package's own model folder.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.environment import offline
from assistant.errors import ReaderError
from assistant.indexing.embedding import resolve_model
from assistant.settings import PACKAGED_MODEL

if TYPE_CHECKING:
    import torch

#: The trained part (top layers + heads, float16) and the figures it was judged on.
WEIGHTS = Path(__file__).with_name("reader.safetensors")
FIGURES = Path(__file__).with_name("reader.json")

#: Token budgets (the same at training and answering time: the model only knows these shapes).
MAX_QUESTION = 32
MAX_TITLE = 12
MAX_BEFORE = 24
MAX_SENTENCE = 80
#: The longest direct answer, in word pieces.
MAX_SPAN = 24


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
) -> Encoded:
    """Assemble one pair from pre-tokenized parts (word-piece ids without special tokens)."""
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    q = list(question[:MAX_QUESTION])
    s_ids = list(sentence[0][:MAX_SENTENCE])
    offsets = [tuple(o) for o in sentence[1][:MAX_SENTENCE]]
    ids = [cls, *q, sep]
    head = len(ids)
    t = list(title[:MAX_TITLE])
    if t:
        ids += [*t, sep]
    b = list(before[-MAX_BEFORE:]) if before else []
    if b:
        ids += [*b, sep]
    start = len(ids)
    ids += [*s_ids, sep]
    types = [0] * head + [1] * (len(ids) - head)
    return Encoded(ids, types, start, len(s_ids), offsets)  # type: ignore[arg-type]


def build_net(model_dir: str) -> Any:
    """The reader network on top of the packaged MiniLM (weights of the top layers not yet loaded)."""
    from torch import nn
    from transformers import BertModel

    class ReaderNet(nn.Module):
        def __init__(self, encoder: BertModel) -> None:
            super().__init__()
            self.encoder = encoder
            hidden = encoder.config.hidden_size
            self.answer = nn.Linear(hidden, 1)
            self.span = nn.Linear(hidden, 2)

        def forward(
            self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor, allowed: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            hidden = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            answer = self.answer(pooled).squeeze(-1)
            span = self.span(hidden)
            # Spans only inside the candidate sentence, or [CLS] for "not here".
            start = span[..., 0].masked_fill(~allowed, -1e4)
            end = span[..., 1].masked_fill(~allowed, -1e4)
            return answer, start, end

    encoder = BertModel.from_pretrained(model_dir, add_pooling_layer=False)
    return ReaderNet(encoder)


def collate(batch: Sequence[Encoded]) -> dict[str, torch.Tensor]:
    """Pad a batch of pairs to its longest; ``allowed`` marks [CLS] and the candidate's tokens."""
    import torch

    width = max(len(e.ids) for e in batch)
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


@dataclass(frozen=True)
class Reading:
    """What the reader makes of one candidate sentence."""

    #: Log-odds that the sentence answers the question (the "answers" head).
    answers: float
    #: The best span's score minus the "not here" score (> 0: the span head found an answer here).
    span: float
    #: The best span, as character offsets in the sentence.
    start: int
    end: int


class Reader:
    """The trained reader, loaded on first use (once per process) and shared; thread-safe."""

    def __init__(self, weights: Path = WEIGHTS) -> None:
        self.weights = weights
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def _model(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                self._loaded = _load(self.weights)
            return self._loaded

    def read(self, question: str, candidates: Sequence[tuple[str, str, str]]) -> list[Reading]:
        """Score ``(sentence, previous sentence, title)`` candidates against ``question`` in one batch."""
        import torch

        if not candidates:
            return []
        net, tokenizer = self._model()
        texts = [question, *(t for c in candidates for t in c)]
        enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        ids, offs = enc["input_ids"], enc["offset_mapping"]
        pairs = []
        for n in range(len(candidates)):
            k = 1 + 3 * n
            pairs.append(encode(tokenizer, ids[0], (ids[k], offs[k]), ids[k + 1], ids[k + 2]))
        with torch.inference_mode():
            answers, start, end = net(**collate(pairs))
        out = []
        starts, ends = start.numpy(), end.numpy()
        for n, (e, a) in enumerate(zip(pairs, answers.tolist(), strict=True)):
            margin, i, j = best_span(starts[n], ends[n], e)
            out.append(Reading(float(a), margin, *_chars(e, i, j, len(candidates[n][0]))))
        return out


def _chars(e: Encoded, i: int, j: int, length: int) -> tuple[int, int]:
    if not e.offsets:
        return 0, 0
    return min(e.offsets[i][0], length), min(e.offsets[j][1], length)


def _load(weights: Path) -> tuple[Any, Any]:
    """The network with the trained layers in (float32) and its tokenizer."""
    offline()
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not weights.is_file():
        raise ReaderError(weights, "the file is missing")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ReaderError(weights, f"the file is not readable safetensors ({exc})") from None
    hf_logging.set_verbosity_error()  # the base model's unused pooler is expected, not news
    hf_logging.disable_progress_bar()
    model_dir = resolve_model(PACKAGED_MODEL)
    net = build_net(model_dir)
    try:
        result = net.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    except RuntimeError as exc:  # a tensor of the wrong shape
        raise ReaderError(weights, f"its tensors do not fit the packaged model ({exc})") from None
    if result.unexpected_keys or not any(k.startswith("answer.") for k in state):
        raise ReaderError(weights, "it does not hold the reader's layers and heads")
    # float32, not int8: torch's dynamic int8 quantisation cost 6 points of top-1 on held-out SQuAD
    # articles (0.819 -> 0.759 on a 415-question sample), and float32 already answers within budget.
    net.eval()
    return net, AutoTokenizer.from_pretrained(model_dir)


@lru_cache(maxsize=2)
def shared_reader(weights: Path = WEIGHTS) -> Reader:
    """The process-wide reader: loaded once, used by every answer."""
    return Reader(weights)
