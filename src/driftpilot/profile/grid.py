"""The cell grid that turns a numeric value into an integer cell, the same way in every engine.

A numeric feature is standardised with the reference's robust centre and scale,
``z = (x − centre) · (1 / scale)``, and cut into cells: ``step`` wide (0.01 by default) for
``|z| < limit`` (4 by default), and ``growth``-relative wide (2 %) beyond, out to ±1e300. Cells
are integers, so an engine can count rows per cell with a plain GROUP BY; the counts add across
partitions and windows. The reference's fine quantile bins are runs of whole cells, so any
window's counts in those bins follow from its cell counts, exactly, without the reference data.

Point masses (ties) never split: equal values always share a cell. A normal feature puts at
most about 0.4 % of its mass in one cell, so the 100 quantile bins come out within a fraction
of a percent of equal mass.

>>> import numpy as np
>>> from driftpilot.profile.grid import Grid
>>> grid = Grid(center=10.0, scale=2.0)
>>> grid.cells(np.array([10.0, 10.03, 7.9, 18.0, 1e6])).tolist()
[0, 1, -105, 400, 992]
>>> float(grid.lower_edge(np.array([400]))[0])   # cell 400 starts at z = 4, x = 18
18.0
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CODES", "Grid", "choose_boundaries", "grid_for"]

Z_CLIP = 1e300


class _Codes:
    """Cell codes outside the grid (the grid's own cells stay within ±40,000)."""

    NAN = -2_000_000_000
    NEG_INF = -1_999_999_999
    POS_INF = 1_999_999_999
    TYPE_ERROR = -2_000_000_001
    UNDER = -1_000_000_000  # below the reference minimum (current windows only)
    OVER = 1_000_000_000  # above the reference maximum (current windows only)


CODES = _Codes()


class Grid(BaseModel):
    """Placement of a numeric feature's cells: centre, scale and resolution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    center: float
    scale: float = Field(gt=0)
    step: float = Field(0.01, gt=0)
    limit: float = Field(4.0, gt=0)
    growth: float = Field(1.02, gt=1)

    @property
    def linear_cells(self) -> int:
        """Number of linear cells on each side of the centre."""
        return round(self.limit / self.step)

    @property
    def log_growth(self) -> float:
        return math.log(self.growth)

    def cells(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """Cells of finite values (mirrors the engine's SQL expression operation for operation)."""
        z = (np.asarray(values, dtype=np.float64) - self.center) * (1.0 / self.scale)
        lin = self.linear_cells
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_cells = np.log(np.minimum(np.abs(z), Z_CLIP) / self.limit) / self.log_growth
            linear = np.floor(z * (1.0 / self.step))
        out = np.where(
            z >= self.limit,
            np.floor(log_cells) + lin,
            np.where(z < -self.limit, -lin - np.ceil(log_cells), linear),
        )
        return out.astype(np.int64)

    def lower_edge(self, cells: NDArray[np.int64]) -> NDArray[np.float64]:
        """The value where each cell starts (the boundary with the cell below)."""
        c = np.asarray(cells, dtype=np.float64)
        lin = self.linear_cells
        z = np.where(
            c > lin,
            self.limit * self.growth ** (c - lin),
            np.where(c < -lin, -self.limit * self.growth ** (-lin - c), c * self.step),
        )
        return np.asarray(self.center + z * self.scale, dtype=np.float64)


def grid_for(sample: NDArray[np.float64]) -> Grid:
    """Place a grid on a sample of finite values: median and IQR/1.349 (robust to outliers).

    Falls back to the standard deviation when the IQR is zero (a feature that is mostly one
    value) and to 1 for a constant feature (or to the centre's size for a huge constant).
    """
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        return Grid(center=0.0, scale=1.0)
    q25, median, q75 = np.quantile(finite, [0.25, 0.5, 0.75])
    # a usable scale is finite and not vanishing next to the centre (1/scale must stay finite)
    smallest = max(abs(float(median)), 1e-200) * 1e-12
    scale = (q75 - q25) / 1.349
    if not (np.isfinite(scale) and scale > smallest):
        scale = float(np.std(finite))
    if not (np.isfinite(scale) and scale > smallest):
        scale = max(abs(float(median)), 1.0) if abs(float(median)) > 1e12 else 1.0
    return Grid(center=float(median), scale=float(scale))


def choose_boundaries(
    cells: NDArray[np.int64], counts: NDArray[np.float64], bins: int
) -> NDArray[np.int64]:
    """Cut sorted occupied cells into about ``bins`` runs of equal mass.

    Returns the boundaries as cells: bin ``i`` holds cells ``[b[i], b[i+1])``. A cell heavier
    than one bin's share (a point mass) becomes a bin of its own, so there may be fewer bins.
    """
    cum = np.cumsum(counts)
    targets = cum[-1] * np.arange(1, bins) / bins
    crossing = np.searchsorted(cum, targets, side="left")
    inner = np.unique(cells[np.minimum(crossing, cells.size - 1)] + 1)
    last = cells[-1] + 1
    inner = inner[(inner > cells[0]) & (inner < last)]
    return np.concatenate([[cells[0]], inner, [last]]).astype(np.int64)
