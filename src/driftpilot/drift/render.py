"""A drift report as a terminal table (rich): the worst features first."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from driftpilot.drift.report import DriftReport, FeatureDrift

__all__ = ["make_console", "render_table", "report_table"]


_TYPES = {"numeric": "num", "categorical": "cat", "boolean": "bool"}
WIDTH = 132  # when the output is not a terminal (a pipe, a file), rich would assume 80


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.1e}"


def _severity(feature: FeatureDrift) -> tuple[int, float]:
    """Sort key: drifted, then failed, then with quality issues, then by score vs threshold."""
    if feature.error:
        return (1, 0.0)
    rank = 0 if feature.drift else 2 if feature.quality.get("issues") else 3
    if feature.score is None or feature.threshold == 0:
        return (rank, 0.0)
    below = feature.method.endswith("pvalue")
    ratio = (
        feature.threshold / max(feature.score, 1e-300)
        if below
        else feature.score / feature.threshold
    )
    return (rank, -ratio)


def report_table(report: DriftReport, title: str | None = None) -> Table:
    d = report.dataset
    verdict = "[bold red]dataset drift[/]" if d.drift else "[green]no dataset drift[/]"
    caption = (
        f"{len(d.drifted_features)} of {d.features_checked} features drifted "
        f"({100 * d.drift_share:.0f}%, dataset threshold {100 * d.share_threshold:.0f}%): "
        f"{verdict} · reference {d.rows_reference:,} rows · current {d.rows_current:,} rows"
    )
    table = Table(
        title=title,
        caption=caption,
        caption_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for name, justify in [
        ("feature", "left"),
        ("type", "left"),
        ("method", "left"),
        ("score", "right"),
        ("threshold", "right"),
        ("drift", "center"),
        ("psi", "right"),
        ("ks", "right"),
        ("wasserstein", "right"),
    ]:
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("quality", overflow="fold", min_width=20)
    for name, f in sorted(report.features.items(), key=lambda item: _severity(item[1])):
        s = f.statistics
        if f.error:
            flag = Text("error", style="yellow")
        else:
            flag = Text("DRIFT", style="bold red") if f.drift else Text("ok", style="green")
        threshold = _fmt(f.threshold) + ("*" if f.threshold_source == "calibrated" else "")
        notes = f.error or "; ".join(f.quality.get("issues", []))
        table.add_row(
            name,
            _TYPES.get(f.type, f.type),
            f.method,
            _fmt(f.score),
            threshold,
            flag,
            _fmt(s.get("psi")),
            _fmt(s.get("ks")),
            _fmt(s.get("wasserstein")),
            Text(notes, style="yellow") if notes else "",
        )
    return table


def render_table(
    report: DriftReport,
    output: Path | None = None,
    *,
    title: str | None = None,
    console: Console | None = None,
) -> None:
    """Print the report's table (to ``output`` as plain text when given)."""
    table = report_table(report, title)
    if output is not None:
        with output.open("w", encoding="utf-8") as handle:
            _print(Console(file=handle, width=WIDTH, color_system=None), report, table)
        return
    _print(console or make_console(), report, table)


def make_console() -> Console:
    """A console for reports: the terminal's width, or WIDTH columns when piped or redirected."""
    console = Console()
    return console if console.is_terminal else Console(width=WIDTH)


def _print(console: Console, report: DriftReport, table: Table) -> None:
    console.print(table)
    if any(f.threshold_source == "calibrated" for f in report.features.values()):
        console.print(
            "* threshold calibrated from the reference: sampling noise at this window size"
        )
