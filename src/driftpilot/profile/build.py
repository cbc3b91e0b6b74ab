"""Profile a reference data set: schema, fine quantile grids, categories, calibrated thresholds.

Four engine queries, whatever the size of the reference: an overview (rows, time range,
distinct counts), the first ``sample_rows`` rows to place each numeric grid, the rows per grid
cell (per calibration chunk), and the rows per category (per chunk). Everything else is
computed from those counts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from driftpilot import __version__
from driftpilot.config import DriftpilotConfig
from driftpilot.engine.backend import Engine, Source, describe_source
from driftpilot.engine.expressions import (
    CategorySpec,
    NumericSpec,
    category_counts,
    category_value,
    numeric_cell_counts,
    numeric_value,
)
from driftpilot.engine.results import Group, split_rows
from driftpilot.engine.windows import SPECIAL_CODES, coded_counts
from driftpilot.errors import ConfigError, SchemaError
from driftpilot.profile.calibrate import ChunkCounts, calibrate
from driftpilot.profile.grid import Grid, choose_boundaries, grid_for
from driftpilot.profile.model import (
    CategoricalProfile,
    ColumnRoles,
    NumericBins,
    NumericProfile,
    Profile,
)
from driftpilot.schema import FeatureType, dtype_kind, infer_schema

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["build_profile"]

ID_LIKE_SHARE = 0.5  # a text column with more distinct values than this share of rows is an id


def build_profile(
    source: Source, config: DriftpilotConfig | None = None, *, engine: Engine | None = None
) -> Profile:
    """Profile ``source`` (a file, glob, folder, DataFrame, Arrow or Ibis table)."""
    config = config or DriftpilotConfig()
    engine = engine or Engine.create(config.engine)
    table = engine.table(source)
    dtypes = dict(table.schema().items())
    schema = infer_schema(dtypes, config.columns)
    warnings: list[str] = []
    excluded = dict(schema.excluded)
    kinds = {name: dtype_kind(dtypes[name]) for name in schema.features}
    numeric = [n for n, t in schema.features.items() if t is FeatureType.NUMERIC]
    categorical = [n for n, t in schema.features.items() if t is not FeatureType.NUMERIC]
    values = {n: numeric_value(table[n], kinds[n], n) for n in numeric}
    texts = {
        n: category_value(table[n], kinds[n], n, boolean=schema.features[n] is FeatureType.BOOLEAN)
        for n in categorical
    }
    overview = _overview(engine, table, config, texts)
    rows = int(overview["rows"])
    for name in list(categorical):
        distinct = int(overview[f"d:{name}"])
        if distinct > max(1000, ID_LIKE_SHARE * rows) and name not in config.columns.types:
            categorical.remove(name)
            excluded[name] = "looks like an id (almost every value is distinct)"
            warnings.append(
                f"column {name!r} has ~{distinct:,} distinct values in {rows:,} rows; "
                "it is left out as an id (declare its type in columns.types to keep it)"
            )
    if not numeric and not categorical:
        raise SchemaError(
            "the reference has no feature columns",
            hint="check columns.exclude and columns.types in driftpilot.yaml",
        )
    keys, method = _chunk_keys(table, config, overview)
    grids = _place_grids(engine, table, values, config.profile.sample_rows)
    features: dict[str, Any] = {}
    chunks: dict[str, ChunkCounts] = {}
    if numeric:
        specs = [
            NumericSpec(n, values[n][0], table[n].isnull(), values[n][1], grids[n]) for n in numeric
        ]
        result = engine.execute(numeric_cell_counts(table, specs, keys, with_range=True))
        for (name,), group in split_rows(result, ["feature"]).items():
            features[name], chunks[name] = _numeric_profile(group, grids[name], config)
    if categorical:
        specs_c = [CategorySpec(n, texts[n]) for n in categorical]
        result = engine.execute(category_counts(table, specs_c, keys))
        by_feature = split_rows(result, ["feature"])
        for name in categorical:
            kind = "boolean" if schema.features[name] is FeatureType.BOOLEAN else "categorical"
            features[name], chunks[name] = _categorical_profile(
                by_feature.get((name,)), kind, int(overview[f"d:{name}"]), config
            )
    order = [n for n in schema.features if n in features]
    calibrated = {n: calibrate(features[n], chunks[n], method, config) for n in order}
    return Profile(
        created_at=datetime.now(UTC),
        driftpilot_version=__version__,
        source=describe_source(source),
        rows=rows,
        columns=ColumnRoles(
            id=config.columns.id,
            timestamp=config.columns.timestamp,
            target=config.columns.target,
            prediction=config.columns.prediction,
        ),
        bins=config.profile.bins,
        max_categories=config.profile.max_categories,
        features={n: features[n].model_copy(update={"calibration": calibrated[n]}) for n in order},
        excluded=excluded,
        warnings=warnings,
    )


def _overview(
    engine: Engine, table: ir.Table, config: DriftpilotConfig, texts: dict[str, Any]
) -> dict[str, Any]:
    aggregates: dict[str, Any] = {"rows": table.count()}
    ts = config.columns.timestamp
    if ts:
        if dtype_kind(table[ts].type()) != "temporal":
            raise SchemaError(
                f"the timestamp column {ts!r} holds {table[ts].type()}, not times",
                field="columns.timestamp",
                hint="point it at a date/time column or parse the column first",
            )
        aggregates.update(
            t_min=table[ts].cast("timestamp").min(), t_max=table[ts].cast("timestamp").max()
        )
    for name, text in texts.items():
        aggregates[f"d:{name}"] = text.approx_nunique()
    row: dict[str, Any] = engine.execute(table.aggregate(**aggregates)).to_pylist()[0]
    return row


def _chunk_keys(
    table: ir.Table, config: DriftpilotConfig, overview: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    settings = config.profile.calibration
    method = settings.by
    t_min, t_max = overview.get("t_min"), overview.get("t_max")
    span_known = t_min is not None and t_max is not None and (t_max - t_min).total_seconds() >= 1
    if method == "time" and not span_known:
        raise ConfigError(
            "calibration by time needs a timestamp column whose values span time",
            field="profile.calibration.by",
            hint="declare columns.timestamp, or use 'random'",
        )
    if method == "auto":
        method = "time" if span_known else "random"
    if method == "random":
        return {}, method
    t0 = overview["t_min"]
    span = (overview["t_max"] - t0).total_seconds()
    seconds = table[config.columns.timestamp].cast("timestamp").delta(t0, unit="second")
    chunk = (seconds * (settings.chunks / span)).floor().clip(upper=settings.chunks - 1)
    return {"chunk": chunk.cast("int32")}, method


def _place_grids(
    engine: Engine, table: ir.Table, values: dict[str, Any], rows: int
) -> dict[str, Any]:
    if not values:
        return {}
    sample = engine.execute(table.select(**{n: v for n, (v, _) in values.items()}).limit(rows))
    return {
        n: grid_for(sample.column(n).to_numpy(zero_copy_only=False).astype(np.float64))
        for n in values
    }


def _numeric_profile(
    group: Group, grid: Grid, config: DriftpilotConfig
) -> tuple[NumericProfile, ChunkCounts]:
    missing = group.nulls["cell"]
    cells = group["cell"].astype(np.int64)
    n = group["n"].astype(np.int64)
    ok = ~(missing | np.isin(cells, SPECIAL_CODES))
    common: dict[str, Any] = dict(
        rows=int(n.sum()),
        nulls=int(n[missing].sum()),
        grid=grid,
        calibration=None,
        **coded_counts(cells, n, missing),
    )
    if not ok.any():
        empty = NumericProfile(min=None, max=None, mean=None, std=None, bins=None, **common)
        return empty, ChunkCounts()
    cells, n, s, ss = cells[ok], n[ok], group["s"][ok], group["ss"][ok]
    occupied, inverse = np.unique(cells, return_inverse=True)
    boundaries = choose_boundaries(
        occupied, np.bincount(inverse, weights=n).astype(np.float64), config.profile.bins
    )
    index = np.searchsorted(boundaries, cells, side="right") - 1
    nbins = boundaries.size - 1
    counts = np.bincount(index, weights=n, minlength=nbins).astype(np.int64)
    sums = np.bincount(index, weights=s, minlength=nbins)
    valid = int(counts.sum())
    mean_centred = float(s.sum()) / valid
    variance = max(float(ss.sum()) / valid - mean_centred**2, 0.0)
    low, high = float(group["lo"][ok].min()), float(group["hi"][ok].max())
    edges = grid.lower_edge(boundaries).tolist()
    edges[0], edges[-1] = low, high
    bins = NumericBins(
        cells=boundaries.tolist(), edges=edges, counts=counts.tolist(), sums=sums.tolist()
    )
    profile = NumericProfile(
        min=low, max=high, mean=grid.center + mean_centred, std=variance**0.5, bins=bins, **common
    )
    if "chunk" not in group:
        return profile, ChunkCounts()
    chunk, chunk_null = group["chunk"][ok], group.nulls["chunk"][ok]
    keys = sorted(set(chunk[~chunk_null].tolist()))
    per_chunk = ChunkCounts()
    for key in keys:
        mask = (chunk == key) & ~chunk_null
        per_chunk.counts.append(np.bincount(index[mask] + 1, weights=n[mask], minlength=nbins + 2))
        per_chunk.sums.append(np.bincount(index[mask] + 1, weights=s[mask], minlength=nbins + 2))
    return profile, per_chunk


def _categorical_profile(
    group: Group | None, kind: str, distinct: int, config: DriftpilotConfig
) -> tuple[CategoricalProfile, ChunkCounts]:
    totals: dict[str, int] = defaultdict(int)
    nulls = 0
    if group is not None:
        missing = group.nulls["value"]
        nulls = int(group["n"][missing].sum())
        for value, n in zip(group["value"][~missing], group["n"][~missing], strict=True):
            totals[value] += int(n)
    ranked = sorted(totals, key=lambda v: (-totals[v], v))
    top = ranked[: config.profile.max_categories]
    rest = ranked[config.profile.max_categories :]
    known_rest = rest[: config.profile.max_known_categories]
    profile = CategoricalProfile(
        type=kind,
        rows=sum(totals.values()) + nulls,
        nulls=nulls,
        categories=top,
        counts=[totals[v] for v in top],
        other_count=sum(totals[v] for v in rest),
        other_categories=known_rest,
        other_truncated=len(rest) > len(known_rest),
        distinct=max(distinct, len(ranked)),
        calibration=None,
    )
    per_chunk = ChunkCounts()
    if group is None or "chunk" not in group:
        return profile, per_chunk
    position = {v: i for i, v in enumerate(top)}
    slot = np.asarray([position.get(v, len(top)) for v in group["value"]], dtype=np.int64)
    usable = ~group.nulls["value"] & ~group.nulls["chunk"]
    for key in sorted(set(group["chunk"][usable].tolist())):
        mask = usable & (group["chunk"] == key)
        per_chunk.counts.append(
            np.bincount(slot[mask], weights=group["n"][mask], minlength=len(top) + 2)
        )
    return profile, per_chunk
