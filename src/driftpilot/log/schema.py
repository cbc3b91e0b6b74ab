"""The event log's tables: their columns and Arrow types.

Predictions carry the model's features as columns of their own (so any engine can count them
with the same expressions as reference data); labels refer to a prediction by its id, or by
the entity id and the prediction's timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from driftpilot.errors import ConfigError
from driftpilot.schema import FeatureType

if TYPE_CHECKING:
    import pyarrow as pa

    from driftpilot.workspace import Workspace

__all__ = [
    "LABEL_COLUMNS",
    "PREDICTION_COLUMNS",
    "label_schema",
    "model_features",
    "prediction_schema",
]

# reserved prediction columns, in table order (features go between route and score)
PREDICTION_COLUMNS = (
    "prediction_id",
    "entity_id",
    "timestamp",
    "model_name",
    "model_version",
    "route",
    "score",
    "prediction",
    "latency_ms",
    "ingested_at",
)
LABEL_COLUMNS = ("prediction_id", "entity_id", "timestamp", "label", "label_time", "ingested_at")


def model_features(workspace: Workspace) -> dict[str, FeatureType]:
    """The model's feature schema: ``model.features`` in driftpilot.yaml, else the reference's."""
    declared = workspace.config.model.features
    if declared:
        features = dict(declared)
    else:
        profile = workspace.reference()
        features = {name: FeatureType(f.type) for name, f in profile.features.items()}
    clash = sorted(set(features) & set(PREDICTION_COLUMNS))
    if clash:
        raise ConfigError(
            f"feature names {clash} are reserved for the prediction log's own columns",
            field="model.features",
            hint="rename the features (e.g. add a prefix)",
        )
    return features


def _time() -> pa.DataType:
    import pyarrow as pa

    return pa.timestamp("us", tz="UTC")


def prediction_schema(features: Mapping[str, FeatureType]) -> pa.Schema:
    import pyarrow as pa

    types = {
        FeatureType.NUMERIC: pa.float64(),
        FeatureType.CATEGORICAL: pa.string(),
        FeatureType.BOOLEAN: pa.bool_(),
    }
    return pa.schema(
        [
            ("prediction_id", pa.string()),
            ("entity_id", pa.string()),
            ("timestamp", _time()),
            ("model_name", pa.string()),
            ("model_version", pa.string()),
            ("route", pa.string()),
        ]
        + [(name, types[kind]) for name, kind in features.items()]
        + [
            ("score", pa.float64()),
            ("prediction", pa.float64()),
            ("latency_ms", pa.float64()),
            ("ingested_at", _time()),
        ]
    )


def label_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("prediction_id", pa.string()),
            ("entity_id", pa.string()),
            ("timestamp", _time()),
            ("label", pa.float64()),
            ("label_time", _time()),
            ("ingested_at", _time()),
        ]
    )
