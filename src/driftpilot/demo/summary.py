"""The demo's closing summary: the story in numbers, read back from the workspace.

Nothing here is scripted: every figure comes from what the run stored (window reports,
incident messages, the registry, canary steps), so the summary shows what driftpilot did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from driftpilot.monitor.report import WindowReport
from driftpilot.report.models import short_reason
from driftpilot.workspace import Workspace

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["StorySummary", "print_next", "south_table", "summarize", "summary_table"]


@dataclass(frozen=True)
class StorySummary:
    windows: int
    predictions: int
    labels: int
    drift_windows: list[str]
    drifted_features: list[str]
    auc_during_drift: tuple[float, float] | None
    auc_reference: float | None
    south_windows: list[str]  # windows where the south's recall trails the others by > 0.2
    south_recall: float | None  # its lowest recall there
    others_recall: float | None  # the lowest recall of the other regions there
    opened: dict[str, int]  # incidents opened per rule
    resolved: dict[str, int]
    still_open: list[str]
    versions: list[dict[str, str]]  # version, gate, canary, reason
    canary: list[tuple[str, str, str]]  # (version, action, stage) per step
    aliases: dict[str, str] = field(default_factory=dict)


def summarize(
    workspace: Workspace, reports: list[WindowReport], *, auc_reference: float | None = None
) -> StorySummary:
    """The summary of a finished run; ``auc_reference`` is the first champion's reference
    ROC AUC (the workspace's reference follows the champion)."""
    from driftpilot.canary.controller import history as canary_history
    from driftpilot.policy.store import sent_rows
    from driftpilot.registry.client import Registry

    drift = [r for r in reports if r.dataset.drifted_features]
    aucs = [(r.performance or {}).get("roc_auc") for r in drift]
    known = [a for a in aucs if a is not None]
    south, south_low, others_low = [], [], []
    for report in reports:
        regions = ((report.performance or {}).get("by_segment") or {}).get("region", {})
        if "south" not in regions or len(regions) < 2:
            continue
        others = [m.get("recall") for k, m in regions.items() if k != "south"]
        known_others = [r for r in others if r is not None]
        mine = regions["south"].get("recall")
        if not known_others or mine is None:
            continue
        rest = min(known_others)
        if mine < rest - 0.2:
            south.append(report.window_key[:10])
            south_low.append(mine)
            others_low.append(rest)
    opened: dict[str, int] = {}
    resolved: dict[str, int] = {}
    last: dict[str, str] = {}
    for row in sorted(sent_rows(workspace), key=lambda r: r["sent_at"]):
        if row["rule"] == "canary":
            continue
        counts = resolved if row["status"] == "resolved" else opened
        counts[row["rule"]] = counts.get(row["rule"], 0) + 1
        last[row["incident"]] = row["status"]
    registry = Registry(workspace)
    return StorySummary(
        windows=len(reports),
        predictions=sum(r.rows for r in reports),
        labels=sum(int(r.labels.get("labeled", 0)) for r in reports),
        drift_windows=[r.window_key[:10] for r in drift],
        drifted_features=sorted({f for r in drift for f in r.dataset.drifted_features}),
        auc_during_drift=(min(known), max(known)) if known else None,
        auc_reference=auc_reference,
        south_windows=south,
        south_recall=min(south_low) if south_low else None,
        others_recall=min(others_low) if others_low else None,
        opened=opened,
        resolved=resolved,
        still_open=sorted(i.split("@")[0] for i, s in last.items() if s != "resolved"),
        versions=[
            {
                "version": v.version,
                "gate": v.tag("gate") or "",
                "canary": v.tags.get("driftpilot.canary", ""),
                "reason": v.tag("reason") or "",
            }
            for v in registry.versions()
        ],
        canary=[(s["version"], s["action"], s["stage"]) for s in canary_history(workspace)],
        aliases=registry.aliases(),
    )


def _auc(summary: StorySummary) -> str:
    if summary.auc_during_drift is None:
        return ""
    low, high = summary.auc_during_drift
    base = f" (reference {summary.auc_reference:.3f})" if summary.auc_reference else ""
    return f"; ROC AUC held at {low:.3f}–{high:.3f}{base}"


def _fired(summary: StorySummary, rule: str) -> str:
    opened = summary.opened.get(rule, 0)
    return f"; {rule} opened {opened} incident(s)" if opened else f"; {rule} did not fire"


def _versions(summary: StorySummary) -> list[tuple[str, str]]:
    rows = []
    for v in summary.versions[1:]:
        steps = [(a, st) for version, a, st in summary.canary if version == v["version"]]
        stages = [st for a, st in steps if a == "advance"]
        done = {"promote": "promoted", "rollback": "rolled back"}
        ending = next((f"{done[a]} at {st}" for a, st in steps if a in done), "")
        rows.append(
            (
                f"version {v['version']}",
                f"{short_reason(v['reason'])}: gate {v['gate'] or '—'}; canary "
                + (f"through {', '.join(stages)}, " if stages else "")
                + (ending or v["canary"] or "not started"),
            )
        )
    return rows


def summary_table(summary: StorySummary) -> Table:
    """The story in numbers, as the demo prints it last."""
    table = Table(title="the story in numbers", header_style="bold", show_lines=False)
    table.add_column("what")
    table.add_column("what driftpilot saw and did", overflow="fold")
    rules = sorted(set(summary.opened) | set(summary.resolved))
    rows: list[tuple[str, str]] = [
        (
            "monitored",
            f"{summary.windows} weekly windows, {summary.predictions:,} predictions, "
            f"{summary.labels:,} labels",
        ),
        (
            "covariate drift",
            f"{', '.join(summary.drifted_features) or 'none'} drifted in "
            f"{', '.join(summary.drift_windows) or 'no window'}{_auc(summary)}"
            + _fired(summary, "data_drift"),
        ),
        (
            "concept drift",
            (
                f"south's recall fell to {summary.south_recall:.2f} (other regions ≥ "
                f"{summary.others_recall:.2f}) in {', '.join(summary.south_windows)}"
                if summary.south_recall is not None and summary.others_recall is not None
                else "none seen"
            ),
        ),
        *_versions(summary),
        (
            "incidents",
            ", ".join(
                f"{rule} {summary.opened.get(rule, 0)} opened / {summary.resolved.get(rule, 0)} "
                "resolved"
                for rule in rules
            )
            + (f"; still open: {', '.join(summary.still_open)}" if summary.still_open else ""),
        ),
        (
            "aliases now",
            ", ".join(f"{a} → version {v}" for a, v in sorted(summary.aliases.items())),
        ),
    ]
    for what, text in rows:  # reasons are free text: "[by ops]" is not rich markup
        table.add_row(escape(what), escape(text))
    return table


def south_table(reports: list[WindowReport]) -> Table:
    """Recall per region: the sub-population drift the overall numbers hide."""
    table = Table(title="recall by region (realized)", header_style="bold")
    regions = ["north", "south", "east", "west", "central"]
    table.add_column("week")
    for region in regions:
        table.add_column(region, justify="right")
    for report in reports:
        segments = ((report.performance or {}).get("by_segment") or {}).get("region", {})
        cells = [segments.get(r, {}).get("recall") for r in regions]
        table.add_row(report.window_key[:10], *("—" if c is None else f"{c:.2f}" for c in cells))
    return table


def print_next(
    console: Console, directory: Path, root: Path, html: Path, uri: str, space: Workspace
) -> None:
    port = space.config.report.port
    console.print(
        f"\n[bold]look further[/] (workspace {root}):\n"
        f"  {html}   the HTML report (one file, works offline); again with\n"
        f"      driftpilot report -w {root} --html report.html\n"
        f"  driftpilot ui -w {root}   the live dashboard: http://127.0.0.1:{port}/ui\n"
        f"  uv run mlflow ui --backend-store-uri {uri}   runs, versions, window metrics:\n"
        f"      http://127.0.0.1:5000 (the report's and dashboard's run links point there)\n"
        f"  driftpilot report -w {root}            the history again (--format json)\n"
        f"  driftpilot check -w {root}             decide again (exit 0 ok, 1 warn, 2 alert)\n"
        f"  driftpilot explain DECISION_ID -w {root}   why (ids from check)\n"
        f"  {root / 'alerts.jsonl'}   the incident messages\n"
        f"  driftpilot models -w {root}            versions, aliases, gate verdicts, lineage\n"
        f"  driftpilot metrics -w {root}           window metrics logged to MLflow\n"
        f"  driftpilot canary status -w {root}     the canary steps and their evidence\n"
        f"  driftpilot serve -w {root}             POST /v1/predict, /v1/predictions, /v1/labels,\n"
        f"                                         GET /features?ids=…, the dashboard at /ui\n"
        f"  driftpilot features status -w {root}   freshness and skew of the feature views\n"
        f"  driftpilot drift --reference {directory / 'training.parquet'} --current ...\n"
    )
