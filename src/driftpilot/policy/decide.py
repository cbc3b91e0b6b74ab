"""``decide(history, config, now)``: what the policy concludes, window by window.

Pure and deterministic: the same reports, configuration, reference and clock give the same
decisions, whatever order the reports come in. Every rule is judged on every closed window,
oldest first, so persistence and cooldowns follow from the history alone (nothing is read
from earlier runs):

- the rule's condition *holds* on a window, or fails, or cannot be judged yet (a
  performance condition before the window's labels arrive, a window below ``min_rows``):
  such a window is ``waiting`` (or ``too_small``) and changes nothing — it neither counts
  towards persistence nor opens or resolves an incident;
- the rule is *active* when it held in ``persistence.count`` of the last ``persistence.of``
  windows; active windows in a row form one *incident*;
- an incident *opens* (the rule's action is taken once) unless the previous opening is
  within ``cooldown`` (then the window is marked ``cooldown`` and nothing is taken); it
  *resolves* at the first window where the rule is no longer active.

Each (rule, window) gets a :class:`Decision` with a stable id and the evidence behind it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from driftpilot.errors import ConfigError
from driftpilot.policy.config import (
    RuleConfig,
    check_condition,
    default_rules,
    feature_store_rule,
)
from driftpilot.policy.evaluate import Context, Evidence, evaluate
from driftpilot.policy.language import parse_condition, parse_rule

if TYPE_CHECKING:
    from driftpilot.config import DriftpilotConfig
    from driftpilot.monitor.report import WindowReport
    from driftpilot.profile.model import Profile

__all__ = ["Decision", "Outcome", "decide", "effective_rules"]

CHECK_PREFIX = "features@"  # the window key of a feature-store check
Status = Literal["ok", "pending", "firing", "cooldown", "waiting", "too_small"]
EXIT_CODES = {"ok": 0, "warn": 1, "alert": 2}


@dataclass(frozen=True)
class Decision:
    id: str
    rule: str
    when: str
    window_key: str
    window_start: datetime | None
    window_end: datetime | None
    status: Status
    held: bool | None  # the condition held on this window (None: nothing to judge by yet)
    severity: str
    action: str
    acted: bool  # the rule's action is taken at this window (its incident opened here)
    incident: str | None  # the incident this window belongs to
    resolved: str | None  # the incident that cleared at this window
    persistence: str  # e.g. "held in 2 of the last 3 windows (needs 2)"
    evidence: tuple[Evidence, ...] = field(default=())
    summary: str = ""

    @property
    def active(self) -> bool:
        return self.status in ("firing", "cooldown")

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "evidence"}
        out["evidence"] = [e.to_dict() for e in self.evidence]
        for key in ("window_start", "window_end"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


@dataclass(frozen=True)
class Outcome:
    decisions: list[Decision]

    @property
    def latest_key(self) -> str | None:
        windows = [d.window_key for d in self.decisions if not _is_check(d.window_key)]
        return windows[-1] if windows else self.latest_check_key

    @property
    def latest_check_key(self) -> str | None:
        checks = [d.window_key for d in self.decisions if _is_check(d.window_key)]
        return checks[-1] if checks else None

    def latest(self) -> list[Decision]:
        """The decisions on the most recent judged window and the most recent feature check."""
        keys = {self.latest_key, self.latest_check_key}
        return [d for d in self.decisions if d.window_key in keys]

    @property
    def actions(self) -> list[Decision]:
        """Decisions that take an action (an incident opened) or resolve an incident."""
        return [d for d in self.decisions if d.acted or d.resolved]

    @property
    def level(self) -> Literal["ok", "warn", "alert"]:
        """The worst severity active on the most recent window."""
        active = {d.severity for d in self.latest() if d.active}
        return "alert" if "alert" in active else ("warn" if "warn" in active else "ok")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.level]


def _is_check(key: str) -> bool:
    return key.startswith(CHECK_PREFIX)


def effective_rules(config: DriftpilotConfig) -> dict[str, RuleConfig]:
    policy = config.policy
    if policy.rules is not None:
        return dict(policy.rules)
    return default_rules(
        config.model.task, list(config.monitor.segments), feature_store=config.features.enabled
    )


def _check_features(config: DriftpilotConfig, profile: Profile | None) -> None:
    """Feature names in conditions, against the reference when the config declares none."""
    if config.model.features or profile is None:
        return
    features = sorted(profile.features)
    parts = {f"policy.triggers.{n}": t for n, t in config.policy.triggers.items()}
    parts.update({f"policy.rules.{n}.when": r.when for n, r in effective_rules(config).items()})
    for where, text in parts.items():
        try:
            check_condition(
                parse_rule(text)[0],
                where=where,
                task=config.model.task,
                kpis=list(config.monitor.kpis),
                segments=list(config.monitor.segments),
                features=features,
                triggers=list(config.policy.triggers),
            )
        except ValueError as exc:
            raise ConfigError(str(exc), hint="fix the name in driftpilot.yaml") from None


def _closed(report: WindowReport, config: DriftpilotConfig, now: datetime) -> bool:
    if config.monitor.window == "rows":  # a row window closes when it is full
        return report.rows >= config.monitor.window_rows
    return report.window_end is not None and report.window_end <= now


def decision_id(rule: str, window_key: str) -> str:
    return hashlib.sha256(f"{rule}|{window_key}".encode()).hexdigest()[:12]


def decide(
    history: Sequence[WindowReport],
    config: DriftpilotConfig,
    now: datetime,
    *,
    profile: Profile | None = None,
    checks: Sequence[WindowReport] = (),
) -> Outcome:
    """Judge every rule on every closed window of ``history`` (see the module's docstring);
    rules on feature-store values are judged on the feature ``checks`` instead."""
    _check_features(config, profile)
    policy = config.policy
    ordered = sorted(history, key=lambda r: (r.window is None, r.window or now, r.window_key))
    judged = [r for r in ordered if policy.open_windows or _closed(r, config, now)]
    checked = sorted(
        (c for c in checks if c.window is not None and c.window <= now),
        key=lambda r: (r.window, r.window_key),
    )
    triggers = {name: parse_condition(text) for name, text in policy.triggers.items()}
    decisions: list[Decision] = []
    for name, rule in effective_rules(config).items():
        on_checks = feature_store_rule(rule.condition, triggers, f"policy.rules.{name}")
        series = checked if on_checks else judged
        decisions += _judge_rule(name, rule, series, triggers, profile, config)
    both = sorted([*judged, *checked], key=lambda r: (r.window or now, r.window_key))
    order = {r.window_key: i for i, r in enumerate(both)}
    decisions.sort(key=lambda d: (order[d.window_key], d.rule))
    return Outcome(decisions)


def _judge_rule(
    name: str,
    rule: RuleConfig,
    judged: list[WindowReport],
    triggers: dict[str, Any],
    profile: Profile | None,
    config: DriftpilotConfig,
) -> list[Decision]:
    policy = config.policy
    condition = rule.condition
    need, last = rule.persistence.count, rule.persistence.last
    cooldown = rule.cooldown_span()
    held_so_far: list[bool] = []
    incident: str | None = None
    opened_at: tuple[int, datetime | None] | None = None
    out = []
    status: Status = "ok"
    watch: frozenset[str] = frozenset()
    for index, report in enumerate(judged):
        ctx = Context(
            judged,
            index,
            profile,
            triggers,
            policy.k,
            policy.baseline_windows,
            rule.min_labels,
            watch=watch,
        )
        small = report.rows < rule.min_rows
        held: bool | None
        if small:
            held, evidence = None, [Evidence(f"rows >= {rule.min_rows}", False, report.rows)]
        else:
            held, evidence = evaluate(condition, ctx)
        acted, resolved = False, None
        if held is None:  # nothing to judge by: the rule's state carries on unchanged
            if status not in ("firing", "cooldown"):
                status = "too_small" if small else "waiting"
        else:
            held_so_far.append(held)
            watch = (
                frozenset(e.where for e in evidence if e.met and e.where) if held else frozenset()
            )
            active = sum(held_so_far[-last:]) >= need
            if not active:
                status = "pending" if held else "ok"
                resolved, incident = incident, None
            elif incident is not None:
                status = "firing"
            elif opened_at is not None and _cooling(opened_at, index, report.window_end, cooldown):
                status = "cooldown"
            else:
                incident = f"{name}@{report.window_key}"
                opened_at = (index, report.window_end)
                status, acted = "firing", True
        count = sum(held_so_far[-last:])
        out.append(
            Decision(
                id=decision_id(name, report.window_key),
                rule=name,
                when=rule.when,
                window_key=report.window_key,
                window_start=report.window,
                window_end=report.window_end,
                status=status,
                held=held,
                severity=rule.severity,
                action=rule.action,
                acted=acted,
                incident=incident if status == "firing" else None,
                resolved=resolved,
                persistence=f"held in {count} of the last {min(last, len(held_so_far))} "
                f"judged windows (it must hold in {rule.persistence.describe()})",
                evidence=tuple(evidence),
                summary=_summary(evidence),
            )
        )
    return out


def _cooling(
    opened: tuple[int, datetime | None],
    index: int,
    end: datetime | None,
    cooldown: int | timedelta,
) -> bool:
    if isinstance(cooldown, int):
        return index - opened[0] < cooldown
    if end is None or opened[1] is None:
        return False
    return end - opened[1] < cooldown


def _summary(evidence: list[Evidence]) -> str:
    """The parts that held (else every part), with values and thresholds, on one line."""
    parts = [e for e in evidence if not e.text.startswith("trigger ")]
    shown = [e for e in parts if e.met] or parts
    out = []
    for e in shown[:3]:
        value = "no value" if e.value is None else f"{e.value:.4g}"
        where = f" [{e.where}]" if e.where else ""
        against = f" vs {e.threshold:.4g}" if e.threshold is not None else ""
        out.append(f"{e.text}{where}: {value}{against}")
    return "; ".join(out)
