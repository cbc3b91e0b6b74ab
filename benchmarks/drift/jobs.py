"""One measured job per process: ``python jobs.py TOOL REFERENCE CURRENT``.

Prints one JSON line: the job's wall time (imports excluded, reading the files included) and
the process's peak resident memory. Runs under driftpilot's environment (``driftpilot``,
``bare``) or Evidently's own (``evidently``).
"""

from __future__ import annotations

import json
import resource
import sys
import time


def driftpilot_job(reference: str, current: str) -> dict[str, object]:
    from driftpilot.drift import compare
    from driftpilot.engine.backend import Engine
    from driftpilot.engine.windows import count_windows
    from driftpilot.profile.build import build_profile

    engine = Engine.create()
    engine.execute(engine.table(reference).count().as_table())  # engine start-up, not the job
    start = time.perf_counter()
    profile = build_profile(reference, engine=engine)
    (window,) = count_windows(engine, current, profile)
    report = compare(profile, window)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "drifted": sorted(report.dataset.drifted_features)}


def bare_job(reference: str, current: str) -> dict[str, object]:
    import duckdb
    import pyarrow.parquet as pq

    names = pq.read_schema(reference).names
    con = duckdb.connect()
    con.sql("SELECT 1").fetchall()
    numeric = [n for n in names if n.startswith("num")]
    text = [n for n in names if n.startswith("cat")]
    parts = [f'sum("{n}")' for n in numeric] + [f'sum(length("{n}"))' for n in text]
    start = time.perf_counter()
    for path in (reference, current):
        con.sql(f"SELECT {', '.join(parts)} FROM read_parquet('{path}')").fetchall()  # noqa: S608
    return {"seconds": time.perf_counter() - start}


def evidently_job(reference: str, current: str) -> dict[str, object]:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    start = time.perf_counter()
    ref = pd.read_parquet(reference)
    cur = pd.read_parquet(current)
    snapshot = Report([DataDriftPreset()]).run(cur, ref)
    seconds = time.perf_counter() - start
    drifted = sorted(
        str(m["config"].get("column", m["metric_name"]))
        for m in snapshot.dict()["metrics"]
        if "ValueDrift" in m["metric_name"] and m["value"] is not None and _drift(m)
    )
    return {"seconds": seconds, "drifted": drifted}


def _drift(metric: dict) -> bool:
    config = metric.get("config", {})
    threshold = config.get("threshold")
    value = metric["value"]
    if threshold is None or not isinstance(value, (int, float)):
        return False
    method = str(config.get("method", ""))
    return value < threshold if "p_value" in method else value >= threshold


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would include the parent's before exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


JOBS = {"driftpilot": driftpilot_job, "bare": bare_job, "evidently": evidently_job}

if __name__ == "__main__":
    tool, reference, current = sys.argv[1:4]
    result = JOBS[tool](reference, current)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
