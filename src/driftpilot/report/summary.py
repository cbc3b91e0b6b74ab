"""The report's summary: one verdict per area, the open incidents, the policy's latest calls."""

from __future__ import annotations

import json
from typing import Any

from driftpilot.monitor.report import WindowReport
from driftpilot.workspace import Workspace

__all__ = ["decisions_part", "incidents_part", "verdicts"]

MAX_DECISIONS = 15


def _verdict(area: str, status: str, text: str) -> dict[str, str]:
    return {"area": area, "status": status, "text": text}


def verdicts(reports: list[WindowReport], parts: dict[str, Any]) -> list[dict[str, str]]:
    """ok / warn / alert / none per area, judged on the newest window (labels: the newest
    labeled one)."""
    if not reports:
        return [_verdict("windows", "none", "no window reports yet: run `driftpilot monitor`")]
    latest = reports[-1]
    drifted = latest.dataset.drifted_features
    out = [
        _verdict(
            "data drift",
            "warn" if drifted else "ok",
            f"{len(drifted)} of {latest.dataset.features_checked} features drifted"
            + (f": {', '.join(drifted)}" if drifted else ""),
        )
    ]
    issues = latest.dataset.quality_issues
    out.append(
        _verdict(
            "data quality",
            "alert" if issues else "ok",
            "; ".join(f"{n}: {', '.join(i)}" for n, i in issues.items()) or "no issues",
        )
    )
    out.append(_performance_verdict(reports, parts["performance"].get("reference") or {}))
    estimate = latest.estimate or {}
    if estimate.get("roc_auc") is not None:
        alerts = estimate.get("alerts") or []
        out.append(
            _verdict(
                "estimated performance",
                "warn" if alerts else "ok",
                f"ROC AUC {estimate['roc_auc']:.3f} without labels"
                + (f": {'; '.join(alerts)}" if alerts else ""),
            )
        )
    features = parts.get("features") or {}
    latest_check = features.get("latest")
    if latest_check:
        stale = latest_check.get("stale_views") or []
        out.append(
            _verdict(
                "feature store",
                "alert" if stale else "ok",
                f"stale: {', '.join(stale)}" if stale else "every feature view fresh",
            )
        )
    return out


def _performance_verdict(reports: list[WindowReport], reference: dict[str, Any]) -> dict[str, str]:
    labeled = [r for r in reports if (r.performance or {}).get("roc_auc") is not None]
    if not labeled:
        return _verdict("performance", "none", "no labeled window yet")
    performance = labeled[-1].performance or {}
    auc, recall = performance["roc_auc"], performance.get("recall")
    base = reference.get("roc_auc")
    drop = None if base is None else base - auc
    text = f"ROC AUC {auc:.3f}" + (f" (reference {base:.3f})" if base is not None else "")
    if recall is not None:
        text += f", recall {recall:.3f}"
    text += f" in {labeled[-1].window_key[:10]}"
    status = "ok" if drop is None or drop <= 0.05 else "alert"
    return _verdict("performance", status, text)


def incidents_part(workspace: Workspace) -> list[dict[str, Any]]:
    """Incidents whose last message is not a resolution, newest first."""
    from driftpilot.policy.store import sent_rows

    last: dict[str, dict[str, Any]] = {}
    for row in sorted(sent_rows(workspace), key=lambda r: r["sent_at"]):
        first = last.get(row["incident"], {}).get("since", row["sent_at"])
        last[row["incident"]] = {**row, "since": first}
    open_ = [r for r in last.values() if r["status"] != "resolved"]
    open_.sort(key=lambda r: r["sent_at"], reverse=True)
    return [
        {
            "rule": r["rule"],
            "window": r["window_key"],
            "status": r["status"],
            "since": r["since"].isoformat(timespec="minutes"),
        }
        for r in open_
    ]


def decisions_part(workspace: Workspace) -> list[dict[str, Any]]:
    """The decisions of the newest windows that were not ``ok`` (firing, pending, cooldown,
    waiting): the latest call on each window, newest window first."""
    from driftpilot.policy.store import decision_rows

    rows = decision_rows(
        workspace,
        [
            "decision_id",
            "rule",
            "window_key",
            "status",
            "action",
            "acted",
            "window_start",
            "decided_at",
            "decision",
        ],
    )
    rows = [r for r in rows if r["status"] != "ok"]
    rows.sort(key=lambda r: (r["window_start"], r["decided_at"], r["rule"]), reverse=True)
    return [
        {
            "id": r["decision_id"],
            "rule": r["rule"],
            "window": r["window_key"],
            "status": r["status"],
            "action": r["action"],
            "acted": bool(r["acted"]),
            "decided_at": r["decided_at"].isoformat(timespec="minutes"),
            "summary": json.loads(r["decision"]).get("summary", ""),
        }
        for r in rows[:MAX_DECISIONS]
    ]
