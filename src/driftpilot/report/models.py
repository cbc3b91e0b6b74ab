"""The report's model part: the registry's versions and the timeline of what happened to them.

Events are placed at the time the deployment lived them, so the timeline lines up with the
windows: a version at the end of its training data (a retrain trains on the window that ends
when it runs), a canary step when the controller took it (the workspace's clock, which the
demo simulates).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from driftpilot.workspace import Workspace

__all__ = ["model_part", "run_link", "short_reason"]


def short_reason(reason: str) -> str:
    """The rules a retrain was for (its reason reads ``rule: evidence; rule: evidence``), or
    the reason as given."""
    heads = [part.split(":")[0].strip() for part in reason.split(";") if ":" in part]
    rules = [head for head in heads if re.fullmatch(r"\w+", head)]
    return f"retrained for {', '.join(rules)}" if rules else reason


def run_link(mlflow_url: str | None, experiment: str, run_id: str | None) -> str | None:
    """The ``mlflow ui`` page of a run."""
    if not mlflow_url or not run_id:
        return None
    return f"{mlflow_url.rstrip('/')}/#/experiments/{experiment}/runs/{run_id}"


def model_part(workspace: Workspace, mlflow_url: str | None) -> dict[str, Any]:
    from driftpilot.registry.client import Registry, in_use

    if not in_use(workspace):
        return {"versions": [], "timeline": [], "uri": None}
    from driftpilot.canary.controller import history as canary_history
    from driftpilot.registry.monitoring import monitoring_runs

    registry = Registry(workspace)
    experiment = registry.experiment_id()
    monitoring = monitoring_runs(registry)
    aliases = registry.aliases()
    versions, timeline = [], []
    for v in registry.versions():
        decision = v.tag("decision") or ""
        at = _instant(v.tag("window_end")) or _epoch(v.created)
        versions.append(
            {
                "version": v.version,
                "aliases": sorted(a for a, version in aliases.items() if version == v.version),
                "gate": v.tag("gate") or "",
                "gate_reason": v.tag("gate_reason") or "",
                "reason": short_reason(v.tag("reason") or ""),
                "reason_detail": v.tag("reason") or "",
                "decision": decision,
                "parent": v.tag("parent") or "",
                "rows": v.tag("rows") or "",
                "canary": v.tags.get("driftpilot.canary", ""),
                "trained_at": at,
                "run_id": v.run_id,
                "run_url": run_link(mlflow_url, experiment, v.run_id),
                "monitoring_url": run_link(mlflow_url, experiment, monitoring.get(v.version)),
            }
        )
        kind = "registered" if decision in ("register", "") else "retrained"
        text = f"version {v.version} {kind}" + (f" ({v.tag('reason')})" if v.tag("reason") else "")
        timeline.append({"at": at, "version": v.version, "kind": kind, "text": text})
    for step in canary_history(workspace):
        stage = step["stage_to"] or step["stage"]
        timeline.append(
            {
                "at": step["at"].isoformat(timespec="minutes"),
                "version": step["version"],
                "kind": f"canary {step['action']}",
                "text": f"version {step['version']}: {step['action']} → {stage}: {step['reason']}",
            }
        )
    timeline.sort(key=lambda e: e["at"])
    return {
        "uri": registry.uri,
        "experiment": experiment,
        "aliases": aliases,
        "versions": versions,
        "timeline": timeline,
    }


def _instant(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC).isoformat(timespec="minutes")
    except ValueError:
        return None


def _epoch(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat(timespec="minutes")
