"""Write the trained reader as it ships: its trained layers and heads in float16, and its figures."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from assistant.answering.reader import FIGURES, WEIGHTS, digest_path
from assistant.answering.reader_input import Layout


def export(
    net: Any,
    layers: int,
    layout: Layout,
    figures: dict[str, Any],
    weights: Path = WEIGHTS,
    out: Path = FIGURES,
) -> None:
    """Save the top ``layers`` encoder layers and the heads to ``weights``, the figures to ``out``."""
    import torch
    from safetensors.torch import save_file

    n_layers = net.encoder.config.num_hidden_layers
    keep = tuple(f"encoder.encoder.layer.{k}." for k in range(n_layers - layers, n_layers))
    state = {
        k: v.detach().to(torch.float16).contiguous()
        for k, v in net.state_dict().items()
        if k.startswith(keep) or k.startswith(("answer.", "span."))
    }
    weights.parent.mkdir(parents=True, exist_ok=True)
    # encoder_layers: how many layers the reader keeps (fewer than the packaged model's when distilled).
    meta = {"trained_layers": str(layers), "encoder_layers": str(n_layers), **layout.metadata()}
    save_file(state, str(weights), metadata=meta)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    digest_path(weights).write_text(f"{digest}  {weights.name}\n", encoding="ascii")
    figures["size_bytes"] = weights.stat().st_size
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
