"""The number format the models compute in on a CPU, decided in one place for every model.

bfloat16 halves the work of a transformer where the processor has native bf16 instructions (Intel
AMX or AVX512-BF16): the packaged MiniLM reads 4.6x faster under ``torch.autocast`` on such a Xeon,
and its sentence vectors keep a cosine >= 0.9999 with float32's. Elsewhere bf16 is emulated and
slower than float32, so the choice is made at run time from the CPU's flags, never assumed. The
embedder, the reader and the training scripts all ask :func:`resolve` and enter :func:`autocast`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Literal

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


def resolve(setting: str = "auto", device: str = "cpu") -> Precision:
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
