"""The report's summary: one verdict per area, the open incidents, the policy's latest calls."""

from __future__ import annotations

import json
from typing import Any

from driftpilot.monitor.report import WindowReport
from driftpilot.policy.decide import CHECK_PREFIX
from driftpilot.report.view import alert_floor
from driftpilot.workspace import Workspace

__all__ = ["decisions_part", "incidents_part", "policy_verdict", "verdicts"]

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
    out.append(_performance_verdict(reports, parts["performance"]))
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


def _performance_verdict(
    reports: list[WindowReport], performance: dict[str, Any]
) -> dict[str, str]:
    """The newest labeled window's ROC AUC against the reference it was judged against: an
    alert below the reference chunks' mean − 3σ, σ scaled to the window's labels (as the
    estimate's band)."""
    labeled = [r for r in reports if (r.performance or {}).get("roc_auc") is not None]
    if not labeled:
        return _verdict("performance", "none", "no labeled window yet")
    realized = labeled[-1].performance or {}
    auc, recall = realized["roc_auc"], realized.get("recall")
    # the reference the stored windows were judged against (one for all of them)
    base = (performance.get("reference") or {}).get("roc_auc")
    text = f"ROC AUC {auc:.3f}" + (f" (its reference {base:.3f})" if base is not None else "")
    if recall is not None:
        text += f", recall {recall:.3f}"
    text += f" in {labeled[-1].window_key[:10]}"
    spread = performance.get("spread") or {}
    floor = alert_floor(spread, "roc_auc", realized.get("labeled") or labeled[-1].rows)
    if floor is None:
        return _verdict(
            "performance", "ok" if base is None or auc >= base - 0.05 else "alert", text
        )
    status = "alert" if auc < floor else "ok"
    return _verdict("performance", status, text + f"; alert below {floor:.3f}")


def policy_verdict(workspace: Workspace) -> dict[str, str]:
    """The rules firing on the newest windows (the newest monitoring window and the newest
    feature check: the two lanes the policy judges)."""
    from driftpilot.policy.store import decision_rows

    rows = decision_rows(workspace, ["rule", "window_key", "window_start", "status", "severity"])
    newest: dict[bool, Any] = {}
    for row in rows:
        lane = row["window_key"].startswith(CHECK_PREFIX)
        if lane not in newest or row["window_start"] > newest[lane]:
            newest[lane] = row["window_start"]
    firing = [
        r
        for r in rows
        if r["status"] == "firing"
        and r["window_start"] == newest[r["window_key"].startswith(CHECK_PREFIX)]
    ]
    if not firing:
        return _verdict("policy", "ok" if rows else "none", "no rule fires on the newest windows")
    status = "alert" if any(r["severity"] == "alert" for r in firing) else "warn"
    return _verdict("policy", status, "firing: " + ", ".join(sorted({r["rule"] for r in firing})))


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
