"""Online feature lookups: ``GET /features`` of ``driftpilot serve`` against Feast's own feature
server (``feast serve``, ``POST /get-online-features``), same repository, same entities.

One workspace (temporary) with the churn demo's Feast repository: a week of the churn story
(20,000 customer observations) written to both views' offline sources, applied and
materialized into the SQLite online store. Both servers read that one online store; each is
started on its own (never both under load at once) on 127.0.0.1 with one worker:

- driftpilot: ``GET /features?ids=ID`` (all 12 features of both views, each with its event
  time, view, version and freshness status);
- Feast: ``feast serve --no-access-log --max-requests 0`` (restarting its worker every 1,000
  requests, its default, would charge it for restarts), ``POST /get-online-features`` with the
  12 feature references and ``{"customer_id": [ID]}``.

Each server gets the same sequence of single-entity requests (1,000 materialized customers
cycled) in open-loop phases at fixed rates, latency measured from each request's scheduled send
time (no coordinated omission; the serve benchmark's load generator), then a closed-loop peak.
The rounds alternate which server goes first; the medians over rounds are reported, with the
ratio driftpilot / Feast. Target: driftpilot's p50 and p99 no worse than Feast's.

    uv run python benchmarks/features/run.py [--quick] [--rounds 3] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVE = HERE.parent / "serve" / "run.py"
_spec = importlib.util.spec_from_file_location("serve_benchmark", SERVE)
if _spec is None or _spec.loader is None:
    raise SystemExit(f"cannot load the serve benchmark's load generator from {SERVE}")
bench = importlib.util.module_from_spec(_spec)
sys.modules["serve_benchmark"] = bench
_spec.loader.exec_module(bench)

FEATURES = {
    "customer_profile_v1": [
        "tenure", "plan", "region", "contract", "age", "num_products", "autopay"
    ],
    "customer_usage_v2": [
        "monthly_usage", "support_calls", "payment_delay", "monthly_charge", "last_login_days"
    ],
}  # fmt: skip
REFS = [f"{view}:{name}" for view, names in FEATURES.items() for name in names]


def make_workspace(tmp: Path) -> tuple[Path, list[int], float]:
    """The workspace (features applied and materialized), entity ids, seconds taken."""
    from datetime import UTC, datetime

    from driftpilot.demo.churn import ChurnScenario
    from driftpilot.features.demo_repo import write_view_rows
    from driftpilot.features.store import FeatureRepo
    from driftpilot.workspace import FEATURES_TEMPLATE, Workspace, init_workspace

    begin = time.perf_counter()
    root = tmp / "workspace"
    init_workspace(root, features=True)
    kinds = ", ".join(f"{n}: {k}" for n, k in ChurnScenario.FEATURES.items())
    (root / "driftpilot.yaml").write_text(  # the log's schema given: no profile needed
        f"model:\n  name: churn\n  features: {{{kinds}}}\n" + FEATURES_TEMPLATE
    )
    week = ChurnScenario(seed=7, rows_per_week=20_000).week(0)
    write_view_rows(root / "features", week, "week-00")
    repo = FeatureRepo(Workspace.open(root))
    repo.apply()
    repo.materialize(datetime(2026, 1, 12, tzinfo=UTC))
    ids = week.drop_duplicates("customer_id")["customer_id"].head(1000).astype(int).tolist()
    return root, ids, time.perf_counter() - begin


def get_bytes(port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {bench.HOST}:{port}\r\n\r\n".encode()


def servers(root: Path, ids: list[int], logs: Path) -> dict[str, Any]:
    feast = Path(sys.executable).with_name("feast")
    dp_port, feast_port = bench.free_port(), bench.free_port()
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    driftpilot = bench.Server(
        name="driftpilot",
        argv=[sys.executable, "-m", "driftpilot", "serve", "-w", str(root), "--port", str(dp_port)],
        env=env,
        ready_path="/healthz",
        path="/features",
        bodies=[],
        log_path=logs / "driftpilot.log",
        stop_signal=signal.SIGINT,
        port=dp_port,
    )
    feast_server = bench.Server(
        name="feast serve",
        argv=[
            *[str(feast), "--chdir", str(root / "features"), "serve", "-h", bench.HOST],
            *["-p", str(feast_port), "--no-access-log", "--max-requests", "0"],
        ],
        env=env,
        ready_path="/health",
        path="/get-online-features",
        bodies=[],
        log_path=logs / "feast.log",
        stop_signal=signal.SIGTERM,
        port=feast_port,
        clean_exits=(0, -15),
    )
    requests = {
        "driftpilot": [get_bytes(dp_port, f"/features?ids={i}") for i in ids],
        "feast serve": [
            bench.request_bytes(
                feast_port,
                "/get-online-features",
                json.dumps({"features": REFS, "entities": {"customer_id": [i]}}).encode(),
            )
            for i in ids
        ],
    }
    return {"driftpilot": (driftpilot, requests["driftpilot"]),
            "feast serve": (feast_server, requests["feast serve"])}  # fmt: skip


def check_answers(name: str, server: Any, request: bytes, entity: int) -> str:
    """Both servers answer the same values for the same entity (checked once per server)."""
    body = json.loads(asyncio.run(bench.first_answer(server.port, request)))
    if name == "driftpilot":
        values = {k: v["value"] for k, v in body["entities"][0]["features"].items()}
    else:  # column-major: metadata.feature_names, results[i].values
        names = body["metadata"]["feature_names"]
        values = {n: r["values"][0] for n, r in zip(names, body["results"], strict=True)}
        values.pop("customer_id", None)
    return json.dumps(values, sort_keys=True, default=str)


def run_server(
    name: str, server: Any, requests: list[bytes], args: argparse.Namespace
) -> dict[str, Any]:
    server.start()
    out: dict[str, Any] = {"started_s": server.started_s, "phases": {}}
    try:
        asyncio.run(
            bench.closed_loop(server.port, requests, seconds=1.0, connections=2, timeout=5)
        )  # warm-up
        for rate in args.rates:
            phase = asyncio.run(
                bench.open_loop(
                    server.port,
                    requests,
                    rate=rate,
                    seconds=args.seconds,
                    connections=16,
                    timeout=5.0,
                    drain=2.0,
                )
            )
            out["phases"][rate] = phase.summary()
        peak = asyncio.run(
            bench.closed_loop(
                server.port, requests, seconds=args.seconds, connections=16, timeout=5
            )
        )
        out["peak_rps"] = peak.rate
    finally:
        server.stop()
    return out


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def median(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else None


def report(rounds: list[dict[str, Any]], args: argparse.Namespace, setup: float) -> None:
    print(f"\nworkspace built in {setup:.1f} s; {len(rounds)} rounds, medians shown\n")
    print(f"{'rate':>6}  {'server':<12} {'p50 ms':>8} {'p99 ms':>8} {'answered/s':>11}")
    for rate in args.rates:
        cells = {}
        for name in ("driftpilot", "feast serve"):
            p50 = median([r[name]["phases"][rate]["p50_ms"] for r in rounds])
            p99 = median([r[name]["phases"][rate]["p99_ms"] for r in rounds])
            rps = median([r[name]["phases"][rate]["achieved_rps"] for r in rounds])
            cells[name] = (p50, p99)
            print(f"{rate:>6}  {name:<12} {_ms(p50):>8} {_ms(p99):>8} {rps:>11.0f}")
        (dp50, dp99), (f50, f99) = cells["driftpilot"], cells["feast serve"]
        if None not in (dp50, dp99, f50, f99):
            print(f"{'':>6}  ratio driftpilot / Feast: p50 {dp50 / f50:.2f}, p99 {dp99 / f99:.2f}")
    peaks = {n: median([r[n]["peak_rps"] for r in rounds]) for n in ("driftpilot", "feast serve")}
    print(
        f"\npeak (16 connections, closed loop): driftpilot {peaks['driftpilot']:.0f}/s, "
        f"Feast {peaks['feast serve']:.0f}/s, "
        f"ratio {peaks['driftpilot'] / peaks['feast serve']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s phases")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0, 300.0])
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 3.0
    tmp = Path(tempfile.mkdtemp(prefix="driftpilot-features-bench-"))
    try:
        root, ids, setup = make_workspace(tmp)
        under_test = servers(root, ids, tmp)
        for name, (server, requests) in under_test.items():
            server.start()
            try:
                seen = check_answers(name, server, requests[0], ids[0])
            finally:
                server.stop()
            print(f"{name}: entity {ids[0]} → {seen[:160]}…")
        rounds = []
        for index in range(args.rounds):
            order = list(under_test) if index % 2 == 0 else list(reversed(under_test))
            found = {}
            for name in order:
                server, requests = under_test[name]
                found[name] = run_server(name, server, requests, args)
            rounds.append(found)
            print(f"round {index + 1}: " + ", ".join(
                f"{n} p99 {_ms(found[n]['phases'][args.rates[-1]]['p99_ms'])} ms"
                for n in under_test
            ))  # fmt: skip
        report(rounds, args, setup)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
