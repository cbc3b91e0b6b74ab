"""The demo's feature store: the churn features published to the workspace's Feast repository
as the weeks happen, and the act where materialization pauses and the features go stale.

The feature pipeline writes each customer observation to the two views' offline sources
(``customer_profile_v1``, ``customer_usage_v2``) when it happens; ``driftpilot check``
materializes each cycle (at most the last day: ``features.lookback``) and checks freshness
and skew; retrains join their training sets point in time from the offline store; the canary's
requests send only the customer id, and the server reads the features online.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd
from rich.markup import escape

from driftpilot.features.demo_repo import write_view_rows
from driftpilot.features.render import views_table

if TYPE_CHECKING:
    from rich.console import Console

    from driftpilot.demo.churn import ChurnScenario
    from driftpilot.workspace import Workspace

__all__ = ["FEATURES_CONFIG", "publish", "run_freshness_act"]

FEATURES_CONFIG = """\
features:
  repo: features
  views: [customer_profile_v1, customer_usage_v2]
  schedule: 1d          # materialized every cycle of `driftpilot check` / `driftpilot run`
  lookback: 1d          # the last day is what serving needs
  check_entities: 100
  skew_sample: 100
"""


def publish(workspace: Workspace, frame: pd.DataFrame, part: str) -> None:
    """The feature pipeline: the rows' features, at their timestamps, to the offline sources."""
    write_view_rows(workspace.root / "features", frame, part)


def _pause(workspace: Workspace, paused: bool) -> Workspace:
    from driftpilot.workspace import Workspace

    text = workspace.config_path.read_text(encoding="utf-8")
    text = text.replace("  materialize: false\n", "")
    if paused:
        text = text.replace("  schedule: 1d", "  materialize: false\n  schedule: 1d", 1)
    workspace.config_path.write_text(text, encoding="utf-8")
    return Workspace.open(workspace.root)


def run_freshness_act(
    workspace: Workspace,
    scenario: ChurnScenario,
    after: datetime,
    known: str,
    console: Console,
) -> datetime:
    """Materialization pauses for a week while the pipeline keeps writing: the cycle finds
    the views stale and alerts; it resumes, and the incident resolves. Returns the time the
    act ends."""
    from driftpilot.features.lookup import Lookup
    from driftpilot.policy.cycle import run_cycle

    console.print(
        "\n[bold]features[/]: the materialization job is paused (features.materialize: "
        "false) while the feature pipeline keeps writing; a week later:"
    )
    space = _pause(workspace, True)
    week = scenario.week(13).head(2000)
    # from a minute after the last materialization: a row at its very end, written later,
    # would be a value the online store lacks (skew)
    stamps = [
        after + timedelta(minutes=1) + timedelta(days=7 * i / len(week)) for i in range(len(week))
    ]
    week["timestamp"] = pd.to_datetime(stamps, utc=True).tz_localize(None)
    publish(space, week, "paused-week")
    later = after + timedelta(days=7)
    stale = run_cycle(space, now=later)
    for message in stale.sent:
        colour = "green" if message.alert.status == "resolved" else "red"
        console.print(f"   [{colour}]{escape(message.alert.title())}[/]")
    if stale.features is not None:
        console.print(views_table(stale.features))
    served = Lookup(space).get([known], now=later)["entities"][0]["features"]
    shown = ("tenure", "plan", "monthly_usage", "support_calls")
    console.print(
        f"   GET /features?ids={known} (materialized before the pause): "
        + ", ".join(f"{name} {served[name]['status']}" for name in shown)
        + " (usage is past its 7-day TTL: stale, never fresh)"
    )
    console.print("   materialization resumes:")
    space = _pause(space, False)
    resumed = run_cycle(space, now=later + timedelta(hours=1))
    for message in resumed.sent:
        colour = "green" if message.alert.status == "resolved" else "red"
        console.print(f"   [{colour}]{escape(message.alert.title())}[/]")
    if resumed.features is not None:
        console.print(views_table(resumed.features))
    return later + timedelta(hours=2)
