"""Training sets: the latest labeled production window, split by time.

With a feature store (``features.repo``) the features of each labeled prediction are not the
logged ones: they are joined point in time from the Feast views at the prediction's timestamp,
with values created after it left out (``get_historical_features`` with created-timestamp
filtering), so a backfill never leaks into training and the features are the definitions'
own.

A retrain trains on the labeled predictions of the last ``retrain.days`` days (by prediction
time), optionally blended with older rows (``retrain.blend``). The window is ordered by time:
its most recent ``holdout`` share is held out for the evaluation gate, the next most recent
``validation`` share of the rest drives early stopping, and the older rows (plus any blended
rows, which never reach the holdout) are trained on. Too few rows, or too few of a class in
any split, are refused before anything is trained.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from driftpilot.errors import ConfigError, DataError, SchemaError
from driftpilot.schema import FeatureType

if TYPE_CHECKING:
    from driftpilot.config import DriftpilotConfig
    from driftpilot.engine.backend import Engine
    from driftpilot.workspace import Workspace

__all__ = ["TrainingSet", "from_log", "from_source", "split_by_time"]

ROW_KEY = "prediction_id"
LABEL = "label"
TIME = "timestamp"


@dataclass(frozen=True)
class TrainingSet:
    """Rows with the model's features, ``label`` and ``timestamp``, split by time."""

    train: pd.DataFrame
    validation: pd.DataFrame
    holdout: pd.DataFrame
    features: dict[str, FeatureType]
    window_start: datetime | None
    window_end: datetime | None
    blended: int = 0
    source: str = "log"
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.train) + len(self.validation) + len(self.holdout)

    def fingerprint(self) -> str:
        """SHA-256 of the rows' keys, labels and split: the same data gives the same print."""
        digest = hashlib.sha256()
        for name, part in (
            ("train", self.train),
            ("validation", self.validation),
            ("holdout", self.holdout),
        ):
            digest.update(name.encode())
            keys = pd.DataFrame(
                {ROW_KEY: part[ROW_KEY].astype(str), LABEL: part[LABEL].astype("float64")}
            )  # the same rows and labels print the same, whatever their dtypes
            hashed = pd.util.hash_pandas_object(keys, index=False)
            digest.update(np.sort(hashed.to_numpy()).tobytes())
        return digest.hexdigest()


def _class_counts(task: str, parts: Mapping[str, pd.DataFrame], least: int) -> None:
    if task != "binary":
        return
    for name, part in parts.items():
        positives = int((part[LABEL] == 1).sum())
        negatives = len(part) - positives
        if min(positives, negatives) < least:
            raise DataError(
                f"the {name} split holds {positives:,} positive and {negatives:,} negative "
                f"labels; a binary model needs at least {least:,} of each",
                field="retrain.min_class_rows",
                hint="wait for more labels, widen retrain.days, or lower retrain.min_class_rows",
            )


def split_by_time(
    window: pd.DataFrame,
    *,
    holdout: float,
    validation: float,
    older: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(train, validation, holdout)``: the most recent ``holdout`` share of ``window``, then
    the most recent ``validation`` share of the rest; ``older`` rows join the training part.

    >>> frame = pd.DataFrame({"timestamp": range(10), "prediction_id": list("abcdefghij")})
    >>> train, valid, hold = split_by_time(frame, holdout=0.2, validation=0.25)
    >>> list(train.timestamp), list(valid.timestamp), list(hold.timestamp)
    ([0, 1, 2, 3, 4, 5], [6, 7], [8, 9])
    """
    ordered = window.sort_values([TIME, ROW_KEY], kind="stable").reset_index(drop=True)
    n_hold = max(1, math.ceil(round(holdout * len(ordered), 9)))  # 0.07 * 100 is 7.000…01
    rest, held = ordered.iloc[: len(ordered) - n_hold], ordered.iloc[len(ordered) - n_hold :]
    n_valid = max(1, math.ceil(round(validation * len(rest), 9)))
    train, valid = rest.iloc[: len(rest) - n_valid], rest.iloc[len(rest) - n_valid :]
    if older is not None and len(older):
        train = pd.concat([older, train], ignore_index=True)
    return train.reset_index(drop=True), valid.reset_index(drop=True), held.reset_index(drop=True)


def _checked(
    window: pd.DataFrame,
    config: DriftpilotConfig,
    features: dict[str, FeatureType],
    *,
    older: pd.DataFrame | None,
    where: str,
    start: datetime | None,
    end: datetime | None,
    source: str,
) -> TrainingSet:
    settings = config.retrain
    if len(window) < settings.min_rows:
        raise DataError(
            f"a retrain needs at least {settings.min_rows:,} labeled rows; {where} holds "
            f"{len(window):,}",
            field="retrain.min_rows",
            hint="wait for more labels, widen retrain.days, or lower retrain.min_rows",
        )
    if config.model.task == "binary":
        bad = ~window[LABEL].isin([0, 1])
        if bad.any():
            raise DataError(
                f"a binary model's labels must be 0 or 1; {where} holds "
                f"{sorted(set(window.loc[bad, LABEL].tolist()))[:5]}",
                field="label",
                hint="log 0/1 labels, or set model.task: regression",
            )
    train, valid, hold = split_by_time(
        window, holdout=settings.holdout, validation=settings.validation, older=older
    )
    _class_counts(
        config.model.task,
        {"train": train, "validation": valid, "holdout": hold},
        settings.min_class_rows,
    )
    blended = 0 if older is None else len(older)
    return TrainingSet(train, valid, hold, features, start, end, blended, source)


def _older_sample(older: pd.DataFrame, window_rows: int, share: float, seed: int) -> pd.DataFrame:
    """Rows of ``older`` making ``share`` of window plus older rows (all of them if fewer)."""
    if share <= 0 or older.empty:
        return older.iloc[0:0]
    wanted = round(share / (1 - share) * window_rows)
    if wanted >= len(older):
        return older
    return older.sample(n=wanted, random_state=seed).sort_values([TIME, ROW_KEY])


def from_log(
    workspace: Workspace,
    features: dict[str, FeatureType],
    now: datetime,
    *,
    engine: Engine,
    training_source: Any = None,
) -> TrainingSet:
    """The latest labeled production window of ``workspace`` (see the module docstring)."""
    import ibis

    from driftpilot.log.read import labeled_predictions

    config = workspace.config
    settings = config.retrain
    start = now - timedelta(days=settings.days)
    table = labeled_predictions(engine, workspace)
    table = table.filter(table.label.notnull() & (table.timestamp <= ibis.literal(now)))
    segments = [c for c in config.monitor.segments if c not in features]
    absent = [c for c in segments if c not in table.columns]
    if absent:
        raise ConfigError(
            f"monitor.segments names {absent}, which the prediction log does not hold, so the "
            "gate could not check them",
            field="monitor.segments",
            hint="segment by a feature or a logged column such as model_version or route",
        )
    store = config.features.enabled
    keep = [ROW_KEY, TIME, LABEL, *(["entity_id"] if store else list(features)), *segments]
    blend = settings.blend
    with_older = blend.share > 0 and blend.source == "history"
    if not with_older:
        table = table.filter(table.timestamp >= ibis.literal(start))
    rows = engine.execute(table.select(*keep)).to_pandas()
    rows[TIME] = pd.to_datetime(rows[TIME], utc=True)
    notes: list[str] = []
    if store:
        rows, note = _point_in_time(workspace, rows, features)
        notes.append(note)
    recent = rows[rows[TIME] >= pd.Timestamp(start)]
    older: pd.DataFrame | None = None
    if with_older:
        older = _older_sample(
            rows[rows[TIME] < pd.Timestamp(start)], len(recent), blend.share, settings.seed
        )
    elif blend.share > 0:  # source: training
        if training_source is None:
            raise DataError(
                "retrain.blend.source is 'training' but the champion has no recorded training data",
                field="retrain.blend.source",
                hint="register the champion with --data, or blend with source: history",
            )
        original = _from_frame(training_source, config, features)
        # rows of the original data inside the window could be the very rows held out
        original = original[original[TIME] < pd.Timestamp(start)]
        older = _older_sample(original, len(recent), blend.share, settings.seed)
    where = f"the log's last {settings.days:g} days (since {start:%Y-%m-%d %H:%M} UTC)"
    found = _checked(
        recent,
        config,
        features,
        older=older,
        where=where,
        start=start,
        end=now,
        source="feature_store" if store else "log",
    )
    return replace(found, notes=notes)


def _point_in_time(
    workspace: Workspace, rows: pd.DataFrame, features: dict[str, FeatureType]
) -> tuple[pd.DataFrame, str]:
    """The rows with their features joined point in time from the feature store."""
    from driftpilot.features.store import FeatureRepo

    no_id = rows["entity_id"].isna()
    if no_id.any():
        raise DataError(
            f"{int(no_id.sum()):,} labeled predictions have no entity_id; a point-in-time "
            "join from the feature store needs each prediction's entity",
            field="entity_id",
            hint="log entity ids with the predictions, or unset features.repo to train on "
            "the logged features",
        )
    repo = FeatureRepo(workspace)
    views = repo.feature_views(list(features))
    joined = repo.historical(rows[["entity_id", TIME]], views)
    out = rows.drop(columns=["entity_id"])
    for name in features:
        out[name] = joined[name].to_numpy()
    empty = int(joined.isna().all(axis=1).sum())
    named = sorted({f"{v.name} ({v.version})" for v in views.values()})
    if empty > len(rows) / 2:
        raise DataError(
            f"{empty:,} of {len(rows):,} labeled predictions have no value in any of "
            f"{', '.join(named)} at their time: the offline sources do not cover the window",
            field="features.views",
            hint="write the window's feature rows to the views' sources, or widen their TTLs",
        )
    note = (
        f"features joined point in time from {', '.join(named)}; {empty:,} of {len(rows):,} "
        "rows had no value in any view"
    )
    return out, note


def _from_frame(
    data: pd.DataFrame, config: DriftpilotConfig, features: dict[str, FeatureType]
) -> pd.DataFrame:
    columns = config.columns
    if columns.target is None or columns.target not in data.columns:
        raise SchemaError(
            f"the training data needs its label column; columns.target is {columns.target!r} "
            f"and the data has {sorted(map(str, data.columns))[:20]}",
            field="columns.target",
            hint="set columns.target in driftpilot.yaml to the label column",
        )
    out = pd.DataFrame({name: data[name] for name in features if name in data.columns})
    target = data[columns.target]
    out[LABEL] = pd.to_numeric(target, errors="coerce")
    text = out[LABEL].isna() & target.notna()
    if text.any():
        raise DataError(
            f"labels must be numbers (0 or 1 for a binary model); {columns.target!r} holds "
            f"{sorted(set(map(str, target[text])))[:5]}",
            field="columns.target",
            hint="map the labels to numbers before registering",
        )
    if columns.timestamp and columns.timestamp in data.columns:
        out[TIME] = pd.to_datetime(data[columns.timestamp], utc=True)
    else:  # no time column: the file's row order is its time order
        out[TIME] = pd.Timestamp("1970-01-01", tz="UTC") + pd.to_timedelta(
            np.arange(len(data)), unit="us"
        )
    ids = columns.id[0] if columns.id and columns.id[0] in data.columns else None
    if ids:
        keys = data[ids].astype(str).to_numpy()
    else:  # no id: a row is known by its content, so the same rows give the same fingerprint
        hashed = pd.util.hash_pandas_object(out.astype(str), index=False).to_numpy()
        keys = np.array([f"{h:016x}" for h in hashed])
    out[ROW_KEY] = keys
    return out[out[LABEL].notna()].reset_index(drop=True)


def from_source(
    data: pd.DataFrame, config: DriftpilotConfig, features: dict[str, FeatureType]
) -> TrainingSet:
    """A training set from given data (``driftpilot register --data``): the label is
    ``columns.target``, time order ``columns.timestamp`` (else the row order)."""
    frame = _from_frame(data, config, features)
    times = frame[TIME]
    return _checked(
        frame,
        config,
        features,
        older=None,
        where="the data",
        start=times.min().to_pydatetime() if len(frame) else None,
        end=times.max().to_pydatetime() if len(frame) else None,
        source="data",
    )
