"""Window reports as a terminal table: one row per window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from driftpilot.monitor.report import WindowReport

__all__ = ["history_table"]


def _num(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _estimate(report: WindowReport, metric: str) -> str:
    estimate = report.estimate or {}
    value = estimate.get(metric)
    band = (estimate.get("bands") or {}).get(metric)
    if value is None:
        return "—"
    return f"{value:.3f}" + (f" ±{(band[1] - band[0]) / 2:.3f}" if band else "")


def history_table(reports: Sequence[WindowReport], *, metric: str = "roc_auc") -> Table:
    """Drift, realized and estimated performance, and alerts per window."""
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in [
        ("window", "left"),
        ("rows", "right"),
        ("labeled", "right"),
        ("drifted features", "left"),
        (f"{metric}", "right"),
        (f"estimated {metric}", "right"),
        ("recall", "right"),
        ("detectors", "left"),
        ("notes", "left"),
    ]:
        table.add_column(name, justify=justify, no_wrap=name != "notes")  # type: ignore[arg-type]
    for report in reports:
        performance = report.performance or {}
        fired = [name for name, d in report.detectors.items() if d.get("fired")]
        notes = list((report.estimate or {}).get("alerts", []))
        notes += [
            f"{name}: {'; '.join(issues)}" for name, issues in report.dataset.quality_issues.items()
        ]
        drift = ", ".join(report.dataset.drifted_features) or "—"
        table.add_row(
            report.window_key[:16].replace("T00:00", "").rstrip("Z"),
            f"{report.rows:,}",
            f"{100 * report.labels.get('coverage', 0):.0f}%",
            Text(drift, style="bold red") if report.dataset.drifted_features else drift,
            _num(performance.get(metric)),
            _estimate(report, metric),
            _num(performance.get("recall")),
            Text(", ".join(fired), style="yellow") if fired else "—",
            Text("; ".join(notes), style="yellow") if notes else "",
        )
    return table
