"""Checkpoints of a training run, so a stopped run loses nothing and ``--resume`` goes on from it.

A checkpoint holds the trainable weights, the optimiser's state, the run's counters, its learning
curve and the random states. It is written to a temporary file and renamed over the last one, so a
run killed while saving keeps the previous checkpoint. Checkpoints live outside the repository
(they are large and only the exported reader ships).
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

#: Where runs keep their checkpoints unless told otherwise (survives a fresh clone of the repository).
DEFAULT_DIR = Path(
    os.environ.get("ASSISTANT_TRAINING_DIR", Path.home() / ".cache" / "news-assistant" / "training")
)


def save(path: Path, net: Any, opt: Any, state: dict[str, Any], rng: random.Random) -> None:
    """Write the run's checkpoint atomically (trainable weights only: the rest is the packaged model)."""
    import torch

    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    payload = {
        "weights": {k: v.detach().cpu() for k, v in net.state_dict().items() if k in trainable},
        "optimizer": opt.state_dict(),
        "state": state,
        "python_rng": rng.getstate(),
        "torch_rng": torch.get_rng_state(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load(path: Path, net: Any, opt: Any, rng: random.Random) -> dict[str, Any]:
    """Restore a checkpoint into ``net``, ``opt`` and ``rng``; returns the run's saved state."""
    import torch

    payload = torch.load(path, map_location="cpu", weights_only=False)
    result = net.load_state_dict(payload["weights"], strict=False)
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    # A student's checkpoint names layers 0..K-1, which a full reader also has: a resume with other
    # --student-layers or --layers would load without error into the wrong layers. Missing ones show it.
    unfit = result.unexpected_keys or sorted(trainable & set(result.missing_keys))
    if unfit:
        raise SystemExit(
            f"{path}: its weights do not fit this network ({unfit[:3]} ...): resume with the "
            "--student-layers and --layers the run was started with"
        )
    opt.load_state_dict(payload["optimizer"])
    rng.setstate(payload["python_rng"])
    torch.set_rng_state(payload["torch_rng"])
    return payload["state"]


class StopRequests:
    """Turns Ctrl-C and SIGTERM (``kill``) into a request the training loop sees between batches, so
    it stops with a fresh checkpoint instead of losing the work since the last one."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> StopRequests:
        import signal

        self._old = {s: signal.signal(s, self._request) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def _request(self, signum: int, frame: object) -> None:
        if self.requested:  # a second request: stop at once
            raise KeyboardInterrupt
        self.requested = True
        print("stop requested: saving a checkpoint after this batch (again to stop at once)", flush=True)
