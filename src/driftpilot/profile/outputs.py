"""The model's outputs in the reference: score and label profiles, and reference performance.

When ``columns.prediction`` (the model's score) and ``columns.target`` (the label) are
declared, the profile also holds their distributions (prediction drift and label drift reuse
the feature statistics) and the model's performance on the reference: the metrics, their
spread over reference chunks (standard errors and alert thresholds for the label-free
estimate) and, for binary classifiers, the score calibration CBPE uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from driftpilot.config import DriftpilotConfig
from driftpilot.engine.results import split_rows
from driftpilot.errors import SchemaError
from driftpilot.monitor.performance import (
    BinaryStats,
    RegressionStats,
    binary_metrics,
    binary_query,
    regression_metrics,
    regression_query,
    sum_regression,
)
from driftpilot.profile.model import MetricSpread, ReferencePerformance
from driftpilot.schema import dtype_kind

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from driftpilot.engine.backend import Engine

__all__ = ["HASH_CHUNKS", "reference_performance"]

HASH_CHUNKS = 10
LARGE_ERROR_QUANTILE = 0.85  # a regression error above it is "large": 15 % in the reference
SPREAD = (
    "roc_auc",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "brier",
    "log_loss",
    "mae",
    "rmse",
    "mape",
    "r2",
)


def _numbers(table: ir.Table, column: str, role: str) -> Any:
    kind = dtype_kind(table[column].type())
    if kind not in ("numeric", "boolean"):
        raise SchemaError(
            f"the {role} column {column!r} holds {table[column].type()}; expected numbers",
            field=f"columns.{'prediction' if role == 'score' else 'target'}",
            hint="for a binary model, scores are probabilities and labels 0/1 (or booleans)",
        )
    return table[column].cast("float64")


def reference_performance(
    engine: Engine, table: ir.Table, config: DriftpilotConfig, chunk: Any | None
) -> ReferencePerformance:
    """Realized performance over the reference, per chunk, and (binary) the calibration.

    ``chunk`` is the time-chunk key expression, or None: then rows are spread over chunks by a
    hash of their ids (``columns.id``), or else by digits of their score (a deterministic
    stand-in for a random split). Rows without a score or a label are left out (and counted).
    """
    import ibis

    from driftpilot.monitor.cbpe import fit_calibration

    columns = config.columns
    if columns.prediction is None or columns.target is None:
        raise SchemaError("reference performance needs both columns.prediction and columns.target")
    score = _numbers(table, columns.prediction, "score")
    label = _numbers(table, columns.target, "label")
    if chunk is None:
        chunk = _hash_chunk(table, config, score)
    model = config.model
    view = table.select(score=score, label=label, chunk=chunk)
    known = view.score.notnull() & view.label.notnull() & ~view.score.isnan() & ~view.label.isnan()
    counted = engine.execute(
        view.aggregate(rows=view.count(), known=known.cast("int64").sum(),
                       label_sum=known.ifelse(view.label, ibis.null("float64")).sum())
    ).to_pylist()[0]  # fmt: skip
    kept = int(counted["known"] or 0)
    skipped = int(counted["rows"]) - kept
    view = view.filter(known)
    label_mean = large_error = None
    if model.task == "binary":
        view = view.mutate(prediction=(view.score >= model.threshold).cast("float64"))
        bins = config.monitor.score_bins
        rows = engine.execute(binary_query(view, {"chunk": view.chunk}, bins=bins))
        chunks = [
            BinaryStats.from_group(group, bins)
            for _, group in sorted(
                split_rows(rows, ["chunk"]).items(), key=lambda kv: (kv[0][0] is None, kv[0])
            )
        ]
        _refuse_non_binary(rows)
        whole = sum(chunks, BinaryStats.empty(bins))
        metrics = binary_metrics(whole, calibration_bins=config.monitor.calibration_bins)
        per_chunk = [binary_metrics(c) for c in chunks]
        calibration = fit_calibration(chunks)
        labeled = whole.labeled
    else:
        view = view.rename(prediction="score")
        label_mean = float(counted["label_sum"]) / kept if kept else None
        center = label_mean or 0.0
        rows = engine.execute(regression_query(view, {"chunk": view.chunk}, center=center))
        groups = [
            RegressionStats.from_group(g)
            for _, g in sorted(
                split_rows(rows, ["chunk"]).items(), key=lambda kv: (kv[0][0] is None, kv[0])
            )
        ]
        error = (view.prediction - view.label).abs()
        quantile = error.approx_quantile(LARGE_ERROR_QUANTILE)
        large_error = engine.execute(view.aggregate(q=quantile)).column(0)[0].as_py()
        labeled = sum(g.labeled for g in groups)
        metrics = regression_metrics(sum_regression(groups))
        per_chunk = [regression_metrics(g) for g in groups]
        calibration = None
    spreads = {}
    for metric in SPREAD:
        values = [float(m[metric]) for m in per_chunk if m.get(metric) is not None]
        if len(values) >= 2:
            spreads[metric] = MetricSpread(
                mean=float(np.mean(values)), std=float(np.std(values, ddof=1))
            )
    sizes = [m.get("labeled", 0) for m in per_chunk]
    return ReferencePerformance(
        task=model.task,
        labeled=int(labeled),
        metrics={k: v for k, v in metrics.items() if isinstance(v, (int, float)) or v is None},
        chunks=spreads,
        chunk_rows=int(np.median(sizes)) if sizes else 0,
        calibration=calibration,
        score_bins=config.monitor.score_bins,
        label_mean=label_mean,
        large_error=large_error,
        skipped=skipped,
    )


def _hash_chunk(table: ir.Table, config: DriftpilotConfig, score: Any) -> Any:
    """A chunk number in [0, HASH_CHUNKS) per row, from its ids or else its score's digits."""
    import ibis

    ids = [c for c in config.columns.id if c in table.columns]
    if ids:
        text = ibis.literal("\x1f").join([table[c].cast("string").fill_null("") for c in ids])
        return (text.hash().abs() % HASH_CHUNKS).cast("int32")
    # digits 3, 6 and 9 together: scores rounded to a few decimals still spread over chunks
    value = score.abs().fill_null(0)
    digits = sum(((value * 10.0**k).floor() % 10) for k in (3, 6, 9))
    return (digits % HASH_CHUNKS).cast("int32")


def _refuse_non_binary(rows: Any) -> None:
    labels = {v for v in rows.column("label").to_pylist() if v is not None}
    if labels - {0.0, 1.0}:
        raise SchemaError(
            f"a binary model's labels must be 0 or 1; the reference holds {sorted(labels)[:5]}",
            field="columns.target",
            hint="map the label to 0/1, or set model.task: regression",
        )
