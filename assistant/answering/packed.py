"""The reader's encoder run over the real word pieces only, for answering.

The reader reads six candidates in one batch, padded to the longest pair: about 40% of the positions
are padding (pairs of 46 to 115 pieces padded to 128). BERT's dense layers, the attention projections
and the feed-forward block, work on each position alone, so here they run on the real positions only,
packed into one matrix; attention, which needs the batch's shape, gets it back for its own step. The
three attention projections are one matrix product. Same weights and operations as ``BertModel``'s
forward: ``test_reader.py`` checks the readings match. Training keeps ``BertModel`` (it needs autograd
through the same code it was written for).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: The packed rows are padded to a multiple of this: a few matrix shapes, so the CPU kernels made
#: for a shape (oneDNN primitives, bf16 ones especially) are reused from question to question.
ROWS_TO = 64


class PackedEncoder:
    """A ``BertModel``'s forward over real positions only; build it after the weights are final
    (cast or loaded), as it keeps each layer's three attention projections fused into one."""

    def __init__(self, encoder: Any) -> None:
        import torch

        self.encoder = encoder
        self.heads = encoder.config.num_attention_heads
        self.layers = []
        for layer in encoder.encoder.layer:
            attention = layer.attention.self
            parts = (attention.query, attention.key, attention.value)
            weight = torch.cat([p.weight for p in parts]).detach()
            bias = torch.cat([p.bias for p in parts]).detach()
            self.layers.append((layer, weight, bias))

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """The last layer's token vectors, shaped like the batch (padding positions are zero)."""
        import torch
        from torch.nn import functional

        batch, width = ids.shape
        embedded = self.encoder.embeddings(input_ids=ids, token_type_ids=types)
        dim = embedded.shape[-1]
        real = mask.flatten().nonzero().squeeze(1)
        n = real.numel()
        rows = -(-n // ROWS_TO) * ROWS_TO

        def packed(padded: torch.Tensor) -> torch.Tensor:
            x = padded.reshape(batch * width, -1).index_select(0, real)
            return torch.cat([x, x.new_zeros(rows - n, x.shape[1])])

        def unpacked(x: torch.Tensor) -> torch.Tensor:
            out = x.new_zeros(batch * width, x.shape[1])
            out[real] = x[:n]
            return out

        keep = mask.bool()[:, None, None, :]
        x = packed(embedded)
        for layer, weight, bias in self.layers:
            qkv = unpacked(functional.linear(x, weight, bias))
            q, k, v = qkv.view(batch, width, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
            attended = functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            out = layer.attention.output
            h = out.LayerNorm(out.dense(packed(attended.transpose(1, 2))) + x)
            x = layer.output.LayerNorm(layer.output.dense(layer.intermediate(h)) + h)
        return unpacked(x).view(batch, width, dim)
