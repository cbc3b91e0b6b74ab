"""The values a policy can test, each read from a window report.

Every metric has a declared range (so an impossible threshold is refused at load), the
arguments it takes, and whether it has a reference-calibrated threshold. The catalog is data:
:data:`CATALOG` maps each name to a :class:`MetricSpec`, and the error for an unknown name
lists them all.

==================================  ===============================================================
``psi(F)`` ``ks(F)`` … ``chi2_pvalue(F)``  a drift statistic of feature F; ``*`` any feature;
                                    ``prediction`` and ``label`` the model's outputs
``drift(F)``                        flag: F's drift verdict (per ``drift`` in driftpilot.yaml)
``null_share(F)`` …                 data-quality shares of F (``*``: any feature)
``drift_share`` ``drifted_features``  the dataset's drift
``quality_issues``                  features with a data-quality issue
``accuracy`` ``roc_auc`` …          realized performance; ``(SEGMENT=VALUE)`` or ``(SEGMENT=*)``
``auc_drop`` ``log_loss_rise`` …    worse than the baseline (reference, or the champion's first
                                    windows: ``baseline=champion``)
``estimated_roc_auc`` …             the label-free estimate (CBPE), and ``estimated_…_drop``
``kpi(NAME)`` ``kpi_drop(NAME)`` ``estimated_kpi(NAME)``  business KPIs
``latency_p99`` ``latency_p50`` ``latency_mean``  serving latency (ms)
``detector(adwin|page_hinkley|ddm|any)`` ``detectors_fired``  streaming detectors
``rows`` ``labeled`` ``label_coverage``  the window's size and its labels
``stale_feature_views``             feature-store checks (``features.repo``): views not fresh;
``feature_age_hours(VIEW)``         the newest online value's age; ``*`` any view;
``materialization_age_hours(VIEW)``  the time since the view's last materialization;
``feature_skew(F)``                 F's online/offline mismatch rate (``*``: any feature)
==================================  ===============================================================

A rule tests either window values or feature-store values: feature-store rules are judged on
the cycle's feature checks (one per cycle), window rules on the windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["ALIASES", "CATALOG", "MetricSpec", "canonical"]

INF = math.inf
Kind = Literal[
    "statistic",
    "verdict",
    "quality",
    "dataset",
    "performance",
    "drop",
    "estimate",
    "estimate_drop",
    "kpi",
    "kpi_drop",
    "estimated_kpi",
    "latency",
    "detector",
    "feature_store",
]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: Kind
    low: float = 0.0
    high: float = INF
    feature: bool = False  # takes one feature (or *, prediction, label)
    view: bool = False  # takes one feature view (or *)
    segments: bool = False  # takes SEGMENT=VALUE or SEGMENT=*
    flag: bool = False  # a yes/no value, used without a comparison
    calibrated: Literal["above", "below"] | None = None  # direction of a calibrated threshold
    task: Literal["binary", "regression"] | None = None
    source: str = ""  # the report field (or metric) it reads

    @property
    def higher_is_better(self) -> bool:
        return self.calibrated == "below"


def _catalog() -> dict[str, MetricSpec]:
    specs: list[MetricSpec] = []
    add = specs.append
    for stat, high in (
        ("psi", INF),
        ("kl", INF),
        ("wasserstein", INF),
        ("js", 1.0),
        ("hellinger", 1.0),
        ("tv", 1.0),
        ("ks", 1.0),
        ("linf", 1.0),
    ):  # fmt: skip  (the statistics the profile calibrates: drift.statistics.CALIBRATED)
        add(MetricSpec(stat, "statistic", high=high, feature=True, calibrated="above", source=stat))
    add(MetricSpec("chi2", "statistic", high=INF, feature=True, source="chi2"))
    for stat in ("ks_pvalue", "chi2_pvalue"):
        add(MetricSpec(stat, "statistic", high=1.0, feature=True, source=stat))
    add(MetricSpec("drift", "verdict", high=1.0, feature=True, flag=True))
    for name, source, low in (
        ("null_share", "null_share_current", 0.0),
        ("null_share_change", "null_share_change", -1.0),
        ("nonfinite_share", "nonfinite_share_current", 0.0),
        ("type_error_share", "type_error_share", 0.0),
        ("out_of_range_share", "out_of_range_share", 0.0),
        ("unseen_share", "unseen_share", 0.0),
    ):
        add(MetricSpec(name, "quality", low=low, high=1.0, feature=True, source=source))
    add(MetricSpec("drift_share", "dataset", high=1.0, source="drift_share"))
    add(MetricSpec("drifted_features", "dataset", source="drifted_features"))
    add(MetricSpec("quality_issues", "dataset", source="quality_issues"))
    add(MetricSpec("rows", "dataset", source="rows"))
    add(MetricSpec("labeled", "dataset", source="labeled"))
    add(MetricSpec("label_coverage", "dataset", high=1.0, source="coverage"))
    Task = Literal["binary", "regression"]
    Direction = Literal["above", "below"] | None
    performance: list[tuple[str, Task, float, float, Direction]] = [
        # name, task, low, high, calibrated direction (None: neither better nor worse)
        ("accuracy", "binary", 0.0, 1.0, "below"),
        ("precision", "binary", 0.0, 1.0, "below"),
        ("recall", "binary", 0.0, 1.0, "below"),
        ("f1", "binary", 0.0, 1.0, "below"),
        ("roc_auc", "binary", 0.0, 1.0, "below"),
        ("log_loss", "binary", 0.0, INF, "above"),
        ("brier", "binary", 0.0, 1.0, "above"),
        ("positive_rate", "binary", 0.0, 1.0, None),
        ("mae", "regression", 0.0, INF, "above"),
        ("rmse", "regression", 0.0, INF, "above"),
        ("mape", "regression", 0.0, INF, "above"),
        ("r2", "regression", -INF, 1.0, "below"),
    ]
    for name, task, low, high, direction in performance:
        t, c = task, direction
        add(MetricSpec(name, "performance", low, high, segments=True, calibrated=c, task=t,
                       source=name))  # fmt: skip
        if direction is not None:  # worse than the baseline by this much
            suffix = "_drop" if direction == "below" else "_rise"
            span = high - low
            add(MetricSpec(name + suffix, "drop", -span, span, segments=True, calibrated="above",
                           task=t, source=name))  # fmt: skip
        if task == "binary" and name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
            add(MetricSpec("estimated_" + name, "estimate", low, high, calibrated="below",
                           task=t, source=name))  # fmt: skip
            add(MetricSpec("estimated_" + name + "_drop", "estimate_drop", -1.0, 1.0,
                           calibrated="above", task=t, source=name))  # fmt: skip
    add(MetricSpec("kpi", "kpi", -INF, INF, source="kpis"))
    add(MetricSpec("kpi_drop", "kpi_drop", -INF, INF, source="kpis"))
    add(MetricSpec("estimated_kpi", "estimated_kpi", -INF, INF, source="estimated_kpis"))
    for name in ("p99", "p50", "mean"):
        add(MetricSpec("latency_" + name, "latency", source=name))
    add(MetricSpec("detector", "detector", high=1.0, flag=True))
    add(MetricSpec("detectors_fired", "detector", high=3.0))
    add(MetricSpec("stale_feature_views", "feature_store", source="stale_views"))
    for name, source in (
        ("feature_age_hours", "value_age_seconds"),
        ("materialization_age_hours", "materialization_age_seconds"),
    ):
        add(MetricSpec(name, "feature_store", view=True, source=source))
    add(MetricSpec("feature_skew", "feature_store", high=1.0, feature=True, source="skew"))
    return {spec.name: spec for spec in specs}


CATALOG: dict[str, MetricSpec] = _catalog()
ALIASES = {
    "auc": "roc_auc",
    "auc_drop": "roc_auc_drop",
    "estimated_auc": "estimated_roc_auc",
    "estimated_auc_drop": "estimated_roc_auc_drop",
}
# names a user may reach for that come with later capabilities, and what they need
NOT_YET = {
    "error_rate": "the serving log of failed requests, which arrives with `driftpilot serve` "
    "serving models",
}


def canonical(name: str) -> str:
    return ALIASES.get(name, name)
