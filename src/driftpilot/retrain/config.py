"""The ``registry`` and ``retrain`` sections of driftpilot.yaml.

::

    registry:
      tracking_uri: null          # default: $MLFLOW_TRACKING_URI, else sqlite:///WORKSPACE/mlflow.db
      experiment: null            # default: driftpilot/<model.name>
      timeout: 10                 # seconds per HTTP request to an MLflow server
      retries: 2                  # HTTP retries before an MLflow server counts as unreachable
    retrain:
      days: 30                    # labeled production rows of the last N days
      blend: {source: history, share: 0.0}   # or source: training (the champion's data)
      holdout: 0.2                # the most recent share, held out for the gate
      validation: 0.15            # the next most recent share of the rest: early stopping
      min_rows: 1000
      min_class_rows: 50          # rows of the rarer class, per split (binary models)
      trainer: builtin            # or module:function (see driftpilot.retrain.trainers)
      params: {}                  # passed to the trainer (XGBoost parameters for builtin)
      max_attempts: 3             # failed retrains of one decision before giving up
      gate:
        metric: null              # roc_auc (binary) or rmse (regression) when not given
        margin: 0.0               # the candidate must beat the champion by more than this
        confidence: 0.9           # …and its paired-bootstrap lower bound must stay above it
        segment_tolerance: 0.02   # largest regression allowed on a segment with support
        min_segment_rows: 300
        floors: {}                # e.g. {roc_auc: 0.7, recall: 0.5}; {rmse: 12.0} is a ceiling
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "BINARY_METRICS",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "BlendConfig",
    "GateConfig",
    "RegistryConfig",
    "RetrainConfig",
]

BINARY_METRICS = ("roc_auc", "accuracy", "recall", "precision", "f1", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
_ALL = ", ".join((*BINARY_METRICS, *REGRESSION_METRICS))
_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryConfig(_Strict):
    """Where models and runs are kept: MLflow tracking and registry."""

    tracking_uri: str | None = Field(
        None,
        description="MLflow tracking/registry URI (default: $MLFLOW_TRACKING_URI, else "
        "sqlite:///WORKSPACE/mlflow.db)",
    )
    experiment: str | None = Field(None, description="Experiment (default driftpilot/MODEL)")
    timeout: float = Field(10.0, gt=0, le=600, description="Seconds per request to a server")
    retries: int = Field(2, ge=0, le=20, description="Retries before a server is unreachable")


class BlendConfig(_Strict):
    """Older rows mixed into the training set: ``share`` of (window rows + older rows)."""

    source: Literal["history", "training"] = Field(
        "history",
        description="history: labeled production rows older than the window; training: the "
        "data the champion was trained on (recorded at registration)",
    )
    share: float = Field(0.0, ge=0, lt=1, description="Older rows' share of window plus older rows")


class GateConfig(_Strict):
    """When a candidate may replace the champion."""

    metric: str | None = Field(None, description="Primary metric (roc_auc / rmse by default)")
    margin: float = Field(0.0, ge=0, description="Required improvement on the primary metric")
    confidence: float = Field(
        0.9, ge=0, lt=1, description="One-sided paired-bootstrap confidence (0 turns it off)"
    )
    bootstrap: int = Field(200, ge=20, le=10_000, description="Bootstrap resamples")
    segment_tolerance: float = Field(0.02, ge=0, description="Largest regression per segment")
    min_segment_rows: int = Field(300, ge=1, description="Rows a segment needs to be judged")
    floors: dict[str, float] = Field(default_factory=dict, description="Absolute limits")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is not None and value not in (*BINARY_METRICS, *REGRESSION_METRICS):
            raise ValueError(f"unknown metric {value!r}; valid: {_ALL}")
        return value

    @field_validator("floors")
    @classmethod
    def _known_floors(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - {*BINARY_METRICS, *REGRESSION_METRICS})
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; valid: {_ALL}")
        return value

    def primary(self, task: str) -> str:
        return self.metric or ("roc_auc" if task == "binary" else "rmse")


class RetrainConfig(_Strict):
    """How a retrain builds its data, trains, and judges the candidate."""

    days: float = Field(30, gt=0, description="Train on labeled rows of the last N days")
    blend: BlendConfig = Field(default_factory=BlendConfig)
    holdout: float = Field(0.2, gt=0, lt=0.9, description="Most recent share held out")
    validation: float = Field(0.15, gt=0, lt=0.9, description="Early-stopping share of the rest")
    min_rows: int = Field(1000, ge=10, description="Labeled rows a retrain needs")
    min_class_rows: int = Field(50, ge=1, description="Rows of the rarer class in each split")
    trainer: str = Field("builtin", description="builtin, or an entry point module:function")
    params: dict[str, object] = Field(default_factory=dict, description="Trainer parameters")
    seed: int = Field(0, ge=0)
    max_attempts: int = Field(3, ge=1, description="Failed retrains of one decision at most")
    gate: GateConfig = Field(default_factory=GateConfig)

    @field_validator("trainer")
    @classmethod
    def _entry_point(cls, value: str) -> str:
        if value != "builtin" and not _ENTRY_POINT.match(value):
            raise ValueError("expected 'builtin' or an entry point 'package.module:function'")
        return value
