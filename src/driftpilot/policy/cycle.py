"""One policy cycle (``driftpilot check``) and the embedded scheduler (``driftpilot run``).

A cycle runs the monitor for windows that changed, decides on the whole history, stores the
decisions, sends incident messages, retrains for firing ``retrain`` incidents, takes the
canary controller's step (start, analyse, advance, promote, roll back), logs the new
window values to MLflow (when the workspace has a model registry) and writes the Prometheus
textfile. A retrain or MLflow failure is logged and reported in the result; it never stops
the alerts. Every step is idempotent, so the same cycle can run from cron, Airflow or a
Kubernetes CronJob as ``driftpilot check``; ``driftpilot run`` repeats it on each window close
(plus a grace period for late events) and at least every ``schedule.interval`` (every
``canary.interval`` while a canary is in progress), retries a failed cycle with backoff and
stops cleanly on SIGINT/SIGTERM after the cycle in progress.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from driftpilot.policy.config import parse_duration
from driftpilot.registry.client import in_use

if TYPE_CHECKING:
    from collections.abc import Callable

    from driftpilot.canary.controller import Step
    from driftpilot.engine.backend import Engine
    from driftpilot.features.check import FeatureCheck
    from driftpilot.monitor.job import MonitorResult
    from driftpilot.monitor.report import WindowReport
    from driftpilot.policy.act import Sent
    from driftpilot.policy.decide import Outcome
    from driftpilot.registry.client import Registry
    from driftpilot.retrain.pipeline import RetrainResult
    from driftpilot.workspace import Workspace

__all__ = ["CycleResult", "next_close", "run_cycle", "run_schedule"]

log = logging.getLogger("driftpilot.schedule")
_ENDED = ("promote", "rollback")


@dataclass
class CycleResult:
    monitor: MonitorResult
    outcome: Outcome
    sent: list[Sent] = field(default_factory=list)
    textfile: str | None = None
    retrains: list[RetrainResult] = field(default_factory=list)
    canary: Step | None = None  # the canary controller's step, when a canary ran
    canary_failed: bool = False  # the step raised: the canary is tried again soon
    errors: list[str] = field(default_factory=list)  # effects that failed (retrain, MLflow)
    materialized: list[dict[str, Any]] = field(default_factory=list)  # views loaded online
    features: FeatureCheck | None = None  # the feature-store check of this cycle


def run_cycle(
    workspace: Workspace,
    *,
    now: datetime | None = None,
    engine: Engine | None = None,
    send: bool = True,
    deliver: Callable[..., Any] | None = None,
) -> CycleResult:
    """Monitor, decide, store the decisions, notify, write the textfile."""
    from driftpilot.monitor.job import run_monitor
    from driftpilot.monitor.report import history
    from driftpilot.policy.act import notify
    from driftpilot.policy.decide import decide
    from driftpilot.policy.prometheus import write_textfile
    from driftpilot.policy.store import store_decisions

    now = now or datetime.now(UTC)
    monitored = run_monitor(workspace, engine=engine, now=now)
    profile = workspace.reference()
    problems: list[str] = []
    materialized, check, checks = _feature_store(workspace, now, problems)
    outcome = decide(history(workspace), workspace.config, now, profile=profile, checks=checks)
    store_decisions(workspace, outcome.decisions, now)
    sent = notify(workspace, outcome, now, deliver=deliver) if send else []
    result = CycleResult(monitored, outcome, sent, materialized=materialized, features=check)
    for problem in problems:
        _effect_failed(result, problem)
    if in_use(workspace):
        _model_effects(workspace, result, now, engine, retrain=send)
    textfile = workspace.config.schedule.textfile
    result.textfile = str(write_textfile(workspace, textfile)) if textfile else None
    return result


def _feature_store(
    workspace: Workspace, now: datetime, problems: list[str]
) -> tuple[list[dict[str, Any]], FeatureCheck | None, list[WindowReport]]:
    """Materialize when the schedule says so, check freshness and skew, and return the
    stored checks the policy judges. A feature store that fails is reported, not raised:
    the window rules still decide."""
    settings = workspace.config.features
    if not settings.enabled:
        return [], None, []
    from driftpilot.features.check import FeatureCheck, check_features, recent_checks, store_check
    from driftpilot.features.store import FeatureRepo

    materialized: list[dict[str, Any]] = []
    try:
        repo = FeatureRepo(workspace)
        if settings.materialize:
            every = parse_duration(settings.schedule)
            due = [
                name
                for name, view in repo.views().items()
                if view.last_materialized is None or now - view.last_materialized >= every
            ]
            if due:
                try:
                    materialized = repo.materialize(now, due)
                except Exception as exc:  # reported; the check says what it left behind
                    problems.append(f"materialization failed: {exc}")
        check = check_features(workspace, now, repo=repo)
    except Exception as exc:  # Feast down or broken: a failed check, so stale rules fire
        problems.append(f"the feature-store check failed: {exc}")
        check = FeatureCheck.failed(workspace, now, f"{type(exc).__name__}: {exc}")
    try:
        store_check(workspace, check)
    except Exception as exc:  # the workspace's table: reported, the window rules still decide
        problems.append(f"the feature-store check was not stored: {exc}")
    return materialized, check, recent_checks(workspace)


def _model_effects(
    workspace: Workspace,
    result: CycleResult,
    now: datetime,
    engine: Engine | None,
    *,
    retrain: bool,
) -> None:
    """Window metrics to MLflow, the retrains the policy asks for, then the canary's step
    (a challenger the retrain produced starts its canary in the same cycle)."""
    from driftpilot.canary.controller import step as canary_step
    from driftpilot.monitor.report import history
    from driftpilot.registry.client import Registry
    from driftpilot.registry.monitoring import log_windows

    registry = Registry(workspace)
    try:
        champion = registry.alias("champion")
        if result.monitor.computed:
            log_windows(registry, history(workspace), result.monitor.computed, champion=champion)
    except Exception as exc:  # MLflow down or broken must not stop the cycle's other effects
        _effect_failed(result, f"window metrics were not logged to MLflow: {exc}")
        return
    if not retrain or champion is None:
        return
    _retrain(workspace, registry, result, now, engine)
    try:
        result.canary = canary_step(workspace, now=now, engine=engine, registry=registry)
    except Exception as exc:  # as above: the canary is analysed again next cycle
        result.canary_failed = True
        _effect_failed(result, f"the canary step failed: {exc}")


def _retrain(
    workspace: Workspace,
    registry: Registry,
    result: CycleResult,
    now: datetime,
    engine: Engine | None,
) -> None:
    from driftpilot.policy.act import retrain_requests
    from driftpilot.policy.store import sent_rows
    from driftpilot.retrain.pipeline import retrain as run_retrain

    requests = retrain_requests(result.outcome, sent_rows(workspace))
    try:
        pending = [d for d in requests if registry.find_decision(d.id) is None]
    except Exception as exc:  # as above
        _effect_failed(result, f"retrains were not checked: {exc}")
        return
    if not pending:
        return
    # one retrain answers every incident of the cycle: same data, same champion
    first = pending[0]
    reason = "; ".join(f"{d.rule}: {d.summary}" for d in pending)[:500]
    try:
        done = run_retrain(workspace, decision=first.id, now=now, engine=engine, reason=reason)
    except Exception as exc:  # a trainer's or MLflow's failure is reported, not raised
        rules = ", ".join(f"{d.rule} ({d.id})" for d in pending)
        _effect_failed(result, f"retrain for {rules} failed: {exc}")
        return
    if not done.existing:
        result.retrains.append(done)
    for other in pending[1:]:
        try:
            registry.link_decision(done.version.version, other.id)
        except Exception as exc:  # the retrain stands; the link is tried again next cycle
            _effect_failed(
                result,
                f"version {done.version.version} was not linked to decision {other.id}: {exc}",
            )


def _effect_failed(result: CycleResult, message: str) -> None:
    result.errors.append(message)
    log.warning("%s", message)


def next_close(now: datetime, unit: str) -> datetime | None:
    """When the window containing ``now`` closes (None for row windows)."""
    start = now.astimezone(UTC)
    if unit == "hour":
        return start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day + timedelta(days=1)
    if unit == "week":  # windows start on Mondays, like the engines' week truncation
        return day + timedelta(days=7 - day.weekday())
    if unit == "month":
        return (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return None


def _wait_seconds(workspace: Workspace, now: datetime) -> float:
    schedule = workspace.config.schedule
    interval = parse_duration(schedule.interval)
    wake = now + interval
    close = next_close(now, workspace.config.monitor.window)
    if close is not None:
        wake = min(wake, close + parse_duration(schedule.grace))
    return max((wake - now).total_seconds(), 1.0)


def run_schedule(
    workspace: Workspace,
    *,
    stop: threading.Event | None = None,
    cycles: int | None = None,
    clock: Callable[[], datetime] | None = None,
    on_cycle: Callable[[CycleResult], None] | None = None,
    handle_signals: bool = True,
) -> int:
    """Run cycles until stopped (or ``cycles`` attempts); returns the number of good cycles."""
    stop = stop or threading.Event()
    clock = clock or (lambda: datetime.now(UTC))
    schedule = workspace.config.schedule
    retry = parse_duration(schedule.retry).total_seconds()
    most = parse_duration(schedule.max_retry).total_seconds()
    previous: dict[signal.Signals, Any] = {}
    if handle_signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    good = failures = attempts = 0
    try:
        while not stop.is_set() and (cycles is None or attempts < cycles):
            attempts += 1
            now = clock()
            try:
                result = run_cycle(workspace, now=now)
            except Exception:  # a failing cycle is logged and retried; the scheduler lives on
                failures += 1
                wait = min(retry * 2 ** min(failures - 1, 30), most)
                log.exception(
                    "policy cycle failed (attempt %d); retrying in %.0f s", failures, wait
                )
            else:
                good, failures = good + 1, 0
                wait = _wait_seconds(workspace, clock())
                live = result.canary is not None and result.canary.action not in _ENDED
                if live or result.canary_failed:
                    # a canary in progress is analysed every canary.interval
                    wait = min(
                        wait, parse_duration(workspace.config.canary.interval).total_seconds()
                    )
                log.info(
                    "cycle done: %d windows computed, level %s; next in %.0f s",
                    len(result.monitor.computed),
                    result.outcome.level,
                    wait,
                )
                if on_cycle is not None:
                    on_cycle(result)
            if cycles is not None and attempts >= cycles:
                break
            stop.wait(wait)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("scheduler stopped after %d good cycles", good)
    return good
