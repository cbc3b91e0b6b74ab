"""Window reports and a reference built by hand, so each policy test states its numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from driftpilot.config import parse_config
from driftpilot.drift.report import DatasetDrift, FeatureDrift
from driftpilot.monitor.report import WindowReport

START = datetime(2026, 1, 5, tzinfo=UTC)
NOW = START + timedelta(weeks=60)


def feature(
    psi: float = 0.01, *, drift: bool = False, rows: int = 10_000, **quality: Any
) -> FeatureDrift:
    return FeatureDrift(
        type="numeric",
        method="psi",
        threshold=0.2,
        threshold_source="fixed",
        score=psi,
        drift=drift,
        statistics={"psi": psi, "ks": psi / 2, "ks_pvalue": 0.5},
        quality={"rows_current": rows, "null_share_current": 0.0, **quality},
    )


def report(
    i: int,
    *,
    accuracy: float | None = 0.9,
    auc: float | None = 0.9,
    recall: float | None = 0.6,
    labeled: int = 10_000,
    rows: int = 10_000,
    psi: dict[str, float] | None = None,
    drifted: tuple[str, ...] = (),
    segments: dict[str, dict[str, float]] | None = None,
    detectors: dict[str, bool] | None = None,
    estimate_auc: float | None = None,
    kpis: dict[str, float] | None = None,
    quality_issues: dict[str, list[str]] | None = None,
    version: str = "1",
    weeks: int = 1,
) -> WindowReport:
    """Window ``i`` (weekly from START): performance, drift and detectors as given."""
    psi = psi if psi is not None else {"tenure": 0.01, "usage": 0.02}
    features = {
        name: feature(value, drift=name in drifted, rows=rows) for name, value in psi.items()
    }
    performance: dict[str, Any] | None = None
    if labeled:
        performance = {"accuracy": accuracy, "roc_auc": auc, "recall": recall, "labeled": labeled}
        if segments:
            performance["by_segment"] = {
                "region": {
                    name: {"recall": value, "accuracy": 0.9, "labeled": labeled // len(segments)}
                    for name, value in segments.items()
                }
            }
    start = START + timedelta(weeks=i * weeks)
    return WindowReport(
        dataset=DatasetDrift(
            drift=False,
            drift_share=len(drifted) / max(len(psi), 1),
            drifted_features=list(drifted),
            rows_reference=100_000,
            rows_current=rows,
            share_threshold=0.5,
            features_checked=len(psi),
            quality_issues=quality_issues or {},
        ),
        features=features,
        window=start,
        window_end=start + timedelta(weeks=weeks),
        window_key=start.isoformat(),
        rows=rows,
        model={"name": "churn", "versions": {version: rows}},
        labels={"labeled": labeled, "coverage": labeled / rows if rows else 0.0},
        prediction_drift=feature(0.01),
        label_drift=feature(0.01),
        performance=performance,
        estimate={"roc_auc": estimate_auc, "rows": rows} if estimate_auc is not None else None,
        kpis=kpis or {},
        detectors={n: {"fired": f, "detections": []} for n, f in (detectors or {}).items()},
        fingerprint=f"w{i}",
        computed_at=NOW,
    )


def config(rules: dict[str, Any] | None, **sections: Any) -> Any:
    data: dict[str, Any] = {"model": {"task": "binary"}, "policy": {}}
    if rules is not None:
        data["policy"]["rules"] = rules
    for key, value in sections.items():
        if key == "policy":
            data["policy"].update(value)
        else:
            data[key] = value
    return parse_config(data)


def reference(
    *,
    auc: float = 0.9,
    accuracy: float = 0.9,
    recall: float = 0.6,
    std: float = 0.01,
    chunk_rows: int = 10_000,
    psi_mean: float = 0.01,
    psi_std: float = 0.005,
) -> Any:
    """The parts of a reference profile the policy reads (performance and calibration)."""
    spread = SimpleNamespace(mean=auc, std=std)
    calibration = SimpleNamespace(
        chunk_rows=chunk_rows,
        statistics={"psi": SimpleNamespace(mean=psi_mean, std=psi_std)},
    )
    feature_profile = SimpleNamespace(calibration=calibration, valid=100_000)
    return SimpleNamespace(
        features={"tenure": feature_profile, "usage": feature_profile},
        outputs={"score": feature_profile, "label": feature_profile},
        performance=SimpleNamespace(
            metrics={"roc_auc": auc, "accuracy": accuracy, "recall": recall},
            chunks={"roc_auc": spread, "accuracy": spread, "recall": spread},
            chunk_rows=chunk_rows,
        ),
    )
