"""The reader: a small cross-encoder that reads the question against each candidate sentence.

It is the packaged all-MiniLM-L6-v2 with its top layers fine-tuned here (``training/train_reader.py``,
on SQuAD; figures in ``reader.json``) and two heads:

* **answers**: one logit per candidate, "this sentence answers the question", from the mean of the
  last layer's token vectors (the model's own pooling, which learns faster than a fresh [CLS]);
* **span**: start and end logits over the candidate sentence's tokens; token 0 ([CLS]) is "no
  answer here", SQuAD 2.0 style. The best span is the direct answer.

Input: ``[CLS] question [SEP] previous question [SEP] title [SEP] context before [SEP] sentence [SEP]``,
each part cut to the budgets of the model's :class:`Layout` (recorded in its file: the first reader read
no previous question and only the last 24 word pieces of one sentence before). Only what was
trained ships (``reader.safetensors``, the top layers and heads in float16); the word
embeddings and the frozen bottom layers are read from the package's own model folder.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answering.packed import PackedEncoder
from assistant.answering.reader_input import Encoded, Layout, best_span, collate, encode
from assistant.environment import autocast, cast_linear_weights, offline, resolve_precision
from assistant.errors import ReaderError
from assistant.indexing.embedding import resolve_model
from assistant.settings import PACKAGED_MODEL

if TYPE_CHECKING:
    import torch

#: The trained part (top layers + heads, float16), its sha256 and the figures it was judged on.
WEIGHTS = Path(__file__).with_name("reader.safetensors")
FIGURES = Path(__file__).with_name("reader.json")


def digest_path(weights: Path) -> Path:
    """Where the sha256 of ``weights`` is recorded (written with the weights by the training script)."""
    return weights.with_suffix(".sha256")


def build_net(model_dir: str, layers: int = 0) -> Any:
    """The reader network on top of the packaged MiniLM (weights of the top layers not yet loaded).

    ``layers`` > 0 keeps that many encoder layers, spread evenly and ending at the top (a distilled
    reader: ``training/train_reader.py --student-layers``); 0 keeps them all."""
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
            self,
            ids: torch.Tensor,
            mask: torch.Tensor,
            types: torch.Tensor,
            allowed: torch.Tensor,
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            hidden = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            return self.heads(hidden, mask, allowed)

        def heads(
            self, hidden: torch.Tensor, mask: torch.Tensor, allowed: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            """The two heads over the last layer's token vectors."""
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            answer = self.answer(pooled).squeeze(-1)
            span = self.span(hidden)
            # Spans only inside the candidate sentence, or [CLS] for "not here".
            start = span[..., 0].masked_fill(~allowed, -1e4)
            end = span[..., 1].masked_fill(~allowed, -1e4)
            return answer, start, end

    encoder = BertModel.from_pretrained(model_dir, add_pooling_layer=False)
    if layers:
        keep_layers(encoder, layers)
    return ReaderNet(encoder)


def keep_layers(encoder: Any, layers: int) -> list[int]:
    """Keep ``layers`` of the encoder's layers, in place: evenly spread and always the top one (the
    heads read its output), e.g. 1, 3, 5 of six. Returns the kept layers' old numbers."""
    from torch import nn

    n = len(encoder.encoder.layer)
    if not 0 < layers <= n:
        raise ValueError(f"a reader keeps 1 to {n} layers, not {layers}")
    kept = [round(n - 1 - n / layers * k) for k in reversed(range(layers))]
    encoder.encoder.layer = nn.ModuleList(encoder.encoder.layer[k] for k in kept)
    encoder.config.num_hidden_layers = layers
    return kept


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

    def __init__(self, weights: Path = WEIGHTS, precision: str = "auto") -> None:
        self.weights = weights
        #: bf16 where the CPU computes it natively (Settings.precision), else fp32.
        self.precision = resolve_precision(precision)
        self._loaded: tuple[Any, Any, Layout, PackedEncoder] | None = None
        self._lock = threading.Lock()
        self._tokenizing = threading.Lock()

    def _model(self) -> tuple[Any, Any, Layout]:
        """The network, its tokenizer and its layout (loaded on first use)."""
        return self._load_once()[:3]

    def _load_once(self) -> tuple[Any, Any, Layout, PackedEncoder]:
        with self._lock:
            if self._loaded is None:
                net, tokenizer, layout = _load(self.weights)
                cast_linear_weights(net, self.precision)
                # Built after the cast: it keeps the attention projections fused in their final dtype.
                self._loaded = (net, tokenizer, layout, PackedEncoder(net.encoder))
            return self._loaded

    @property
    def layout(self) -> Layout:
        """What this reader reads around each candidate (loads the model on first use)."""
        return self._model()[2]

    def read(
        self, question: str, candidates: Sequence[tuple[str, str, str]], history: str = ""
    ) -> list[Reading]:
        """Score ``(sentence, context before, title)`` candidates against ``question`` in one batch;
        ``history`` is the previous question of a conversation (read only by readers trained on it)."""
        import torch

        if not candidates:
            return []
        net, tokenizer, layout, packed = self._load_once()
        texts = [question, history, *(t for c in candidates for t in c)]
        with self._tokenizing:  # a fast tokenizer called from two threads at once fails (see embedding.py)
            enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        ids, offs = enc["input_ids"], enc["offset_mapping"]
        pairs = []
        for n in range(len(candidates)):
            k = 2 + 3 * n
            sentence = (ids[k], offs[k])
            pairs.append(encode(tokenizer, ids[0], sentence, ids[k + 1], ids[k + 2], ids[1], layout))
        batch = collate(pairs)
        with torch.inference_mode(), autocast(self.precision):
            # Over the real word pieces only (packed.py): the same readings as net(**batch), faster.
            hidden = packed(batch["ids"], batch["mask"], batch["types"])
            answers, start, end = net.heads(hidden, batch["mask"], batch["allowed"])
        out = []
        answers, starts, ends = answers.float(), start.float().numpy(), end.float().numpy()
        for n, (e, a) in enumerate(zip(pairs, answers.tolist(), strict=True)):
            margin, i, j = best_span(starts[n], ends[n], e)
            out.append(Reading(float(a), margin, *_chars(e, i, j, len(candidates[n][0]))))
        return out


def _chars(e: Encoded, i: int, j: int, length: int) -> tuple[int, int]:
    if not e.offsets:
        return 0, 0
    return min(e.offsets[i][0], length), min(e.offsets[j][1], length)


def _load(weights: Path) -> tuple[Any, Any, Layout]:
    """The network with the trained layers in (float32), its tokenizer and the layout it was trained on."""
    offline()
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not weights.is_file():
        raise ReaderError(weights, "the file is missing")
    try:
        state = load_file(str(weights))
        with safe_open(str(weights), framework="pt") as handle:
            meta = handle.metadata() or {}
            layout = Layout.from_metadata(meta)
            layers = int(meta.get("encoder_layers", 0))  # absent: all of the packaged model's
    except (SafetensorError, OSError, ValueError) as exc:
        raise ReaderError(weights, f"the file is not readable safetensors ({exc})") from None
    hf_logging.set_verbosity_error()  # the base model's unused pooler is expected, not news
    hf_logging.disable_progress_bar()
    model_dir = resolve_model(PACKAGED_MODEL)
    try:
        net = build_net(model_dir, layers)
    except ValueError as exc:  # a layer count the packaged model cannot give
        raise ReaderError(
            weights, f"its recorded encoder_layers do not fit the packaged model ({exc})"
        ) from None
    try:
        result = net.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    except RuntimeError as exc:  # a tensor of the wrong shape
        raise ReaderError(weights, f"its tensors do not fit the packaged model ({exc})") from None
    if result.unexpected_keys or not any(k.startswith("answer.") for k in state):
        raise ReaderError(weights, "it does not hold the reader's layers and heads")
    _check_digest(weights)
    # float32, not int8: torch's dynamic int8 quantisation cost 6 points of top-1 on held-out SQuAD
    # articles (0.819 -> 0.759 on a 415-question sample), and float32 already answers within budget.
    net.eval()
    return net, AutoTokenizer.from_pretrained(model_dir), layout


def _check_digest(weights: Path) -> None:
    """Refuse weights whose bytes changed after training (a header that still parses hides that)."""
    import hashlib

    recorded = digest_path(weights)
    try:
        expected = recorded.read_text(encoding="ascii").split()[0].lower()
    except (OSError, IndexError, UnicodeDecodeError):
        raise ReaderError(weights, f"no sha256 is recorded beside it ({recorded.name} is missing)") from None
    actual = hashlib.sha256(weights.read_bytes()).hexdigest()
    if actual != expected:
        raise ReaderError(
            weights, f"its sha256 does not match the one in {recorded.name} (a damaged or partial copy)"
        )


def shared_reader(weights: Path = WEIGHTS, precision: str = "auto") -> Reader:
    """The process-wide reader: loaded once, used by every answer."""
    return _shared(weights, resolve_precision(precision))


@lru_cache(maxsize=2)
def _shared(weights: Path, precision: str) -> Reader:
    return Reader(weights, precision)
