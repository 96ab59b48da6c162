"""Distilling the reader into fewer layers (``train_reader --student-layers``): the teacher, and how
far the student's readings are from it.

The student starts as the teacher's own layers, evenly spread with the top one kept
(``reader.keep_layers``), and its heads. Each training batch is also read by the teacher (in the
precision answers run in, over the real word pieces only), and the loss mixes the gold labels with
the teacher's readings: the student learns what the teacher makes of every pair, how sure it is and
which spans come close, not only which sentence is gold.
"""

from __future__ import annotations

import copy
from typing import Any

from assistant.answering.packed import PackedEncoder
from assistant.answering.reader import keep_layers
from assistant.environment import Precision, autocast, cast_linear_weights


class Teacher:
    """A frozen copy of a reader network that reads training batches for its student."""

    def __init__(self, net: Any, precision: Precision) -> None:
        self.net = copy.deepcopy(net).eval()
        cast_linear_weights(self.net, precision)
        for param in self.net.parameters():
            param.requires_grad = False
        self.packed = PackedEncoder(self.net.encoder)
        self.precision = precision

    def read(self, x: dict[str, Any], device: str) -> tuple[Any, Any, Any]:
        """The teacher's (answers, start, end) logits for a collated batch, in float32."""
        import torch

        with torch.no_grad(), autocast(self.precision, device):
            hidden = self.packed(x["ids"], x["mask"], x["types"])
            answer, start, end = self.net.heads(hidden, x["mask"], x["allowed"])
        return answer.float(), start.float(), end.float()


def make_student(net: Any, layers: int, precision: Precision) -> Teacher:
    """Turn ``net`` (holding the teacher's weights) into a student of ``layers`` of its layers, in
    place; returns the teacher, a frozen copy taken first."""
    teacher = Teacher(net, precision)
    print(f"student: layers {keep_layers(net.encoder, layers)} of the teacher", flush=True)
    return teacher


def distillation_loss(
    teacher_read: tuple[Any, Any, Any], student_read: tuple[Any, Any, Any], temperature: float
) -> Any:
    """The "answers" head against the teacher's probability, and the span heads against its start and
    end distributions softened by ``temperature`` (Hinton et al., 2015; scaled by its square so the
    gradients keep their size)."""
    import torch
    import torch.nn.functional as F

    t_answer, t_start, t_end = teacher_read
    answer, start, end = (t.float() for t in student_read)
    loss = F.binary_cross_entropy_with_logits(answer, torch.sigmoid(t_answer))
    for mine, theirs in ((start, t_start), (end, t_end)):
        kl = F.kl_div(
            F.log_softmax(mine / temperature, -1), F.softmax(theirs / temperature, -1), reduction="batchmean"
        )
        loss = loss + 0.5 * temperature**2 * kl
    return loss
