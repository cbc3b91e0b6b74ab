"""Everything a set of window reports holds, from a few grouped queries over the joined log.

Feature, score and label drift reuse the drift engine's window counts; performance comes from
sufficient statistics grouped by (window, model version) and by (window, segment); the
label-free estimate and business KPIs from the same statistics; latency from one aggregate.
DuckDB and Spark run the same queries.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from driftpilot.drift.report import compare, feature_drift
from driftpilot.drift.rules import rule_for_type
from driftpilot.engine.counts import WindowCounts, empty_counts
from driftpilot.engine.results import split_rows
from driftpilot.engine.windows import count_windows
from driftpilot.errors import ConfigError
from driftpilot.log.schema import LABEL_COLUMNS, PREDICTION_COLUMNS
from driftpilot.monitor import cbpe
from driftpilot.monitor.performance import (
    BinaryStats,
    RegressionStats,
    binary_metrics,
    binary_query,
    kpi_values,
    regression_metrics,
    regression_query,
    sum_regression,
)
from driftpilot.monitor.plan import Window, key_of
from driftpilot.monitor.report import WindowReport, reference_record
from driftpilot.schema import FeatureType, dtype_kind

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from driftpilot.engine.backend import Engine
    from driftpilot.profile.model import Profile
    from driftpilot.workspace import Workspace

__all__ = ["ReportBuilder"]

# the log's own columns and the monitor's: never reported as the data's extra columns
LOG_COLUMNS = frozenset({*PREDICTION_COLUMNS, *LABEL_COLUMNS, "window", "label_ingested_at"})


class ReportBuilder:
    """Computes the reports of ``windows`` from ``part`` (the joined log, those windows only)."""

    def __init__(
        self,
        engine: Engine,
        workspace: Workspace,
        profile: Profile,
        part: ir.Table,
        windows: list[Window],
        now: datetime,
    ) -> None:
        self.engine, self.profile, self.part = engine, profile, part
        self.config = workspace.config
        self.windows = {w.value: w for w in windows}
        self.now = now
        self.binary = self.config.model.task == "binary"
        self.user_columns = [c for c in part.columns if c not in LOG_COLUMNS]
        self.value_columns = self._value_columns()
        reference = profile.performance
        self.center = (reference.label_mean if reference is not None else None) or 0.0

    def _value_columns(self) -> list[str]:
        """The logged columns KPIs sum, checked to exist and to hold numbers."""
        wanted = sorted(
            {
                term.sum
                for kpi in self.config.monitor.kpis.values()
                for term in (kpi.numerator, kpi.denominator)
                if term and term.sum
            }
        )
        numeric = [c for c in self.user_columns if dtype_kind(self.part[c].type()) == "numeric"]
        for name in wanted:
            if name not in numeric:
                found = (
                    "is not logged"
                    if name not in self.part.columns
                    else (f"holds {self.part[name].type()}, not numbers")
                )
                raise ConfigError(
                    f"KPI column {name!r} {found}",
                    field="monitor.kpis",
                    hint=f"sum one of the logged numeric columns: {numeric or 'none are logged'}",
                )
        return wanted

    def build(self, detections: dict[Any, dict[str, Any]]) -> list[WindowReport]:
        drift = self._drift()
        outputs = self._outputs()
        performance = self._performance()
        segments = self._segments()
        latency = self._latency()
        reports = []
        for value, window in self.windows.items():
            stats = performance.get(value, {})
            realized = dict(stats["realized"]) if "realized" in stats else None
            if realized is not None and segments.get(value):
                realized["by_segment"] = segments[value]
            found = detections.get(value, {})
            reports.append(
                WindowReport(
                    **drift[value].model_dump(exclude={"window", "segment"}),
                    window=window.start,
                    window_end=window.end,
                    window_key=window.key,
                    rows=window.rows,
                    fingerprint=window.fingerprint(found),
                    computed_at=self.now,
                    model={
                        "name": self.config.model.name,
                        "versions": {v: s["rows"] for v, s in stats.get("versions", {}).items()},
                    },
                    labels={
                        "labeled": window.labeled,
                        "coverage": window.labeled / window.rows if window.rows else 0.0,
                    },
                    prediction_drift=outputs.get(("score", value)),
                    label_drift=outputs.get(("label", value)),
                    performance=realized,
                    estimate=stats.get("estimate"),
                    kpis=stats.get("kpis", {}),
                    estimated_kpis=stats.get("estimated_kpis", {}),
                    detectors=found,
                    latency=latency.get(value, {}),
                    reference=reference_record(self.profile),
                )
            )
        return reports

    # drift of features, score and label ----------------------------------------------------
    def _drift(self) -> dict[Any, Any]:
        counts = count_windows(
            self.engine, self.part, self.profile, keys={"window": self.part.window}
        )
        found = {}
        for window in counts:
            report = compare(self.profile, window, self.config)
            extra = [c for c in report.dataset.extra_columns if c not in LOG_COLUMNS]
            dataset = report.dataset.model_copy(update={"extra_columns": extra})
            found[key_of(window.window, self.windows)] = report.model_copy(
                update={"dataset": dataset}
            )
        empty = WindowCounts(
            None, None, 0, {n: empty_counts(f) for n, f in self.profile.features.items()}
        )
        blank = compare(self.profile, empty, self.config)
        return {value: found.get(value, blank) for value in self.windows}

    def _outputs(self) -> dict[tuple[str, Any], Any]:
        """Prediction drift (the score; a regression model's predicted value) and label drift."""
        predicted = self.part.mutate(score=self.part.prediction) if not self.binary else self.part
        out: dict[tuple[str, Any], Any] = {}
        for name, table in (
            ("score", predicted),
            ("label", self.part.filter(self.part.label.notnull())),
        ):
            reference = self.profile.outputs.get(name)
            if reference is None:
                continue
            scoped = self.profile.model_copy(update={"features": {name: reference}})
            rule = rule_for_type(self.config.drift, FeatureType(reference.type))
            for counts in count_windows(self.engine, table, scoped, keys={"window": table.window}):
                out[(name, key_of(counts.window, self.windows))] = feature_drift(
                    name, reference, counts.features[name], rule, self.config
                )
        return out

    # performance ---------------------------------------------------------------------------
    def _performance(self) -> dict[Any, dict[str, Any]]:
        keys = {"window": self.part.window, "version": self.part.model_version}
        per_window: dict[Any, dict[str, Any]] = {}
        if self.binary:
            bins = self.config.monitor.score_bins
            rows = self.engine.execute(
                binary_query(self.part, keys, bins=bins, value_columns=self.value_columns)
            )
            grouped: dict[Any, dict[str, BinaryStats]] = defaultdict(dict)
            for (window, version), group in split_rows(rows, ["window", "version"]).items():
                grouped[key_of(window, self.windows)][version] = BinaryStats.from_group(
                    group, bins, len(self.value_columns)
                )
            for value, versions in grouped.items():
                per_window[value] = self._binary_window(versions, bins)
            return per_window
        rows = self.engine.execute(regression_query(self.part, keys, center=self.center))
        by_window: dict[Any, dict[str, RegressionStats]] = defaultdict(dict)
        for (window, version), group in split_rows(rows, ["window", "version"]).items():
            by_window[key_of(window, self.windows)][version] = RegressionStats.from_group(group)
        for value, regressions in by_window.items():
            whole = sum_regression(list(regressions.values()))
            per_window[value] = {
                "realized": {
                    **regression_metrics(whole),
                    "by_version": {v: regression_metrics(s) for v, s in regressions.items()},
                },
                "versions": {v: {"rows": s.rows} for v, s in regressions.items()},
            }
        return per_window

    def _binary_window(self, versions: dict[str, BinaryStats], bins: int) -> dict[str, Any]:
        whole = sum(versions.values(), BinaryStats.empty(bins, len(self.value_columns)))
        monitor = self.config.monitor
        realized = binary_metrics(whole, calibration_bins=monitor.calibration_bins)
        realized["by_version"] = {v: _summary(binary_metrics(s)) for v, s in versions.items()}
        window: dict[str, Any] = {
            "realized": realized,
            "versions": {v: {"rows": s.rows} for v, s in versions.items()},
            "kpis": kpi_values(monitor.kpis, whole, self.value_columns),
        }
        reference = self.profile.performance
        if (
            monitor.estimate
            and reference is not None
            and reference.task == "binary"
            and whole.rows >= monitor.estimate_min_rows
        ):
            window["estimate"] = cbpe.estimate(whole, reference)
            expected = cbpe.expected_counts(whole, reference.calibration)
            window["estimated_kpis"] = kpi_values(
                monitor.kpis, whole, self.value_columns, expected=expected
            )
        return window

    def _segments(self) -> dict[Any, dict[str, Any]]:
        out: dict[Any, dict[str, Any]] = defaultdict(dict)
        for column in self.config.monitor.segments:
            if column not in self.part.columns or column in LOG_COLUMNS - {"route"}:
                raise ConfigError(
                    f"segment column {column!r} is not a logged feature or column",
                    field="monitor.segments",
                    hint=f"segment by one of: {['route', *self.user_columns]}",
                )
            keys = {"window": self.part.window, "segment": self.part[column].cast("string")}
            if self.binary:
                bins = self.config.monitor.score_bins
                rows = self.engine.execute(binary_query(self.part, keys, bins=bins))
                metrics = {
                    key: _summary(binary_metrics(BinaryStats.from_group(group, bins)))
                    for key, group in split_rows(rows, ["window", "segment"]).items()
                }
            else:
                rows = self.engine.execute(regression_query(self.part, keys, center=self.center))
                metrics = {
                    key: regression_metrics(RegressionStats.from_group(group))
                    for key, group in split_rows(rows, ["window", "segment"]).items()
                }
            for (window, segment), values in metrics.items():
                out[key_of(window, self.windows)].setdefault(column, {})[str(segment)] = values
        return out

    def _latency(self) -> dict[Any, dict[str, float | None]]:
        latency = self.part.latency_ms
        summary = self.part.group_by("window").aggregate(
            mean=latency.mean(),
            p50=latency.approx_quantile(0.5),
            p99=latency.approx_quantile(0.99),
            measured=latency.count(),
        )
        return {
            key_of(row.pop("window"), self.windows): row
            for row in self.engine.execute(summary).to_pylist()
        }


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k != "calibration"}
