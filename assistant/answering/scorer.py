"""The answerer's fitted parameters (assistant/answerer.json) and the two models they define.

Both are logistic regressions over standardised features (features.py):

* the sentence model: the probability that a sentence holds the answer; it ranks the candidates;
* the confidence model: the probability that the answer shown (the chosen sentences) answers the
  question; below ``min_confidence`` the answerer abstains.

The file is written by ``training/train_answerer.py`` (which prints the held-out figures it was judged
on) and is small and readable: feature names, means, scales, coefficients, the threshold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from assistant.errors import AssistantError

PARAMETERS = Path(__file__).with_name("answerer.json")
T = TypeVar("T")


@dataclass(frozen=True)
class Logistic:
    """A fitted logistic regression over named, standardised features."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def logit(self, x: Sequence[float]) -> float:
        """The log-odds for one feature row (in ``features`` order)."""
        z = self.intercept
        for v, m, s, c in zip(x, self.mean, self.scale, self.coef, strict=True):
            z += c * (v - m) / s
        return z

    def to_dict(self) -> dict[str, object]:
        """The JSON form: one entry per feature, so the file reads as a table."""
        return {
            "intercept": round(self.intercept, 6),
            "features": {
                name: {"mean": round(m, 6), "scale": round(s, 6), "coef": round(c, 6)}
                for name, m, s, c in zip(self.features, self.mean, self.scale, self.coef, strict=True)
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> Logistic:
        """Read the JSON form written by ``to_dict``."""
        names = tuple(data["features"])
        rows = [data["features"][n] for n in names]
        return cls(
            names,
            tuple(float(r["mean"]) for r in rows),
            tuple(float(r["scale"]) or 1.0 for r in rows),
            tuple(float(r["coef"]) for r in rows),
            float(data["intercept"]),
        )


def sigmoid(z: float) -> float:
    """The logistic function, safe for large |z|."""
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


@dataclass(frozen=True)
class Parameters:
    """Everything the answerer loads from answerer.json."""

    sentence: Logistic
    confidence: Logistic
    #: Abstain below this confidence: chosen on held-out articles for <= 5% false abstention.
    min_confidence: float


def read_fitted(path: Path, what: str, build: Callable[[dict], T], rebuild: str) -> T:
    """``build(data)`` of the fitted JSON file at ``path``; a missing or malformed file raises one
    clear error naming the file and the command that rebuilds it."""
    try:
        # NaN and Infinity are legal in Python's JSON but never a fitted value: a damaged file.
        text = path.read_text(encoding="utf-8")
        return build(json.loads(text, parse_constant=_not_finite, parse_float=_finite))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AssistantError(
            f"Cannot load {what} from {path} ({type(exc).__name__}: {exc}); rebuild them with: {rebuild}",
            "The assistant's fitted answerer could not be loaded; tell whoever runs it (see its log).",
        ) from None


def _not_finite(constant: str) -> float:
    raise ValueError(f"{constant} is not a finite number")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999 reads as inf
        raise ValueError(f"{literal} is not a finite number")
    return value


@lru_cache(maxsize=4)
def load_parameters(path: Path = PARAMETERS) -> Parameters:
    """The fitted parameters; a missing or malformed file raises a clear error naming it."""
    return read_fitted(
        path,
        "the answerer's parameters",
        lambda data: Parameters(
            Logistic.from_dict(data["sentence"]),
            Logistic.from_dict(data["confidence"]),
            float(data["min_confidence"]),
        ),
        ".venv/bin/python -m training.train_answerer",
    )
