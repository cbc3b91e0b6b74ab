"""Reading the event log: each prediction once, each label once, labels joined to predictions.

Appends are never rewritten, so a re-sent prediction or label may be stored twice; readers
count it once: a prediction's first version wins (by ``ingested_at``), a label's latest
version wins (a correction replaces the label it corrects, whichever key each of them used).
Labels join by prediction id, or by entity id and the prediction's timestamp; a label whose
prediction is not (yet) logged stays in the labels table and joins when the prediction
arrives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftpilot.errors import SourceError

if TYPE_CHECKING:
    from pathlib import Path

    import ibis.expr.types as ir

    from driftpilot.engine.backend import Engine
    from driftpilot.workspace import Workspace

__all__ = ["label_count", "labeled_predictions", "labels", "predictions", "unmatched_labels"]


def _has_table(path: object) -> bool:
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(str(path))


def predictions(engine: Engine, workspace: Workspace, path: Path | None = None) -> ir.Table:
    """Logged predictions, one row per prediction id (its first version); ``path``: another
    table of the same schema (the shadow table)."""
    import ibis

    path = path or workspace.predictions_path
    if not _has_table(path):
        raise SourceError(
            f"no predictions are logged in {str(workspace.root)!r} yet",
            hint="log some with `driftpilot ingest predictions FILE`, POST /v1/predictions, "
            "or driftpilot.log_predictions(...)",
        )
    table = engine.delta(path)
    first = ibis.row_number().over(group_by="prediction_id", order_by=["ingested_at"])
    return table.mutate(_version=first).filter(ibis._["_version"] == 0).drop("_version")


def labels(engine: Engine, workspace: Workspace) -> ir.Table | None:
    """Logged labels, one row per label key (its latest version); None when there are none."""
    import ibis

    if not _has_table(workspace.labels_path):
        return None
    table = engine.delta(workspace.labels_path)
    key = ibis.coalesce(
        table.prediction_id, table.entity_id.concat("\x1f", table.timestamp.cast("string"))
    )
    latest = ibis.row_number().over(group_by=key, order_by=[ibis.desc("ingested_at")])
    return table.mutate(_version=latest).filter(ibis._["_version"] == 0).drop("_version")


def labeled_predictions(engine: Engine, workspace: Workspace, path: Path | None = None) -> ir.Table:
    """Predictions (of ``path``, default the predictions table) with ``label``,
    ``label_time`` and ``label_ingested_at`` (NULL until the label arrives)."""
    import ibis

    preds = predictions(engine, workspace, path)
    found = labels(engine, workspace)
    if found is None:
        return preds.mutate(
            label=ibis.null("float64"),
            label_time=ibis.null("timestamp('UTC')"),
            label_ingested_at=ibis.null("timestamp('UTC')"),
        )
    by_id = found.filter(found.prediction_id.notnull()).select(
        _pid=found.prediction_id,
        _label_id=found.label,
        _time_id=found.label_time,
        _seen_id=found.ingested_at,
    )
    by_entity = found.filter(found.prediction_id.isnull()).select(
        _entity=found.entity_id,
        _stamp=found.timestamp,
        _label_entity=found.label,
        _time_entity=found.label_time,
        _seen_entity=found.ingested_at,
    )
    joined = preds.left_join(by_id, preds.prediction_id == by_id._pid)
    joined = joined.left_join(
        by_entity, [joined.entity_id == by_entity._entity, joined.timestamp == by_entity._stamp]
    )
    # a prediction labelled both ways keeps the label logged last (a correction may use
    # either key)
    entity_wins = joined._seen_entity.notnull() & (
        joined._seen_id.isnull() | (joined._seen_entity > joined._seen_id)
    )
    return joined.mutate(
        label=entity_wins.ifelse(joined._label_entity, joined._label_id),
        label_time=entity_wins.ifelse(joined._time_entity, joined._time_id),
        label_ingested_at=entity_wins.ifelse(joined._seen_entity, joined._seen_id),
    ).drop(
        "_pid",
        "_label_id",
        "_time_id",
        "_seen_id",
        "_entity",
        "_stamp",
        "_label_entity",
        "_time_entity",
        "_seen_entity",
    )


def unmatched_labels(engine: Engine, workspace: Workspace, preds: ir.Table | None = None) -> int:
    """Labels held for predictions that are not in the log (yet); ``preds``: the logged
    predictions when already read (any table with their ids, entity ids and timestamps)."""
    found = labels(engine, workspace)
    if found is None:
        return 0
    preds = predictions(engine, workspace) if preds is None else preds
    by_id = found.filter(found.prediction_id.notnull())
    missing_id = by_id.anti_join(preds, by_id.prediction_id == preds.prediction_id).count()
    by_entity = found.filter(found.prediction_id.isnull())
    missing_entity = by_entity.anti_join(
        preds, [by_entity.entity_id == preds.entity_id, by_entity.timestamp == preds.timestamp]
    ).count()
    counts = [
        engine.execute(c.as_table()).column(0)[0].as_py() for c in (missing_id, missing_entity)
    ]
    return int(sum(counts))


def label_count(engine: Engine, workspace: Workspace) -> int:
    """Labels logged (each counted once)."""
    found = labels(engine, workspace)
    if found is None:
        return 0
    return int(engine.execute(found.count().as_table()).column(0)[0].as_py())
