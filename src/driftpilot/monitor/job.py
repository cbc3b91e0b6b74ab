"""``driftpilot monitor``: a report for every window with new predictions or new labels.

Each window's fingerprint (its rows, the latest prediction and label ingested, and the
configuration and reference in force) is compared with the stored report's; only windows whose
fingerprint changed are computed again, so re-running is idempotent and labels that arrive
days later recompute exactly the windows they belong to. All statistics come from a few
grouped queries over the windows to compute, run by DuckDB or Spark alike.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from driftpilot.drift.report import compare, feature_drift
from driftpilot.drift.rules import rule_for_type
from driftpilot.engine.backend import Engine
from driftpilot.engine.expressions import utc_time
from driftpilot.engine.results import split_rows
from driftpilot.engine.windows import WINDOW_UNITS, count_windows
from driftpilot.errors import ConfigError
from driftpilot.log.read import label_count, labeled_predictions
from driftpilot.monitor import cbpe
from driftpilot.monitor.detectors import detect
from driftpilot.monitor.performance import (
    BinaryStats,
    RegressionStats,
    binary_metrics,
    binary_query,
    kpi_values,
    regression_metrics,
    regression_query,
)
from driftpilot.monitor.report import WindowReport, stored_fingerprints, upsert
from driftpilot.profile.model import Profile
from driftpilot.schema import FeatureType
from driftpilot.workspace import Workspace

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["MonitorResult", "run_monitor"]

UNITS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}


@dataclass
class MonitorResult:
    computed: list[WindowReport] = field(default_factory=list)
    unchanged: int = 0
    unmatched_labels: int = 0


@dataclass(frozen=True)
class _Window:
    value: Any  # the engine's window key (a truncated time, or a row-window index)
    key: str
    start: datetime | None
    end: datetime | None
    rows: int
    labeled: int
    fingerprint: str


def run_monitor(
    workspace: Workspace | str,
    *,
    engine: Engine | None = None,
    everything: bool = False,
    now: datetime | None = None,
) -> MonitorResult:
    """Compute and store the reports of every window that changed since the last run."""
    if not isinstance(workspace, Workspace):
        workspace = Workspace.open(workspace)
    config = workspace.config
    engine = engine or Engine.create(config.engine)
    profile = workspace.reference()
    table = labeled_predictions(engine, workspace)
    table = table.mutate(
        window=_window_expression(table, config.monitor.window, config.monitor.window_rows)
    )
    # one pass deduplicates and joins the log; every query below reads its result
    table = engine.materialize(table)
    version = _settings_hash(workspace, profile)
    windows = _windows(engine, table, config.monitor.window, version)
    stored = {} if everything else stored_fingerprints(workspace)
    todo = [w for w in windows if stored.get(w.key) != w.fingerprint]
    joined = sum(w.labeled for w in windows)
    result = MonitorResult(
        unchanged=len(windows) - len(todo),
        unmatched_labels=max(label_count(engine, workspace) - joined, 0),
    )
    if not todo:
        return result
    part = table.filter(table.window.isin([w.value for w in todo]))
    reports = _Reports(engine, workspace, profile, part, todo, now or datetime.now(UTC)).build(
        table
    )
    upsert(workspace, reports)
    result.computed = reports
    return result


def _window_expression(table: ir.Table, unit: str, rows: int) -> Any:
    import ibis

    if unit == "rows":
        order = ibis.row_number().over(order_by=[table.timestamp, table.prediction_id])
        return (order / rows).floor().cast("int64")
    return utc_time(table.timestamp).truncate(WINDOW_UNITS[unit])


def _settings_hash(workspace: Workspace, profile: Profile) -> str:
    text = workspace.config.model_dump_json() + profile.created_at.isoformat()
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _windows(engine: Engine, table: ir.Table, unit: str, version: str) -> list[_Window]:
    summary = table.group_by("window").aggregate(
        rows=table.count(),
        first=table.timestamp.min(),
        last=table.timestamp.max(),
        seen=table.ingested_at.max(),
        labeled=table.label.count(),
        labels_seen=table.label_ingested_at.max(),
    )
    out = []
    for row in engine.execute(summary).to_pylist():
        value = row["window"]
        if unit == "rows":
            key, start, end = f"rows-{value:09d}", row["first"], row["last"]
        else:
            start = value.replace(tzinfo=UTC)
            key, end = start.strftime("%Y-%m-%dT%H:%M:%SZ"), _end(start, unit)
        fingerprint = f"{row['rows']}|{row['seen']}|{row['labeled']}|{row['labels_seen']}|{version}"
        out.append(_Window(value, key, start, end, row["rows"], row["labeled"], fingerprint))
    return sorted(out, key=lambda w: w.key)


def _end(start: datetime, unit: str) -> datetime:
    if unit == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start + UNITS[unit]


class _Reports:
    """Everything computed for the windows to report, assembled into WindowReports."""

    def __init__(
        self,
        engine: Engine,
        workspace: Workspace,
        profile: Profile,
        part: ir.Table,
        windows: list[_Window],
        now: datetime,
    ) -> None:
        self.engine, self.workspace, self.profile, self.part = engine, workspace, profile, part
        self.config = workspace.config
        self.windows = {w.value: w for w in windows}
        self.now = now
        self.binary = self.config.model.task == "binary"
        self.value_columns = sorted(
            {
                t.sum
                for kpi in self.config.monitor.kpis.values()
                for t in (kpi.numerator, kpi.denominator)
                if t and t.sum
            }
        )
        missing = [c for c in self.value_columns if c not in part.columns]
        if missing:
            raise ConfigError(
                f"KPI columns {missing} are not in the prediction log",
                field="monitor.kpis",
                hint=f"log columns: {list(part.columns)}",
            )

    def build(self, full: ir.Table) -> list[WindowReport]:
        drift = self._drift()
        outputs = self._outputs()
        performance, segments = self._performance()
        detections = self._detections(full)
        latency = self._latency()
        reports = []
        for value, window in self.windows.items():
            stats = performance.get(value)
            report = drift[value]
            versions = stats["versions"] if stats else {}
            realized = dict(stats["realized"]) if stats else None
            if realized is not None and segments.get(value):
                realized["by_segment"] = segments[value]
            reports.append(
                WindowReport(
                    **report.model_dump(exclude={"window", "segment"}),
                    window=window.start,
                    window_end=window.end,
                    window_key=window.key,
                    rows=window.rows,
                    fingerprint=window.fingerprint,
                    computed_at=self.now,
                    model={
                        "name": self.config.model.name,
                        "versions": {v: s["rows"] for v, s in versions.items()},
                    },
                    labels={
                        "labeled": window.labeled,
                        "coverage": window.labeled / window.rows if window.rows else 0.0,
                    },
                    prediction_drift=outputs.get(("score", value)),
                    label_drift=outputs.get(("label", value)),
                    performance=realized,
                    estimate=stats.get("estimate") if stats else None,
                    kpis=stats.get("kpis", {}) if stats else {},
                    estimated_kpis=stats.get("estimated_kpis", {}) if stats else {},
                    detectors=detections.get(value, {}),
                    latency=latency.get(value, {}),
                )
            )
        return reports

    # drift of features, score and label ----------------------------------------------------
    def _drift(self) -> dict[Any, Any]:
        counts = count_windows(
            self.engine, self.part, self.profile, keys={"window": self.part.window}
        )
        found = {w.window: compare(self.profile, w, self.config) for w in counts}
        empty = compare(self.profile, _empty_window(self.profile), self.config)
        return {value: found.get(_naive(value), empty) for value in self.windows}

    def _outputs(self) -> dict[tuple[str, Any], Any]:
        out: dict[tuple[str, Any], Any] = {}
        for name, table in (
            ("score", self.part),
            ("label", self.part.filter(self.part.label.notnull())),
        ):
            reference = self.profile.outputs.get(name)
            if reference is None:
                continue
            scoped = self.profile.model_copy(update={"features": {name: reference}})
            rule = rule_for_type(self.config.drift, FeatureType(reference.type))
            for counts in count_windows(self.engine, table, scoped, keys={"window": table.window}):
                out[(name, _key_of(counts.window, self.windows))] = feature_drift(
                    name, reference, counts.features[name], rule, self.config
                )
        return out

    # performance ---------------------------------------------------------------------------
    def _performance(self) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]]]:
        keys = {"window": self.part.window, "version": self.part.model_version}
        per_window: dict[Any, dict[str, Any]] = {}
        if self.binary:
            bins = self.config.monitor.score_bins
            rows = self.engine.execute(
                binary_query(self.part, keys, bins=bins, value_columns=self.value_columns)
            )
            grouped: dict[Any, dict[str, BinaryStats]] = defaultdict(dict)
            for (window, version), group in split_rows(rows, ["window", "version"]).items():
                grouped[_key_of(window, self.windows)][version] = BinaryStats.from_group(
                    group, bins, len(self.value_columns)
                )
            for value, versions in grouped.items():
                per_window[value] = self._binary_window(versions, bins)
        else:
            rows = self.engine.execute(regression_query(self.part, keys, center=0.0))
            by_window: dict[Any, dict[str, RegressionStats]] = defaultdict(dict)
            for (window, version), group in split_rows(rows, ["window", "version"]).items():
                by_window[_key_of(window, self.windows)][version] = RegressionStats.from_group(
                    group
                )
            for value, regressions in by_window.items():
                whole = _sum_regression(list(regressions.values()))
                per_window[value] = {
                    "realized": {
                        **regression_metrics(whole),
                        "by_version": {v: regression_metrics(s) for v, s in regressions.items()},
                    },
                    "versions": {v: {"rows": s.rows} for v, s in regressions.items()},
                }
        return per_window, self._segments()

    def _binary_window(self, versions: dict[str, BinaryStats], bins: int) -> dict[str, Any]:
        whole = sum(versions.values(), BinaryStats.empty(bins, len(self.value_columns)))
        coarse = self.config.monitor.calibration_bins
        realized = binary_metrics(whole, calibration_bins=coarse)
        realized["by_version"] = {v: _summary(binary_metrics(s)) for v, s in versions.items()}
        window: dict[str, Any] = {
            "realized": realized,
            "versions": {v: {"rows": s.rows} for v, s in versions.items()},
        }
        kpis = self.config.monitor.kpis
        window["kpis"] = kpi_values(kpis, whole, self.value_columns)
        reference = self.profile.performance
        if self.config.monitor.estimate and reference is not None and reference.task == "binary":
            window["estimate"] = cbpe.estimate(whole, reference)
            expected = cbpe.expected_counts(whole, reference.calibration)
            window["estimated_kpis"] = kpi_values(
                kpis, whole, self.value_columns, expected=expected
            )
        return window

    def _segments(self) -> dict[Any, dict[str, Any]]:
        out: dict[Any, dict[str, Any]] = defaultdict(dict)
        for column in self.config.monitor.segments:
            if column not in self.part.columns:
                raise ConfigError(
                    f"segment column {column!r} is not in the prediction log",
                    field="monitor.segments",
                    hint=f"log columns: {list(self.part.columns)}",
                )
            keys = {"window": self.part.window, "segment": self.part[column].cast("string")}
            if self.binary:
                bins = self.config.monitor.score_bins
                rows = self.engine.execute(binary_query(self.part, keys, bins=bins))
                for (window, segment), group in split_rows(rows, ["window", "segment"]).items():
                    metrics = _summary(binary_metrics(BinaryStats.from_group(group, bins)))
                    out[_key_of(window, self.windows)].setdefault(column, {})[str(segment)] = (
                        metrics
                    )
            else:
                rows = self.engine.execute(regression_query(self.part, keys, center=0.0))
                for (window, segment), group in split_rows(rows, ["window", "segment"]).items():
                    metrics = regression_metrics(RegressionStats.from_group(group))
                    out[_key_of(window, self.windows)].setdefault(column, {})[str(segment)] = (
                        metrics
                    )
        return out

    # detectors and latency -----------------------------------------------------------------
    def _detections(self, full: ir.Table) -> dict[Any, dict[str, Any]]:
        import ibis

        settings = self.config.monitor.detectors
        labeled = full.filter(full.label.notnull())
        recent = labeled.select(
            version=labeled.model_version,
            at=labeled.timestamp,
            window=labeled.window,
            error=(labeled.prediction - labeled.label).abs(),
        )
        recent = recent.order_by([ibis.desc("at"), ibis.desc("version")]).limit(settings.max_events)
        events = self.engine.execute(recent)
        last = events.num_rows - 1  # events came newest first: position p is row last − p
        versions = events.column("version").to_pylist()[::-1]
        errors = events.column("error").to_numpy(zero_copy_only=False)[::-1]
        found = detect(versions, errors, settings, binary=self.binary)
        out: dict[Any, dict[str, Any]] = defaultdict(dict)
        for detector, positions in found.items():
            for position in positions:
                row = last - position
                value = _key_of(events.column("window")[row].as_py(), self.windows)
                if value in self.windows:
                    entry = out[value].setdefault(detector, {"fired": True, "detections": []})
                    moment = events.column("at")[row].as_py()
                    entry["detections"].append(
                        {"version": versions[position], "at": moment.isoformat()}
                    )
        for value in self.windows:
            for detector in found:
                out[value].setdefault(detector, {"fired": False, "detections": []})
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
            _key_of(row.pop("window"), self.windows): row
            for row in self.engine.execute(summary).to_pylist()
        }


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k not in ("calibration",)}


def _sum_regression(groups: list[RegressionStats]) -> RegressionStats:
    names = ("rows", "labeled", "sy", "syy", "sp", "spp", "se", "sae", "see", "sape")
    return RegressionStats(**{n: sum(getattr(g, n) for g in groups) for n in names})


def _naive(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def _key_of(value: Any, windows: dict[Any, _Window]) -> Any:
    """The window a query row belongs to (engines return times with or without a zone)."""
    if value in windows:
        return value
    for candidate in windows:
        if _naive(candidate) == _naive(value):
            return candidate
    return value


def _empty_window(profile: Profile) -> Any:
    from driftpilot.engine.counts import WindowCounts, empty_counts

    return WindowCounts(None, None, 0, {n: empty_counts(f) for n, f in profile.features.items()})
