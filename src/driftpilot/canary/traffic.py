"""What the champion and the challenger answered in a window, read from the event log.

The challenger's arm is its canary answers (predictions table, route ``canary``) and its
shadow scores (shadow table); the champion's is its answers on route ``champion`` (rows the
champion answered for a failed challenger, route ``fallback``, belong to neither). Failed
calls come from the errors table. Labels join each row by its prediction id (shadow rows
carry the id of the request they shadowed, so the request's label is theirs too).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from driftpilot.canary.analysis import Arm

if TYPE_CHECKING:
    import pandas as pd

    from driftpilot.engine.backend import Engine
    from driftpilot.workspace import Workspace

__all__ = ["read_arms"]


def _rows(
    engine: Engine, workspace: Workspace, versions: list[str], since: datetime, until: datetime
) -> pd.DataFrame:
    import ibis
    import pandas as pd
    from deltalake import DeltaTable

    from driftpilot.log.read import labeled_predictions

    frames = []
    for path in (workspace.predictions_path, workspace.shadow_path):
        if not DeltaTable.is_deltatable(str(path)):
            continue
        table = labeled_predictions(engine, workspace, path)
        table = table.filter(
            (table.timestamp >= since)
            & (table.timestamp < until)
            & table.model_version.isin(versions)
            & table.route.isin(["champion", "canary", "shadow"])
        ).select(
            "model_version",
            "route",
            "latency_ms",
            "label",
            value=ibis.coalesce(table.score, table.prediction),
        )
        frames.append(engine.execute(table).to_pandas())
    if not frames:
        return pd.DataFrame(columns=["model_version", "route", "latency_ms", "label", "value"])
    joined: pd.DataFrame = pd.concat(frames, ignore_index=True)
    return joined


def _errors(
    engine: Engine, workspace: Workspace, versions: list[str], since: datetime, until: datetime
) -> dict[tuple[str, str], int]:
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(str(workspace.errors_path)):
        return {}
    table = engine.delta(workspace.errors_path)
    within = table.filter(
        (table.timestamp >= since) & (table.timestamp < until) & table.model_version.isin(versions)
    )
    counted = within.group_by(["model_version", "route"]).aggregate(n=within.count())
    out = engine.execute(counted).to_pylist()
    return {(r["model_version"], r["route"]): int(r["n"]) for r in out}


def _arm(rows: pd.DataFrame, errors: int) -> Arm:
    labeled = rows[rows["label"].notna()]
    return Arm(
        scores=rows["value"].to_numpy(dtype=np.float64),
        latency_ms=rows.loc[rows["route"] != "shadow", "latency_ms"].dropna().to_numpy(np.float64),
        errors=errors,
        labels=labeled["label"].to_numpy(dtype=np.float64),
        labeled_scores=labeled["value"].to_numpy(dtype=np.float64),
    )


def read_arms(
    engine: Engine,
    workspace: Workspace,
    *,
    challenger: str,
    champion: str,
    since: datetime,
    until: datetime,
    baseline_since: datetime | None = None,
    min_champion: int = 1,
) -> tuple[Arm, Arm]:
    """The challenger's and the champion's arms for ``[since, until)``. When the champion
    answered fewer than ``min_champion`` calls there (the last, 100 % stage), its arm is read
    from ``baseline_since`` instead (the canary's start)."""
    versions = [challenger, champion]
    rows = _rows(engine, workspace, versions, since, until)
    errors = _errors(engine, workspace, versions, since, until)
    mine = rows[(rows["model_version"] == challenger) & rows["route"].isin(["canary", "shadow"])]
    theirs = rows[(rows["model_version"] == champion) & (rows["route"] == "champion")]
    champion_errors = errors.get((champion, "champion"), 0)
    if len(theirs) < min_champion and baseline_since is not None and baseline_since < since:
        wider = _rows(engine, workspace, [champion], baseline_since, until)
        theirs = wider[wider["route"] == "champion"]
        champion_errors = _errors(engine, workspace, [champion], baseline_since, until).get(
            (champion, "champion"), 0
        )
    challenger_errors = sum(n for (v, _), n in errors.items() if v == challenger)
    return _arm(mine, challenger_errors), _arm(theirs, champion_errors)
