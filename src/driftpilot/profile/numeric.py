"""Numeric features of a reference: grids, fine quantile bins, moments, refinement.

1. A seeded random sample (``profile.sample_rows``) places each feature's grid.
2. One engine pass counts rows, value sums and ranges per (chunk, cell).
3. A cell holding more than one bin's share of values that differ (data at two scales) gets a
   grid of its own, and those features alone are counted again.
4. Equal-mass bins are cut from the cell counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from driftpilot.config import DriftpilotConfig
from driftpilot.engine.expressions import NumericSpec, numeric_cell_counts
from driftpilot.engine.results import Group, split_rows
from driftpilot.engine.windows import SPECIAL_CODES, coded_counts
from driftpilot.profile.calibrate import ChunkCounts
from driftpilot.profile.grid import Grid, choose_boundaries, decode, grid_for, refine
from driftpilot.profile.model import NumericBins, NumericProfile

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from driftpilot.engine.backend import Engine

__all__ = ["profile_numeric"]

SEED = 20_261_122
Column = tuple[Any, Any, Any]  # (float value, type-error flag or None, missing flag)


def profile_numeric(
    engine: Engine,
    table: ir.Table,
    columns: dict[str, Column],
    keys: dict[str, Any],
    rows: int,
    config: DriftpilotConfig,
) -> tuple[dict[str, NumericProfile], dict[str, ChunkCounts], list[str]]:
    """Profile numeric ``columns``: name → (float value, type-error flag, missing flag)."""
    sample = _sample(engine, table, columns, rows, config.profile.sample_rows)
    grids = {name: grid_for(values) for name, values in sample.items()}
    groups = _count(engine, table, columns, grids, keys)
    bins = config.profile.bins
    crowded = {name: _crowded(group, bins) for name, group in groups.items()}
    refined = {name: cells for name, cells in crowded.items() if cells}
    for name, cells in refined.items():
        for parent, low, high in cells:
            grids[name] = refine(grids[name], parent, sample[name], low, high)
    if refined:
        groups.update(_count(engine, table, {n: columns[n] for n in refined}, grids, keys))
    warnings = [
        f"numeric feature {name!r} spans several scales: one cell still holds more than one "
        "bin's share of distinct values, so its drift statistics are coarser there"
        for name in refined
        if _crowded(groups[name], bins, encoded=True)
    ]
    profiles: dict[str, NumericProfile] = {}
    chunks: dict[str, ChunkCounts] = {}
    for name in columns:
        profiles[name], chunks[name] = _assemble(groups.get(name), grids[name], bins)
    return profiles, chunks, warnings


def _sample(
    engine: Engine, table: ir.Table, columns: dict[str, Column], rows: int, size: int
) -> dict[str, np.ndarray]:
    """A seeded random sample of about ``size`` rows: independent of the rows' order."""
    projected = table.select(**{name: value for name, (value, _, _) in columns.items()})
    if rows > size:
        projected = engine.sample(projected, size / rows, SEED)
    result = engine.execute(projected)
    return {
        name: result.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        for name in columns
    }


def _count(
    engine: Engine,
    table: ir.Table,
    columns: dict[str, Column],
    grids: dict[str, Grid],
    keys: dict[str, Any],
) -> dict[str, Group]:
    specs = [
        NumericSpec(name, value, missing, type_error, grids[name])
        for name, (value, type_error, missing) in columns.items()
    ]
    result = engine.execute(numeric_cell_counts(table, specs, keys, with_range=True))
    return {name: group for (name,), group in split_rows(result, ["feature"]).items()}


def _valid(group: Group) -> np.ndarray:
    return ~(group.nulls["cell"] | np.isin(group["cell"], SPECIAL_CODES))


def _crowded(group: Group, bins: int, *, encoded: bool = False) -> list[tuple[int, float, float]]:
    """Cells holding more than one bin's share while their values differ: (cell, low, high)."""
    ok = _valid(group)
    cells = group["cell"][ok].astype(np.int64)
    cells = cells if encoded else decode(cells)
    occupied, inverse = np.unique(cells, return_inverse=True)
    mass = np.bincount(inverse, weights=group["n"][ok])
    low = np.full(occupied.size, np.inf)
    high = np.full(occupied.size, -np.inf)
    np.minimum.at(low, inverse, group["lo"][ok].astype(np.float64))
    np.maximum.at(high, inverse, group["hi"][ok].astype(np.float64))
    total = mass.sum()
    heavy = (mass > total / bins) & (low < high)
    return [
        (int(c), float(lo), float(hi))
        for c, lo, hi in zip(occupied[heavy], low[heavy], high[heavy], strict=True)
    ]


def _assemble(group: Group | None, grid: Grid, bins: int) -> tuple[NumericProfile, ChunkCounts]:
    if group is None:  # an empty reference: nothing counted
        empty = NumericProfile(
            rows=0,
            nulls=0,
            nan=0,
            pos_inf=0,
            neg_inf=0,
            type_errors=0,
            min=None,
            max=None,
            mean=None,
            std=None,
            grid=grid,
            bins=None,
            calibration=None,
        )
        return empty, ChunkCounts()
    missing = group.nulls["cell"]
    all_cells = group["cell"].astype(np.int64)
    n_all = group["n"].astype(np.int64)
    common: dict[str, Any] = dict(
        rows=int(n_all.sum()),
        nulls=int(n_all[missing].sum()),
        grid=grid,
        calibration=None,
        **coded_counts(all_cells, n_all, missing),
    )
    ok = _valid(group)
    if not ok.any():
        return (
            NumericProfile(min=None, max=None, mean=None, std=None, bins=None, **common),
            ChunkCounts(),
        )
    cells, n = all_cells[ok], n_all[ok]
    s, ss = group["s"][ok].astype(np.float64), group["ss"][ok].astype(np.float64)
    occupied, inverse = np.unique(cells, return_inverse=True)
    boundaries = choose_boundaries(
        occupied, np.bincount(inverse, weights=n).astype(np.float64), bins
    )
    index = np.searchsorted(boundaries, cells, side="right") - 1
    nbins = boundaries.size - 1
    counts = np.bincount(index, weights=n, minlength=nbins).astype(np.int64)
    sums = np.bincount(index, weights=s, minlength=nbins)
    low, high = float(group["lo"][ok].min()), float(group["hi"][ok].max())
    edges = grid.lower_edge(boundaries)
    edges[0], edges[-1] = low, high
    mean, std = _moments(s, ss, int(counts.sum()), grid.center)
    profile = NumericProfile(
        min=low,
        max=high,
        mean=mean,
        std=std,
        **common,
        bins=NumericBins(
            cells=boundaries.tolist(),
            edges=edges.tolist(),
            counts=counts.tolist(),
            sums=sums.tolist(),
        ),
    )
    return profile, _chunk_counts(group, ok, index, n, s, nbins)


def _moments(
    s: np.ndarray, ss: np.ndarray, valid: int, center: float
) -> tuple[float | None, float | None]:
    """Mean and population standard deviation from sums of ``x − centre``; None when they
    overflow (values of extreme magnitude)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean_centred = np.sum(s) / valid
        variance = np.sum(ss) / valid - mean_centred * mean_centred
        mean = center + mean_centred
    std = float(np.sqrt(max(float(variance), 0.0))) if np.isfinite(variance) else None
    return (float(mean) if np.isfinite(mean) else None), std


def _chunk_counts(
    group: Group, ok: np.ndarray, index: np.ndarray, n: np.ndarray, s: np.ndarray, nbins: int
) -> ChunkCounts:
    per_chunk = ChunkCounts()
    if "chunk" not in group:
        return per_chunk
    chunk, chunk_null = group["chunk"][ok], group.nulls["chunk"][ok]
    for key in sorted(set(chunk[~chunk_null].tolist())):
        mask = (chunk == key) & ~chunk_null
        per_chunk.counts.append(np.bincount(index[mask] + 1, weights=n[mask], minlength=nbins + 2))
        per_chunk.sums.append(np.bincount(index[mask] + 1, weights=s[mask], minlength=nbins + 2))
    return per_chunk
