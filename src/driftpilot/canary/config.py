"""The ``canary`` section of driftpilot.yaml: how a challenger earns the champion's traffic.

::

    canary:
      enabled: true              # a challenger that passed the gate starts a canary
      approval: auto             # or manual: the canary waits for `driftpilot canary step`
      interval: 1m               # analysis interval under `driftpilot run` while one is running
      stages:                    # "shadow", "5%", or a mapping (min_requests, min_duration…)
        - {name: shadow, weight: 0, shadow: 0.25, min_requests: 500, min_duration: 10m}
        - "5%"
        - "25%"
        - "50%"
        - "100%"
      min_evidence: 50           # challenger requests before a check may fail
      max_error_rate_increase: 0.01    # challenger's error rate minus the champion's
      max_latency_ratio: 1.5     # challenger p99 over champion p99 …
      latency_slack_ms: 2.0      # … and above champion p99 plus this
      max_divergence: 0.2        # Jensen-Shannon distance of the two score distributions
      metric: null               # the gate's primary metric when not given
      margin: 0.02               # non-inferiority margin on the metric (labels)
      confidence: 0.95
      min_labels: 200            # labeled rows per model before the metric is judged
      require_labels: false      # true: no promotion until non-inferiority is shown
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from driftpilot.policy.config import parse_duration
from driftpilot.retrain.config import BINARY_METRICS, REGRESSION_METRICS

__all__ = ["CanaryConfig", "StageConfig"]

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageConfig(_Strict):
    """One traffic step: the challenger answers ``weight`` of the traffic (sticky by entity);
    with ``weight`` 0 it only scores ``shadow`` of the requests, logged, while the champion
    answers."""

    name: str = Field(min_length=1, max_length=40)
    weight: float = Field(ge=0, le=1, description="Share of traffic the challenger answers")
    shadow: float = Field(0.0, ge=0, le=1, description="Share the challenger scores in shadow")
    min_requests: int = Field(500, ge=1, description="Challenger requests before it may pass")
    min_duration: str = Field("10m", description="Time in the stage before it may pass")

    @field_validator("min_duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value).total_seconds() < 0:
            raise ValueError(f"expected a duration such as '10m', got {value!r}")
        return value

    @model_validator(mode="after")
    def _does_something(self) -> StageConfig:
        if self.weight == 0 and self.shadow == 0:
            raise ValueError(
                f"stage {self.name!r} gives the challenger no traffic: set weight > 0, or "
                "shadow > 0 for a shadow stage"
            )
        return self

    @property
    def seconds(self) -> float:
        return parse_duration(self.min_duration).total_seconds()


def _stage(value: Any) -> Any:
    """``"shadow"`` and ``"5%"`` are shorthands for the stage dicts they stand for."""
    if isinstance(value, str):
        if value.strip() == "shadow":
            return {"name": "shadow", "weight": 0.0, "shadow": 0.25}
        match = _PERCENT.match(value)
        if match is None:
            raise ValueError(
                f"expected 'shadow', a share such as '5%', or a mapping with name and weight, "
                f"got {value!r}"
            )
        return {"name": value.strip(), "weight": float(match.group(1)) / 100}
    return value


def _default_stages() -> list[StageConfig]:
    return [StageConfig.model_validate(_stage(s)) for s in ("shadow", "5%", "25%", "50%", "100%")]


class CanaryConfig(_Strict):
    """Stages, analysis thresholds and approval of a canary rollout."""

    enabled: bool = Field(True, description="A challenger that passed the gate starts a canary")
    approval: Literal["auto", "manual"] = "auto"
    interval: str = Field("1m", description="Analysis interval under `driftpilot run`")
    stages: list[StageConfig] = Field(default_factory=_default_stages, min_length=1)
    min_evidence: int = Field(50, ge=1, description="Challenger requests before a check may fail")
    max_error_rate_increase: float = Field(0.01, ge=0, le=1)
    max_latency_ratio: float = Field(1.5, ge=1)
    latency_slack_ms: float = Field(2.0, ge=0)
    max_divergence: float = Field(0.2, gt=0, le=1, description="Jensen-Shannon distance")
    metric: str | None = Field(None, description="Judged on labels (default: the gate's)")
    margin: float = Field(0.02, ge=0, description="Non-inferiority margin on the metric")
    confidence: float = Field(0.95, gt=0.5, lt=1)
    bootstrap: int = Field(300, ge=50, le=10_000)
    min_labels: int = Field(200, ge=10, description="Labeled rows per model to judge the metric")
    require_labels: bool = Field(False, description="No promotion before labels show it")

    @field_validator("stages", mode="before")
    @classmethod
    def _shorthands(cls, value: Any) -> Any:
        return [_stage(v) for v in value] if isinstance(value, list) else value

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError(f"expected a duration above zero such as '1m', got {value!r}")
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is not None and value not in (*BINARY_METRICS, *REGRESSION_METRICS):
            raise ValueError(
                f"unknown metric {value!r}; valid: {', '.join(BINARY_METRICS + REGRESSION_METRICS)}"
            )
        return value

    @model_validator(mode="after")
    def _widening(self) -> CanaryConfig:
        weights = [s.weight for s in self.stages]
        if weights != sorted(weights):
            raise ValueError(f"canary.stages must never narrow the challenger's share: {weights}")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"canary.stages need distinct names, got {names}")
        return self
