"""The state of a canary rollout, shared by the controller and every serving replica.

It lives in one tag of the registered model (``driftpilot.canary``, JSON), beside the
aliases: a server reads aliases and state with one registry call, so every replica of
``driftpilot serve`` routes by the same weights, and the controller (``driftpilot run`` or
``driftpilot canary``) may run anywhere that reaches the registry. No tag: no canary, the
champion answers everything.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["STATE_TAG", "CanaryState"]

STATE_TAG = "driftpilot.canary"
Status = Literal["waiting", "running"]


@dataclass(frozen=True)
class CanaryState:
    """A canary of ``version`` against ``champion``: at ``stage`` (an index into
    ``canary.stages``) since ``stage_started``; the stage's ``weight`` and ``shadow`` share
    travel with it so servers need no configuration to route."""

    id: str
    version: str
    champion: str
    status: Status
    stage: int
    stage_name: str
    weight: float
    shadow: float
    started: datetime
    stage_started: datetime

    @property
    def live(self) -> bool:
        return self.status == "running"

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data["started"] = self.started.isoformat()
        data["stage_started"] = self.stage_started.isoformat()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CanaryState | None:
        """The state, or None for a tag that is not one (never raises: a server keeps serving
        the champion when the tag is damaged)."""
        try:
            data = json.loads(text)
            data["started"] = _time(data["started"])
            data["stage_started"] = _time(data["stage_started"])
            data["weight"], data["shadow"] = float(data["weight"]), float(data["shadow"])
            data["stage"] = int(data["stage"])
            state = cls(**data)
        except (ValueError, TypeError, KeyError):
            return None
        ok = state.status in ("waiting", "running") and 0 <= state.weight <= 1
        return state if ok and 0 <= state.shadow <= 1 else None

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> CanaryState | None:
        """The state in a registered model's tags, or None (no tag, or a damaged one)."""
        return cls.from_json(tags[STATE_TAG]) if STATE_TAG in tags else None

    def at_stage(self, stage: int, name: str, weight: float, shadow: float, now: datetime) -> Any:
        return replace(
            self,
            status="running",
            stage=stage,
            stage_name=name,
            weight=weight,
            shadow=shadow,
            stage_started=now,
        )


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
