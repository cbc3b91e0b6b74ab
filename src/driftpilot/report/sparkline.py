"""An inline SVG sparkline: a score's history in one table cell.

>>> svg = sparkline([0.1, 0.5, None, 0.3], 0.2, flags=[False, True, False, True])
>>> svg.count("<circle"), svg.count("<polyline")
(2, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["sparkline"]

LINE, MARK = "#2e86de", "#c0392b"


def sparkline(
    values: Sequence[float | None],
    threshold: float | None = None,
    *,
    flags: Sequence[bool] | None = None,
    width: int = 120,
    height: int = 26,
) -> str:
    """The values left to right, scaled to the largest (or the threshold), the threshold as a
    dashed line; a point is red where ``flags`` says so (each window's own verdict), else
    where it is over the threshold. Missing values break the line."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    top = max([*finite, threshold or 0.0]) or 1.0
    step = width / max(len(values) - 1, 1)

    def y(v: float) -> float:
        return round(height - 2 - (height - 4) * min(max(v, 0.0) / top, 1.0), 1)

    runs: list[list[str]] = [[]]
    dots = []
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            if runs[-1]:
                runs.append([])
            continue
        x = round(i * step, 1)
        runs[-1].append(f"{x},{y(v)}")
        marked = flags[i] if flags is not None else threshold is not None and v > threshold
        if marked:
            dots.append(f'<circle cx="{x}" cy="{y(v)}" r="2.5" fill="{MARK}"/>')
    lines = "".join(
        f'<polyline fill="none" stroke="{LINE}" stroke-width="1.5" points="{" ".join(run)}"/>'
        for run in runs
        if run
    )
    rule = (
        f'<line x1="0" x2="{width}" y1="{y(threshold)}" y2="{y(threshold)}" '
        f'stroke="{MARK}" stroke-dasharray="3,2" stroke-width="0.8"/>'
        if threshold is not None
        else ""
    )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"{rule}{lines}{''.join(dots)}</svg>"
    )
