"""The ``features`` section of driftpilot.yaml: the model's features from a Feast repository.

::

    features:
      repo: features          # the Feast repository (feature_store.yaml + definitions), relative
                              # to the workspace; null: no feature store
      views: [customer_usage_v2, customer_profile_v1]   # the model's views (default: all)
      schedule: 1d            # `driftpilot run` materializes this often
      materialize: true       # false: another scheduler materializes (or it is paused)
      staleness: null         # allowed age of the newest online value and of the last
                              # materialization (default: twice the schedule)
      lookback: 30d           # a materialization loads at most this far back (a view never
                              # materialized, or resuming after a pause)
      check_entities: 100     # entities read online to find each view's newest value
      skew_sample: 200        # entities compared online vs offline per check (0: no skew check)
      skew_tolerance: 1.0e-9  # relative difference under which two numbers are equal
      serve: true             # /v1/predict looks features up for instances that send only ids

With a repository configured, ``driftpilot run`` materializes every ``schedule``, checks the
freshness (and the skew) of every view at each cycle, and the policy can test
``stale_feature_views``, ``feature_age_hours(VIEW)``, ``materialization_age_hours(VIEW)`` and
``feature_skew(FEATURE)``; the retrain builds its training set with point-in-time joins.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from driftpilot.policy.config import parse_duration

__all__ = ["FeaturesConfig"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeaturesConfig(_Strict):
    repo: str | None = Field(None, description="Feast repository folder (relative: workspace)")
    views: list[str] = Field(default_factory=list, description="The model's feature views")
    schedule: str = Field("1d", description="Materialize this often in `driftpilot run`")
    materialize: bool = Field(True, description="false: materialized elsewhere (or paused)")
    staleness: str | None = Field(None, description="Allowed age (default: twice the schedule)")
    lookback: str = Field("30d", description="A materialization loads at most this far back")
    check_entities: int = Field(100, ge=1, le=100_000)
    skew_sample: int = Field(200, ge=0, le=100_000)
    skew_tolerance: float = Field(1e-9, ge=0, lt=1)
    serve: bool = Field(True, description="/v1/predict looks up features by entity id")

    @field_validator("schedule", "staleness", "lookback")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value).total_seconds() <= 0:
            raise ValueError(f"expected a duration above zero such as '1d', got {value!r}")
        return value

    @property
    def enabled(self) -> bool:
        return self.repo is not None

    def allowed_staleness(self) -> timedelta:
        """How old the newest online value (and the last materialization) may be."""
        if self.staleness is not None:
            return parse_duration(self.staleness)
        return 2 * parse_duration(self.schedule)
