"""The canary controller: start, analyse, advance, promote or roll back.

A challenger (a candidate that passed the gate) starts a canary at the first stage, or waits
for approval (``canary.approval: manual``: ``driftpilot canary step`` starts it). Each
analysis (:mod:`.analysis`) compares the challenger with the champion on the current stage's
traffic and decides, by :func:`plan`:

- any check failed → **rollback**: the version is tagged ``driftpilot.canary=rolled_back``
  with the reason (a version with that tag never starts a canary again), then the
  ``challenger`` alias is removed (servers stop routing to it at their next refresh), then
  the state tag;
- every check passed (the labeled metric may wait unless ``canary.require_labels``), the stage
  had ``min_requests`` challenger calls and lasted ``min_duration`` → **advance** to the next
  stage, or after the last one → **promote** (``champion`` moves, the old champion becomes
  ``previous``, the version's reference profile becomes the workspace's);
- otherwise **hold**, saying what it waits for.

Every step but a hold is recorded in the workspace's ``canary/`` table with the analysis as
evidence and announced to the alert sinks. Before acting, the state is read again: a canary
promoted, rolled back or moved by hand while it was analysed is left alone. A canary whose
challenger or champion was moved by hand is abandoned (recorded too); a new one starts only
for a challenger judged against the current champion (its ``parent`` tag). :func:`plan` is
pure; :func:`step` does the IO.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from driftpilot.canary.state import STATE_TAG, CanaryState

if TYPE_CHECKING:
    from driftpilot.canary.analysis import Analysis
    from driftpilot.canary.config import CanaryConfig
    from driftpilot.engine.backend import Engine
    from driftpilot.registry.client import Registry
    from driftpilot.workspace import Workspace

__all__ = ["Step", "analyse_state", "finish", "history", "plan", "preview", "start", "step"]

Action = Literal["start", "wait", "hold", "advance", "promote", "rollback", "abandon"]
OUTCOME_TAG = "driftpilot.canary"


@dataclass(frozen=True)
class Step:
    action: Action
    reason: str
    state: CanaryState
    analysis: Analysis | None = None
    stage_to: int | None = None

    @property
    def recorded(self) -> bool:
        return self.action != "hold"

    def summary(self) -> str:
        what = {
            "start": f"canary of version {self.state.version} started",
            "wait": f"canary of version {self.state.version} waits for approval",
            "hold": f"canary of version {self.state.version} holds at {self.state.stage_name}",
            "advance": f"canary of version {self.state.version} advances",
            "promote": f"version {self.state.version} promoted to champion",
            "rollback": f"version {self.state.version} rolled back",
            "abandon": f"canary of version {self.state.version} abandoned",
        }[self.action]
        return f"{what}: {self.reason}"


def _fmt(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def plan(
    state: CanaryState, analysis: Analysis, settings: CanaryConfig, now: datetime, metric: str
) -> Step:
    """The step a running canary takes after ``analysis`` (module docstring)."""
    failed = analysis.failed
    if failed:
        return Step("rollback", "; ".join(c.detail for c in failed), state, analysis)
    stage = settings.stages[min(state.stage, len(settings.stages) - 1)]
    waiting = []
    if analysis.challenger_calls < stage.min_requests:
        waiting.append(f"{analysis.challenger_calls}/{stage.min_requests} challenger calls")
    elapsed = now - state.stage_started
    if elapsed.total_seconds() < stage.seconds:
        waiting.append(f"{_fmt(elapsed)} of {stage.min_duration} in the stage")
    for check in analysis.checks:
        if check.status == "wait" and (check.name != metric or settings.require_labels):
            waiting.append(f"{check.name}: {check.detail}")
    if waiting:
        return Step("hold", "waiting for " + "; ".join(waiting), state, analysis)
    passed = "; ".join(f"{c.name}: {c.detail}" for c in analysis.checks)
    if state.stage + 1 < len(settings.stages):
        return Step("advance", passed, state, analysis, stage_to=state.stage + 1)
    return Step("promote", passed, state, analysis)


def start(
    workspace: Workspace, registry: Registry, version: str, champion: str, now: datetime
) -> Step:
    """A canary for ``version`` against ``champion``: running at the first stage, or waiting
    for approval."""
    settings = workspace.config.canary
    first = settings.stages[0]
    waiting = settings.approval == "manual"
    state = CanaryState(
        id=f"canary-v{version}-{now.astimezone(UTC):%Y%m%dT%H%M%S}",
        version=version,
        champion=champion,
        status="waiting" if waiting else "running",
        stage=0,
        stage_name=first.name,
        weight=first.weight,
        shadow=first.shadow,
        started=now,
        stage_started=now,
    )
    registry.set_model_tag(STATE_TAG, state.to_json())
    reason = (
        "canary.approval is manual: `driftpilot canary step` starts it"
        if waiting
        else f"stage {first.name}: weight {first.weight:.0%}, shadow {first.shadow:.0%}"
    )
    done = Step("wait" if waiting else "start", reason, state)
    _announce(workspace, done, now, by="controller")
    return done


def analyse_state(
    workspace: Workspace, state: CanaryState, now: datetime, engine: Engine | None = None
) -> Analysis:
    from driftpilot.canary.analysis import analyse
    from driftpilot.canary.traffic import read_arms
    from driftpilot.engine.backend import Engine as _Engine

    config = workspace.config
    engine = engine or _Engine.create(config.engine)
    challenger, champion = read_arms(
        engine,
        workspace,
        challenger=state.version,
        champion=state.champion,
        since=state.stage_started,
        until=now + timedelta(microseconds=1),
        baseline_since=state.started,
        min_champion=config.canary.min_evidence,
    )
    return analyse(
        challenger,
        champion,
        config.canary,
        task=config.model.task,
        metric=_metric(workspace),
        threshold=config.model.threshold,
        seed=config.retrain.seed,
    )


def preview(workspace: Workspace, state: CanaryState, now: datetime) -> Step:
    """The step the controller would take now, without taking it (``canary status``)."""
    if not state.live:
        return Step("wait", "waiting for approval: `driftpilot canary step`", state)
    analysis = analyse_state(workspace, state, now)
    return plan(state, analysis, workspace.config.canary, now, _metric(workspace))


def _metric(workspace: Workspace) -> str:
    config = workspace.config
    return config.canary.metric or config.retrain.gate.primary(config.model.task)


def step(
    workspace: Workspace,
    *,
    now: datetime | None = None,
    engine: Engine | None = None,
    registry: Registry | None = None,
    approve: bool = False,
) -> Step | None:
    """One controller step: start a canary for a new challenger, or analyse the running one
    and act. None when there is nothing to do (no challenger, or canaries are off)."""
    from driftpilot.registry.client import Registry as _Registry

    settings = workspace.config.canary
    now = now or datetime.now(UTC)
    registry = registry or _Registry(workspace)
    aliases, tags = registry.model_state()
    challenger, champion = aliases.get("challenger"), aliases.get("champion")
    state = CanaryState.from_tags(tags)
    if state is not None and (state.version != challenger or state.champion != champion):
        # its challenger or champion was moved by hand (or by a newer retrain): it ends here
        registry.delete_model_tag(STATE_TAG)
        moved = f"challenger is now {challenger}, champion {champion}"
        _announce(workspace, Step("abandon", moved, state), now, by="controller")
        state = None
    if state is None:
        if challenger is None or champion is None or not settings.enabled:
            return None
        info = registry.version(challenger)
        if info.tags.get(OUTCOME_TAG) is not None:
            return None  # a version already promoted or rolled back once is not tried again
        parent = info.tag("parent")
        if parent is not None and parent != champion:
            return None  # it was judged against another champion: not this pairing
        return start(workspace, registry, challenger, champion, now)
    if state.status == "waiting":
        if not approve:
            return Step("hold", "waiting for approval: `driftpilot canary step`", state)
        first = settings.stages[0]
        running = state.at_stage(0, first.name, first.weight, first.shadow, now)
        registry.set_model_tag(STATE_TAG, running.to_json())
        done = Step("start", f"approved; stage {first.name}", running)
        _announce(workspace, done, now, by="approval")
        return done
    analysis = analyse_state(workspace, state, now, engine)
    decided = plan(state, analysis, settings, now, _metric(workspace))
    return _apply(workspace, registry, decided, now, by="controller")


def _apply(
    workspace: Workspace, registry: Registry, decided: Step, now: datetime, *, by: str
) -> Step:
    state = decided.state
    if decided.recorded:  # the analysis took a while: act only on the canary it analysed
        aliases, tags = registry.model_state()
        if tags.get(STATE_TAG) != state.to_json() or aliases.get("challenger") != state.version:
            return Step("hold", "the canary changed while it was analysed", state)
    if decided.action == "advance" and decided.stage_to is not None:
        stage = workspace.config.canary.stages[decided.stage_to]
        moved = state.at_stage(decided.stage_to, stage.name, stage.weight, stage.shadow, now)
        registry.set_model_tag(STATE_TAG, moved.to_json())
    elif decided.action == "promote":
        from driftpilot.retrain.pipeline import promote_version

        promote_version(workspace, state.version)
        _announce(workspace, decided, now, by=by)  # promoted: recorded before the clean-up
        registry.set_version_tag(state.version, OUTCOME_TAG, "promoted")
        registry.delete_model_tag(STATE_TAG)
        return decided
    elif decided.action == "rollback":
        # the version is marked first (never started again), then taken out of traffic:
        # servers stop routing once the challenger alias no longer names it
        registry.set_version_tag(state.version, OUTCOME_TAG, "rolled_back")
        registry.set_version_tag(state.version, f"{OUTCOME_TAG}_reason", decided.reason[:4000])
        if registry.alias("challenger") == state.version:
            registry.delete_alias("challenger")
        registry.delete_model_tag(STATE_TAG)
    if decided.recorded:
        _announce(workspace, decided, now, by=by)
    return decided


def _current(workspace: Workspace, registry: Registry) -> CanaryState:
    from driftpilot.errors import ConfigError

    tags = registry.model_state()[1]
    state = CanaryState.from_tags(tags)
    if state is None:
        raise ConfigError(
            f"model {registry.name!r} has no canary in progress",
            hint="a canary starts when a retrained candidate becomes challenger; "
            "`driftpilot canary status` shows the state",
        )
    return state


def finish(
    workspace: Workspace,
    action: Literal["promote", "rollback"],
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> Step:
    """End the canary in progress by hand: promote its challenger now, whatever stage it is
    at, or take it out of traffic."""
    from driftpilot.registry.client import Registry as _Registry

    registry = _Registry(workspace)
    state = _current(workspace, registry)
    if registry.alias("challenger") != state.version:
        from driftpilot.errors import ConfigError

        raise ConfigError(
            f"the canary is of version {state.version} but the challenger alias is now "
            f"{registry.alias('challenger')}",
            hint="`driftpilot canary step` ends the stale canary; then act on the new one",
        )
    reason = reason or ("promoted by hand" if action == "promote" else "rolled back by hand")
    return _apply(workspace, registry, Step(action, reason, state), now or _now(), by="cli")


def _now() -> datetime:
    return datetime.now(UTC)


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.string()),
            ("canary", pa.string()),
            ("at", pa.timestamp("us", tz="UTC")),
            ("action", pa.string()),
            ("version", pa.string()),
            ("champion", pa.string()),
            ("stage", pa.string()),
            ("stage_to", pa.string()),
            ("reason", pa.string()),
            ("evidence", pa.string()),
            ("by", pa.string()),
        ]
    )


def _announce(workspace: Workspace, done: Step, now: datetime, *, by: str) -> None:
    """Record the step in the canary table and send it to the alert sinks."""
    from driftpilot.alerts.sinks import Alert, deliver
    from driftpilot.tables import upsert_rows

    state, stages = done.state, workspace.config.canary.stages
    stage_to = stages[done.stage_to].name if done.stage_to is not None else None
    evidence = {
        "version": state.version,
        "champion": state.champion,
        "stage": state.stage_name,
        "stage_to": stage_to,
        "weight": state.weight,
        "analysis": done.analysis.to_dict() if done.analysis else None,
    }
    row = {
        "id": f"{state.id}/{now.astimezone(UTC):%Y%m%dT%H%M%S%f}/{done.action}",
        "canary": state.id,
        "at": now,
        "action": done.action,
        "version": state.version,
        "champion": state.champion,
        "stage": state.stage_name,
        "stage_to": stage_to,
        "reason": done.reason,
        "evidence": json.dumps(evidence, default=str),
        "by": by,
    }
    upsert_rows(
        str(workspace.canary_path),
        [row],
        _schema(),
        "id",
        what="the canary step",
        hint="check that the workspace folder is writable",
    )
    alert = Alert(
        incident_id=state.id,
        rule="canary",
        severity="alert" if done.action == "rollback" else "warn",
        status="resolved" if done.action == "promote" else "open",
        action=done.action,
        summary=done.summary(),
        evidence=evidence,
        window_key=stage_to or state.stage_name,
        at=now,
    )
    deliver(alert, workspace.config.alerts.sinks, root=workspace.root)


def history(workspace: Workspace) -> list[dict[str, Any]]:
    """Recorded canary steps, oldest first."""
    from driftpilot.tables import read_rows

    rows = read_rows(str(workspace.canary_path))
    return sorted(rows, key=lambda r: (r["at"], r["id"]))
