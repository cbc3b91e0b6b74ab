"""The cell grid that turns a numeric value into an integer cell, the same way in every engine.

A numeric feature is standardised with the reference's robust centre and scale,
``z = (x − centre) · (1 / scale)``, and cut into *base cells*: ``step`` wide (0.01 by default)
for ``|z| < limit`` (4 by default), and ``growth``-relative wide (2 %) beyond, out to ±1e300.
The engine counts rows per cell with a plain GROUP BY; counts add across partitions and
windows. The reference's fine quantile bins are runs of whole cells, so any window's counts in
those bins follow from its cell counts, exactly, without the reference data.

Data at several scales at once (a cluster of small values beside huge ones) would crowd one
base cell; such a cell gets a *refinement*: a grid of its own, placed on the values inside it.
A cell is encoded as ``base · 2²⁰ + 2¹⁹ (+ sub-cell)``, which keeps cells ordered like values.

Point masses (ties) never split: equal values always share a cell. A normal feature puts at
most about 0.4 % of its mass in one cell; no cell with distinct values keeps more than one
bin's share of the reference unless it is refined twice over (a profile warning says so).

>>> import numpy as np
>>> from driftpilot.profile.grid import Grid, decode
>>> grid = Grid(center=10.0, scale=2.0)
>>> decode(grid.cells(np.array([10.0, 10.03, 7.9, 18.0, 1e6]))).tolist()
[0, 1, -105, 400, 992]
>>> float(grid.lower_edge(grid.cells(np.array([18.0])))[0])   # base cell 400 starts at x = 18
18.0
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["CODES", "HALF", "SUB", "Grid", "choose_boundaries", "decode", "encode", "grid_for"]

Z_CLIP = 1e300
SUB = 1 << 20  # encoded cells per base cell
HALF = 1 << 19  # offset of the base cell itself (sub-cells go either side)
_CODE = 1 << 40  # codes lie beyond every encoded cell (|base| ≤ ~40,000 → |encoded| < 2^36)


class _Codes:
    """Cell codes for values that are not in the grid."""

    UNDER = -_CODE  # below the reference minimum (current windows only)
    OVER = _CODE  # above the reference maximum (current windows only)
    NAN = -_CODE - 1
    NEG_INF = -_CODE - 2
    POS_INF = _CODE + 2
    TYPE_ERROR = -_CODE - 3


CODES = _Codes()


def encode(base: NDArray[np.int64]) -> NDArray[np.int64]:
    """Encoded cell of unrefined base cells."""
    return np.asarray(base, dtype=np.int64) * SUB + HALF


def decode(cells: NDArray[np.int64]) -> NDArray[np.int64]:
    """The base cell of encoded cells."""
    return np.floor_divide(np.asarray(cells, dtype=np.int64), SUB)


class Grid(BaseModel):
    """Placement of a numeric feature's cells: centre, scale, resolution, refinements."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    center: float
    scale: float = Field(gt=0)
    step: float = Field(0.01, gt=0)
    limit: float = Field(4.0, gt=0)
    growth: float = Field(1.02, gt=1)
    refinements: dict[int, Grid] = Field(default_factory=dict)

    @field_validator("refinements")
    @classmethod
    def _one_level(cls, value: dict[int, Grid]) -> dict[int, Grid]:
        if any(sub.refinements for sub in value.values()):
            raise ValueError("a refinement cannot be refined again")
        return value

    @property
    def linear_cells(self) -> int:
        """Number of linear cells on each side of the centre."""
        return round(self.limit / self.step)

    @property
    def log_growth(self) -> float:
        return math.log(self.growth)

    def base_cells(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """Base cells of finite values (the engine's SQL expression, operation for operation)."""
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

    def cells(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """Encoded cells of finite values."""
        values = np.asarray(values, dtype=np.float64)
        base = self.base_cells(values)
        out = encode(base)
        for parent, sub in self.refinements.items():
            inside = base == parent
            if inside.any():
                out[inside] += np.clip(sub.base_cells(values[inside]), -HALF, HALF - 1)
        return out

    def base_edge(self, base: NDArray[np.int64]) -> NDArray[np.float64]:
        """The value where each base cell starts."""
        c = np.asarray(base, dtype=np.float64)
        lin = self.linear_cells
        with np.errstate(over="ignore"):
            z = np.where(
                c > lin,
                self.limit * self.growth ** (c - lin),
                np.where(c < -lin, -self.limit * self.growth ** (-lin - c), c * self.step),
            )
        return np.asarray(self.center + z * self.scale, dtype=np.float64)

    def lower_edge(self, cells: NDArray[np.int64]) -> NDArray[np.float64]:
        """The value where each encoded cell (or boundary between cells) starts.

        A boundary just after an unrefined base cell's code starts the next base cell; inside a
        refined cell it starts at its sub-cell's edge, kept within the parent cell.
        """
        cells = np.asarray(cells, dtype=np.int64)
        base = decode(cells)
        offset = cells - encode(base)
        edges = self.base_edge(base + (offset > 0))
        for parent, sub in self.refinements.items():
            inside = base == parent
            if inside.any():
                edges[inside] = np.clip(
                    sub.base_edge(offset[inside]),
                    self.base_edge(base[inside]),
                    self.base_edge(base[inside] + 1),
                )
        return edges


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
        with np.errstate(over="ignore", invalid="ignore"):
            scale = float(np.std(finite))
    if not (np.isfinite(scale) and scale > smallest):
        scale = max(abs(float(median)), 1.0) if abs(float(median)) > 1e12 else 1.0
    return Grid(center=float(median), scale=float(scale))


def refine(grid: Grid, parent: int, sample: NDArray[np.float64], low: float, high: float) -> Grid:
    """``grid`` with base cell ``parent`` refined by a grid of its own.

    The sub-grid is placed on the sample's values in that cell, or spread over ``[low, high]``
    (the cell's observed range) when the sample holds too few of them.
    """
    inside = sample[np.isfinite(sample)]
    inside = inside[grid.base_cells(inside) == parent]
    if np.unique(inside).size >= 3:
        sub = grid_for(inside)
    else:
        sub = Grid(center=(low + high) / 2, scale=max((high - low) / 8, abs(high) * 1e-12, 1e-300))
    return grid.model_copy(update={"refinements": {**grid.refinements, parent: sub}})


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
