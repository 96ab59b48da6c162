"""The process environment the assistant needs, decided in one place: offline, quiet, no telemetry,
and the number format the models compute in on this CPU.

Libraries read the variables when they are first imported, so every entry point (the model
loader, the Chroma client, the web app, tests and benchmarks) calls :func:`offline` before it
imports transformers, chromadb or gradio. Values a user set explicitly are kept.

bfloat16 halves the work of a transformer where the processor has native bf16 instructions (Intel
AMX or AVX512-BF16): the packaged MiniLM reads 4.6x faster under ``torch.autocast`` on such a Xeon,
and its sentence vectors keep a cosine >= 0.9999 with float32's. Elsewhere bf16 is emulated and
slower than float32, so :func:`resolve_precision` decides at run time from the CPU's flags, never by
assumption. The training scripts ask it today; the reader and the embedder are to ask it too (#32,
#33), so one place decides for every model.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

#: Never reach for a model hub or send usage data: this project runs without the internet.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",  # tokenizers' thread pool warns after a fork; we never need it
    "ANONYMIZED_TELEMETRY": "False",  # Chroma
    "GRADIO_ANALYTICS_ENABLED": "False",
}


def offline() -> None:
    """Set the offline defaults (an explicit setting in the environment wins)."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


Precision = Literal["bf16", "fp32"]
#: CPU flags (as /proc/cpuinfo names them) that mean native bfloat16 matrix or vector arithmetic.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


@lru_cache(maxsize=1)
def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The feature flags of the first CPU (empty where /proc/cpuinfo is absent, as on macOS)."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def native_bf16() -> bool:
    """True when this CPU computes bfloat16 natively (AMX or AVX512-BF16)."""
    return bool(BF16_FLAGS & cpu_flags())


def resolve_precision(setting: str = "auto", device: str = "cpu") -> Precision:
    """``bf16`` or ``fp32`` for a model on ``device``: ``auto`` takes bf16 only where it is native."""
    if setting not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, not {setting!r}")
    if setting != "auto":
        return setting  # type: ignore[return-value]
    if device.startswith("cuda"):
        return "bf16"  # every GPU this project is lent (H100/H200) computes bf16 natively
    return "bf16" if native_bf16() else "fp32"


@contextlib.contextmanager
def autocast(precision: Precision, device: str = "cpu") -> Iterator[None]:
    """Run the enclosed forward passes in ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        yield
        return
    import torch

    with torch.autocast(device.split(":")[0], dtype=torch.bfloat16):
        yield


def cast_linear_weights(net: Any, precision: Precision) -> None:
    """Store ``net``'s Linear weights in bf16 when it runs under bf16 autocast (a no-op for fp32).

    Autocast computes every Linear in bf16 anyway, so the answers are the same to the bit; kept in
    fp32, their weights were cast again on every forward pass (a tenth of the reader's time). LayerNorm
    and the embeddings stay fp32, as autocast keeps them. Only for a model that always runs in bf16:
    the embedder also answers in fp32, so it keeps its weights as they are.
    """
    if precision == "fp32":
        return
    import torch

    for module in net.modules():
        if isinstance(module, torch.nn.Linear):
            module.to(torch.bfloat16)
