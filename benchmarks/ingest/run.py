"""Ingestion and monitoring benchmark.

1. SDK batch ingestion: ``driftpilot.log_predictions`` of a data frame (validation included).
2. HTTP ingestion of single-row requests: ``driftpilot serve`` under ``wrk`` (one row per
   request, group commit on; every answered request is durable).
3. ``driftpilot monitor`` over 1,000,000 logged predictions with their labels (10 weekly
   windows, segments, KPIs, CBPE, detectors): wall time and peak memory, in its own process.

    uv run python benchmarks/ingest/run.py [--rows 1000000] [--repeats 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "benchmarks" / ".data" / "ingest"
CONFIG = """columns: {id: [customer_id], timestamp: timestamp, target: churn, prediction: score}
model: {name: churn, task: binary}
monitor:
  window: week
  segments: [region]
  kpis:
    churn_recall: {numerator: {count: true, over: [tp]}, denominator: {count: true, over: [tp, fn]}}
log: {flush_rows: 5000, flush_ms: 20}
"""


def fresh_workspace(name: str):
    from driftpilot.demo import ChurnScenario, stationary
    from driftpilot.profile.build import build_profile
    from driftpilot.workspace import Workspace, init_workspace

    root = DATA / name
    shutil.rmtree(root, ignore_errors=True)
    init_workspace(root)
    (root / "driftpilot.yaml").write_text(CONFIG)
    space = Workspace.open(root)
    s = ChurnScenario(seed=1, rows_per_week=20_000)
    reference = s.weeks(stationary(4))
    reference["score"] = s.churn_probability(reference)
    build_profile(reference, space.config).save(space.reference_path)
    return space


def traffic(rows: int, tag: str) -> pd.DataFrame:
    from driftpilot.demo import ChurnScenario, story

    weeks = 10
    s = ChurnScenario(seed=2, rows_per_week=rows // weeks)
    frame = s.weeks(story()[:weeks], first=2)
    frame["score"] = s.churn_probability(frame)
    frame["prediction_id"] = [f"{tag}-{i}" for i in range(len(frame))]
    frame["latency_ms"] = np.random.default_rng(3).gamma(2.0, 2.0, len(frame))
    return frame.rename(columns={"customer_id": "entity_id"})


def sdk(rows: int, repeats: int) -> dict:
    from driftpilot.log.writer import log_predictions

    space = fresh_workspace("sdk")
    timings, small = [], []
    for r in range(repeats):
        frame = traffic(rows, f"sdk{r}").drop(columns=["churn"])
        start = time.perf_counter()
        log_predictions(frame, workspace=space)
        timings.append(time.perf_counter() - start)
        again = frame.assign(prediction_id=frame["prediction_id"] + "b")
        step = len(again) // 10
        parts = [again.iloc[i : i + step] for i in range(0, len(again), step)]
        start = time.perf_counter()
        for part in parts:
            log_predictions(part, workspace=space)
        small.append(time.perf_counter() - start)
    one = rows / statistics.median(timings)
    batches = rows / statistics.median(small)
    print(
        f"  SDK: {one:,.0f} rows/s in one call of {rows:,}; {batches:,.0f} rows/s in calls of "
        f"{rows // 10:,}",
        flush=True,
    )
    return {"one_call_rows_per_s": one, "batched_rows_per_s": batches}


LUA = r"""
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"predictions":[{"prediction_id":"h-%d","entity_id":"c%d",'
    .. '"features":%s,"score":0.31,"latency_ms":2.5}]}', counter, counter, FEATURES)
  return wrk.format("POST", "/v1/predictions", {["Content-Type"] = "application/json"}, body)
end
"""


def http(seconds: int, connections: int) -> dict:
    import httpx

    space = fresh_workspace("http")
    features = json.dumps(
        {
            "tenure": 12,
            "monthly_usage": 10.5,
            "plan": "basic",
            "support_calls": 1,
            "region": "north",
            "payment_delay": 0,
            "contract": "monthly",
            "age": 40,
            "monthly_charge": 29.9,
            "num_products": 2,
            "autopay": True,
            "last_login_days": 3.0,
        }
    )
    script = DATA / "post.lua"
    script.write_text(LUA.replace("FEATURES", json.dumps(features).replace("%", "%%")))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "driftpilot", "serve", "-w", str(space.root), "--port", str(port)]
    )
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    rate = float(
        next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec"))
    )
    latency = {
        p: line.split()[1]
        for line in out.splitlines()
        for p in ("50%", "99%")
        if line.strip().startswith(p)
    }
    errors = [line for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    from driftpilot.engine.backend import Engine
    from driftpilot.log.read import predictions

    engine = Engine.create()
    stored = engine.execute(predictions(engine, space).count().as_table()).column(0)[0].as_py()
    print(
        f"  HTTP: {rate:,.0f} single-row requests/s ({connections} connections, {seconds} s), "
        f"p50 {latency.get('50%')}, p99 {latency.get('99%')}, {stored:,} rows stored"
        + (f"; {errors}" if errors else ""),
        flush=True,
    )
    return {
        "requests_per_s": rate,
        "p50": latency.get("50%"),
        "p99": latency.get("99%"),
        "stored": stored,
        "errors": errors,
    }


MONITOR = """
import time, json
from driftpilot.monitor.job import run_monitor
from driftpilot.workspace import Workspace
start = time.perf_counter()
result = run_monitor(Workspace.open({root!r}), everything=True)
seconds = time.perf_counter() - start
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak, "windows": len(result.computed)}}))
"""


def monitor(rows: int, repeats: int) -> dict:
    from driftpilot.log.writer import log_labels, log_predictions

    space = fresh_workspace("monitor")
    frame = traffic(rows, "m")
    log_predictions(frame.drop(columns=["churn"]), workspace=space)
    log_labels(
        pd.DataFrame({"prediction_id": frame["prediction_id"], "label": frame["churn"]}),
        workspace=space,
    )
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", MONITOR.format(root=str(space.root))],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    seconds = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_mb"] for r in runs)
    print(
        f"  monitor: {rows:,} predictions with labels, {runs[0]['windows']} windows: "
        f"{seconds:.2f} s, peak {peak:.0f} MB",
        flush=True,
    )
    return {"seconds": seconds, "peak_mb": peak, "windows": runs[0]["windows"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[64, 512])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk is needed for the HTTP benchmark: apt-get install wrk (make bench does)"
        )
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"ingest benchmark ({os.cpu_count()} cores):", flush=True)
    results = {
        "sdk": sdk(args.rows, args.repeats),
        "http": {c: http(args.seconds, c) for c in args.connections},
        "monitor": monitor(args.rows, args.repeats),
    }
    print()
    print("| measure | result | target |")
    print("| --- | ---: | ---: |")
    print(
        f"| SDK batch ingestion (one call of {args.rows:,} rows) | "
        f"{results['sdk']['one_call_rows_per_s']:,.0f} rows/s | ≥ 200,000 rows/s |"
    )
    print(
        f"| SDK batch ingestion (calls of {args.rows // 10:,} rows) | "
        f"{results['sdk']['batched_rows_per_s']:,.0f} rows/s | |"
    )
    for connections, found in results["http"].items():
        print(
            f"| HTTP, single-row requests, group commit, {connections} connections | "
            f"{found['requests_per_s']:,.0f} rows/s (p50 {found['p50']}, p99 {found['p99']}) "
            f"| ≥ 5,000 rows/s |"
        )
    print(
        f"| `driftpilot monitor`, {args.rows:,} predictions with labels | "
        f"{results['monitor']['seconds']:.2f} s, {results['monitor']['peak_mb']:.0f} MB peak | |"
    )
    (DATA / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
