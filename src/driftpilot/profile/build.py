"""Profile a reference data set: schema, fine quantile grids, categories, calibrated thresholds.

A handful of engine queries, whatever the size of the reference: an overview (rows, time
range, distinct counts, how many text values are numbers), a seeded sample to place each
numeric grid, the rows per grid cell (per calibration chunk; again for refined features), and
the rows per category (per chunk). Everything else is computed from those counts.
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
    category_counts,
    category_value,
    numeric_value,
    parse_number,
    utc_time,
)
from driftpilot.engine.results import Group, split_rows
from driftpilot.errors import ConfigError, SchemaError
from driftpilot.profile.calibrate import ChunkCounts, calibrate
from driftpilot.profile.model import CategoricalProfile, ColumnRoles, Profile
from driftpilot.profile.numeric import profile_numeric
from driftpilot.profile.outputs import reference_performance
from driftpilot.schema import FeatureType, dtype_kind, infer_schema

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["build_profile"]

ID_LIKE_SHARE = 0.5  # a text column with more distinct values than this share of rows is an id
NUMERIC_SHARE = 0.95  # a text column whose values are this often numbers is a number column
OUTPUT = "output:"  # prefix of the score and label while they are profiled beside features


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
    types = dict(schema.features)
    texts = {
        n: category_value(table[n], kinds[n], n, boolean=t is FeatureType.BOOLEAN)
        for n, t in types.items()
        if t is not FeatureType.NUMERIC
    }
    overview = _overview(engine, table, config, texts)
    rows = int(overview["rows"])
    if rows == 0:
        raise SchemaError(
            f"the reference {describe_source(source)} has no rows",
            hint="profile data that holds the model's training or reference rows",
        )
    for name in list(texts):
        distinct, numbers = int(overview[f"d:{name}"]), int(overview[f"n:{name}"])
        present = int(overview[f"c:{name}"])
        if name in config.columns.types or kinds[name] != "string":
            continue
        if present and numbers >= NUMERIC_SHARE * present:  # a number column with stray text
            types[name] = FeatureType.NUMERIC
            del texts[name]
            warnings.append(
                f"column {name!r} holds text but {numbers:,} of its {present:,} "
                "values are numbers: it is profiled as numeric and the rest count "
                "as type errors (declare it in columns.types to decide otherwise)"
            )
        elif distinct > max(1000, ID_LIKE_SHARE * rows):
            del texts[name]
            del types[name]
            excluded[name] = "looks like an id (almost every value is distinct)"
            warnings.append(
                f"column {name!r} has ~{distinct:,} distinct values in {rows:,} rows; "
                "it is left out as an id (declare its type in columns.types to keep it)"
            )
    if not types:
        raise SchemaError(
            "the reference has no feature columns",
            hint="check columns.exclude and columns.types in driftpilot.yaml",
        )
    keys, method = _chunk_keys(table, config, overview)
    numeric = {n: (*numeric_value(table[n], kinds[n], n), table[n].isnull())
               for n, t in types.items() if t is FeatureType.NUMERIC}  # fmt: skip
    numeric.update(_output_numbers(table, config))
    texts.update(_output_texts(table, config))
    booleans = {n for n, t in types.items() if t is FeatureType.BOOLEAN}
    distinct_counts = {n: int(overview.get(f"d:{n}", 0)) for n in texts}
    features, chunks, notes = _profile_columns(
        engine, table, numeric, texts, keys, rows, config, booleans, distinct_counts
    )
    warnings.extend(notes)
    for name in texts:
        if kinds.get(name) == "numeric" and features[name].type == "categorical":
            features[name] = features[name].model_copy(update={"numbers": True})
    calibrated = {n: calibrate(f, chunks[n], method, config) for n, f in features.items()}
    profiled = {n: f.model_copy(update={"calibration": calibrated[n]}) for n, f in features.items()}
    performance = None
    if config.columns.prediction and config.columns.target:
        performance = reference_performance(engine, table, config, keys.get("chunk"))
        if performance.skipped:
            warnings.append(
                f"{performance.skipped} reference rows have no {config.columns.prediction!r} or "
                f"no {config.columns.target!r}: reference performance leaves them out"
            )
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
        features={n: profiled[n] for n in types if n in profiled},
        outputs={
            name.removeprefix(OUTPUT): f for name, f in profiled.items() if name.startswith(OUTPUT)
        },
        performance=performance,
        excluded=excluded,
        warnings=warnings,
    )


def _output_numbers(table: ir.Table, config: DriftpilotConfig) -> dict[str, Any]:
    """The score (and a regression label) as numeric columns under reserved names."""
    out: dict[str, Any] = {}
    roles = [(config.columns.prediction, "score")]
    if config.model.task == "regression":
        roles.append((config.columns.target, "label"))
    for column, role in roles:
        if column:
            kind = dtype_kind(table[column].type())
            out[OUTPUT + role] = (
                *numeric_value(table[column], kind, column),
                table[column].isnull(),
            )
    return out


def _output_texts(table: ir.Table, config: DriftpilotConfig) -> dict[str, Any]:
    """A binary label as a category ('0', '1') under a reserved name."""
    column = config.columns.target
    if not column or config.model.task != "binary":
        return {}
    kind = dtype_kind(table[column].type())
    return {OUTPUT + "label": category_value(table[column], kind, column, numbers=True)}


def _profile_columns(
    engine: Engine,
    table: ir.Table,
    numeric: dict[str, Any],
    texts: dict[str, Any],
    keys: dict[str, Any],
    rows: int,
    config: DriftpilotConfig,
    booleans: set[str],
    distinct: dict[str, int],
) -> tuple[dict[str, Any], dict[str, ChunkCounts], list[str]]:
    features: dict[str, Any] = {}
    chunks: dict[str, ChunkCounts] = {}
    notes: list[str] = []
    if numeric:
        profiles, numeric_chunks, notes = profile_numeric(
            engine, table, numeric, keys, rows, config
        )
        features.update(profiles)
        chunks.update(numeric_chunks)
    if texts:
        specs = [CategorySpec(n, v) for n, v in texts.items()]
        by_feature = split_rows(engine.execute(category_counts(table, specs, keys)), ["feature"])
        for name in texts:
            kind = "boolean" if name in booleans else "categorical"
            features[name], chunks[name] = _categorical_profile(
                by_feature.get((name,)), kind, distinct.get(name, 0), config
            )
    return features, chunks, notes


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
        moment = utc_time(table[ts])
        aggregates.update(t_min=moment.min(), t_max=moment.max())
    for name, text in texts.items():
        aggregates[f"d:{name}"] = text.approx_nunique()
        aggregates[f"c:{name}"] = text.count()
        aggregates[f"n:{name}"] = parse_number(text).count()
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
    seconds = utc_time(table[config.columns.timestamp]).delta(t0, unit="second")
    chunk = (seconds * (settings.chunks / span)).floor().clip(upper=settings.chunks - 1)
    return {"chunk": chunk.cast("int32")}, method


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
