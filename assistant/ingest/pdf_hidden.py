"""Text a PDF page draws where no reader can see it: found in the content stream and left unread.

A PDF can carry text that a person never sees: drawn invisible (text render mode 3, or 7: clip
only), too small to read (under :data:`MIN_POINTS` once the text and page matrices scale it), outside
the page's visible box, or in white, the colour of the paper. Indexed, such text would be quoted as
the article (and is a way to plant instructions for an AI). This module walks a page's content
stream with the graphics state a renderer keeps (``q``/``Q``, ``cm``, ``BT``, ``Tf``, ``Td``/``TD``/
``Tm``/``T*``, ``Tr``, the fill colour) and blanks the text-showing operators that draw such text, so
the page's text layer is then read as usual without it.

Limits (docs/security.md): the paper is taken to be white (white text on a dark box drawn by the
page is treated as hidden, dark text under an image as shown); text drawn inside form XObjects and
Type 3 fonts is not inspected; a clipping path that hides text is not followed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

#: Text smaller than this on the page (points) is not meant to be read.
MIN_POINTS = 2.0
#: How far outside the page's box (points) text may start and still count as on the page.
_MARGIN = 2.0
_SHOW = {b"Tj", b"TJ", b"'", b'"'}
Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """m x n for PDF's row-vector matrices [a b c d e f]."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t, e * q + f * s + u)


@dataclass
class _State:
    ctm: Matrix = _IDENTITY
    fill: tuple[float, ...] = (0.0,)
    fill_space: str = "gray"
    render: int = 0
    size: float = 12.0
    leading: float = 0.0


def _white(fill: tuple[float, ...], space: str) -> bool:
    if space == "cmyk" or len(fill) == 4:
        return all(v <= 0.02 for v in fill)
    return len(fill) in (1, 3) and all(v >= 0.98 for v in fill)


def _numbers(operands: list[Any]) -> list[float]:
    out = []
    for x in operands:
        try:
            out.append(float(x))
        except (TypeError, ValueError):
            return []
    return out


def _chars(operator: bytes, operands: list[Any]) -> int:
    """Roughly how many characters a text-showing operator draws (for the report)."""
    text = operands[-1] if operands else b""
    if operator == b"TJ":
        return sum(len(x) for x in text if isinstance(x, (bytes, str)))
    return len(text) if isinstance(text, (bytes, str)) else 0


def hide_unseen_text(page: Any, reader: Any) -> Counter[str]:
    """Blank the text ``page`` draws where no reader sees it; returns characters blanked, by reason.

    The page is changed in memory only when something was hidden (its other text stays as it was).
    """
    from pypdf.generic import ArrayObject, ByteStringObject, ContentStream, DecodedStreamObject, NameObject

    contents = page.get_contents()
    if contents is None:
        return Counter()
    stream = ContentStream(contents, reader)
    box = page.cropbox
    left, bottom, right, top = (float(v) for v in (box.left, box.bottom, box.right, box.top))
    state, stack = _State(), []
    tm = tlm = _IDENTITY
    hidden: Counter[str] = Counter()
    for k, (operands, operator) in enumerate(stream.operations):
        if operator == b"q":
            stack.append(_State(**vars(state)))
        elif operator == b"Q" and stack:
            state = stack.pop()
        elif operator == b"cm" and len(n := _numbers(operands)) == 6:
            state.ctm = _mul(tuple(n), state.ctm)  # type: ignore[arg-type]
        elif operator == b"BT":
            tm = tlm = _IDENTITY
        elif operator == b"Tf" and len(operands) == 2:
            state.size = float(operands[1])
        elif operator == b"TL" and (n := _numbers(operands)):
            state.leading = n[0]
        elif operator in (b"Td", b"TD") and len(n := _numbers(operands)) == 2:
            if operator == b"TD":
                state.leading = -n[1]
            tm = tlm = _mul((1, 0, 0, 1, n[0], n[1]), tlm)
        elif operator == b"Tm" and len(n := _numbers(operands)) == 6:
            tm = tlm = tuple(n)  # type: ignore[assignment]
        elif operator in (b"T*", b"'", b'"'):
            tm = tlm = _mul((1, 0, 0, 1, 0, -state.leading), tlm)
        elif operator == b"Tr" and (n := _numbers(operands)):
            state.render = int(n[0])
        elif operator in (b"g", b"rg", b"k") and (n := _numbers(operands)):
            state.fill, state.fill_space = tuple(n), {b"g": "gray", b"rg": "rgb", b"k": "cmyk"}[operator]
        elif operator in (b"sc", b"scn") and (n := _numbers(operands)):
            state.fill, state.fill_space = tuple(n), {1: "gray", 3: "rgb", 4: "cmyk"}.get(len(n), "other")
        if operator not in _SHOW:
            continue
        m = _mul(tm, state.ctm)
        points = abs(state.size) * math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))
        x, y = m[4], m[5]
        reason = None
        if state.render in (3, 7):
            reason = "invisible text (render mode 3)"
        elif points < MIN_POINTS:
            reason = f"text under {MIN_POINTS:g} pt"
        elif not (left - _MARGIN <= x <= right + _MARGIN and bottom - _MARGIN <= y <= top + _MARGIN):
            reason = "text outside the page"
        elif _white(state.fill, state.fill_space):
            reason = "white text (the paper's colour)"
        if reason:
            hidden[reason] += _chars(operator, operands)
            blank = ArrayObject() if operator == b"TJ" else ByteStringObject(b"")
            stream.operations[k] = ([*operands[:-1], blank], operator)
    if hidden:  # in memory only: the reader's page now draws (and so extracts) the rest
        # As bytes, re-parsed by the extractor: the parsed operations hold strings already decoded,
        # which an embedded font's own encoding would then read wrongly.
        replaced = DecodedStreamObject()
        replaced.set_data(stream.get_data())
        page[NameObject("/Contents")] = replaced
    return hidden
