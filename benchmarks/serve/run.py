"""Model serving benchmark: ``driftpilot serve`` against ``mlflow models serve``, same model.

One workspace (temporary) with the churn demo's XGBoost model registered as version 1 of
``churn`` (alias ``champion``). Each server is started on its own (never both under load at
once), on 127.0.0.1, and gets the same single-row requests (week 6 of the churn story):

- driftpilot: ``POST /v1/predict`` ``{"instances": [{"entity_id", "features"}]}``, routing on
  and every answered prediction logged (asynchronously) to the workspace's Delta table;
- MLflow: ``mlflow models serve -m models:/churn/1 --env-manager local`` (its defaults: one
  uvicorn worker), ``POST /invocations`` ``{"dataframe_records": [{...}]}``.

Measured, per server:

1. Open-loop fixed rates (100, 300, 1000 requests/s by default): requests are sent on
   schedule whatever the answers, over a pool of keep-alive connections, and latency is
   measured from each request's *scheduled* send time to its answer, so a server that falls
   behind is charged for the queue it causes (no coordinated omission). p50, p99, achieved
   rate (answers with status 200 per second) and errors (non-200, timeouts, requests still
   unsent when the phase's time ran out).
2. Peak throughput: closed loop, a fixed number of connections, each sending its next request
   as soon as the last one is answered; 200 answers per second. With ``wrk`` (C client, a
   Lua script cycling through the request bodies) when it is on PATH, else the Python client.

The load generator (Python asyncio with uvloop, raw HTTP/1.1 over asyncio streams) runs on
the same machine and shares its cores with the server: the figures are a lower bound for the
server on a machine of its own. Targets checked: driftpilot p99 ≤ 10 ms at 300 requests/s,
and driftpilot's peak ≥ 3× MLflow's. After driftpilot is stopped (SIGINT: it flushes its
log), the predictions it logged are counted from the Delta table.

    uv run python benchmarks/serve/run.py [--quick] [--seconds 10] [--rates 100 300 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "benchmarks" / ".data" / "serve"
FEATURES = [
    "tenure",
    "monthly_usage",
    "plan",
    "support_calls",
    "region",
    "payment_delay",
    "contract",
    "age",
    "monthly_charge",
    "num_products",
    "autopay",
    "last_login_days",
]
HOST = "127.0.0.1"
READY_SECONDS = 180.0  # a server not ready by then is reported as failed
STOP_SECONDS = 30.0


# --------------------------------------------------------------------------- workspace


def make_workspace(tmp: Path) -> tuple[Any, list[dict[str, Any]], float]:
    """The workspace with version 1 registered, the request rows, and seconds taken."""
    import pandas as pd

    from driftpilot.demo.churn import ChurnScenario, story
    from driftpilot.demo.run import CONFIG_TEXT
    from driftpilot.retrain.pipeline import register
    from driftpilot.workspace import Workspace, init_workspace

    start = time.perf_counter()
    root = tmp / "workspace"
    init_workspace(root)
    (root / "driftpilot.yaml").write_text(CONFIG_TEXT)
    space = Workspace.open(root)
    scenario = ChurnScenario(seed=7, rows_per_week=20_000)
    specs = story()
    training = pd.concat([scenario.week(i, specs[i]) for i in range(4)], ignore_index=True)
    register(space, training)
    week = scenario.week(6, specs[6])
    rows = [
        {
            "entity_id": str(record["customer_id"]),
            "features": {name: _plain(record[name]) for name in FEATURES},
        }
        for record in week[["customer_id", *FEATURES]].to_dict("records")
    ]
    return space, rows, time.perf_counter() - start


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python ones, NaN and missing as None."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """One server under test: how to start it, its endpoint and request bodies."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready_path: str
    path: str
    bodies: list[bytes]
    log_path: Path
    stop_signal: int
    port: int
    clean_exits: tuple[int, ...] = (0,)
    process: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0

    def start(self) -> None:
        log = self.log_path.open("wb")
        begin = time.perf_counter()
        # a session of its own: the whole group (MLflow's CLI runs uvicorn as a child) is
        # signalled, and a Ctrl-C of the benchmark does not reach it before the finally does
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} before it was ready:\n"
                    + self.log_tail()
                )
            if http_status(self.port, self.ready_path) == 200:
                self.started_s = time.perf_counter() - begin
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {READY_SECONDS:.0f} s:\n{self.log_tail()}")

    def stop(self) -> float | None:
        """Stop gracefully (``stop_signal`` to the group), kill after ``STOP_SECONDS``;
        seconds it took to stop, None when it had to be killed (or never started)."""
        process = self.process
        if process is None or process.poll() is not None:
            return None
        begin = time.perf_counter()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, self.stop_signal)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            return None
        with contextlib.suppress(ProcessLookupError):  # a child left behind
            os.killpg(process.pid, signal.SIGKILL)
        return time.perf_counter() - begin

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's processes so far."""
        import psutil

        if self.process is None:
            return 0.0
        try:
            root = psutil.Process(self.process.pid)
            total = 0.0
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = proc.cpu_times()
                    total += times.user + times.system
            return total
        except psutil.NoSuchProcess:
            return 0.0

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    " + line for line in text[-lines:])


class CpuMeter:
    """CPU seconds used during a phase: by the server, and by everything else on the machine
    that is neither the server nor this benchmark (another job skews the figures)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.start = self._read()

    def _read(self) -> tuple[float, float, float]:
        import psutil

        busy = psutil.cpu_times()
        total = sum(busy) - busy.idle - getattr(busy, "iowait", 0.0)
        own = os.times()
        mine = own.user + own.system + own.children_user + own.children_system  # wrk, once done
        return total, self.server.cpu_seconds(), mine

    def stop(self, phase: Phase) -> None:
        total, server, mine = (b - a for a, b in zip(self.start, self._read(), strict=True))
        phase.server_cpu_s = server
        phase.other_cores = max(0.0, total - server - mine) / phase.elapsed_s
        phase.generator_cores = mine / phase.elapsed_s


def http_status(port: int, path: str) -> int | None:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            ask = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
            sock.sendall(ask.encode())
            head = sock.recv(64)
        return int(head[9:12]) if head.startswith(b"HTTP/1.") else None
    except (OSError, ValueError):
        return None


def request_bytes(port: int, path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


# --------------------------------------------------------------------------- load generator


class Connection:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def call(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = None, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length is not None:
            return status, await self.reader.readexactly(length)
        if not chunked:
            raise ConnectionError("an answer with neither Content-Length nor chunked encoding")
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await self.reader.readexactly(size + 2)
            if size == 0:
                return status, b"".join(parts)
            parts.append(data[:-2])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass
class Phase:
    """What one load phase saw."""

    latencies_ms: list[float] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)  # sent this late after its schedule
    service_ms: list[float] = field(default_factory=list)  # sent → answered
    errors: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    scheduled: int = 0
    server_cpu_s: float = 0.0
    note: str = ""
    count: int | None = None  # answers with status 200, when latencies are not kept (wrk)
    other_cores: float = 0.0  # CPU used meanwhile by other processes, in cores
    generator_cores: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies_ms) if self.count is None else self.count

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "scheduled": self.scheduled,
            "ok": self.ok,
            "achieved_rps": self.rate,
            "p50_ms": percentile(self.latencies_ms, 50),
            "p99_ms": percentile(self.latencies_ms, 99),
            "max_ms": max(self.latencies_ms) if self.latencies_ms else None,
            "send_lag_p99_ms": percentile(self.lags_ms, 99),
            "from_send_p50_ms": percentile(self.service_ms, 50),
            "from_send_p99_ms": percentile(self.service_ms, 99),
            "errors": dict(self.errors),
            "elapsed_s": self.elapsed_s,
            "server_cpu_s": self.server_cpu_s,
            "generator_cores": self.generator_cores,
            "other_cores": self.other_cores,
            "note": self.note,
        }


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


async def _open_all(port: int, count: int) -> list[Connection]:
    return list(await asyncio.gather(*(Connection.open(port) for _ in range(count))))


async def open_loop(
    port: int,
    requests: list[bytes],
    *,
    rate: float,
    seconds: float,
    connections: int,
    timeout: float,
    drain: float,
    first: int = 0,
) -> Phase:
    """``rate`` requests/s for ``seconds`` on schedule; requests wait for a free connection
    (that wait counts in their latency); everything ends ``drain`` seconds after the last
    scheduled send at the latest."""
    phase = Phase(scheduled=int(rate * seconds))
    pool = await _open_all(port, connections)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    start = time.perf_counter() + 0.05
    deadline = start + seconds + drain
    last_done = start

    async def dispatcher() -> None:
        for i in range(phase.scheduled):
            at = start + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((at, requests[(first + i) % len(requests)]))
        for _ in pool:
            queue.put_nowait(None)

    async def worker(slot: int) -> None:
        nonlocal last_done
        conn: Connection | None = pool[slot]
        while True:
            item = await queue.get()
            if item is None:
                break
            at, request = item
            sent = time.perf_counter()
            left = min(timeout, deadline - sent)
            if left <= 0:
                phase.errors["unsent (out of time)"] += 1
                continue
            late = "timeout" if left >= timeout else "unanswered (out of time)"
            conn, status = await _exchange(conn, port, request, left, phase, late)
            if status is None:
                continue
            done = time.perf_counter()
            if status == 200:
                phase.latencies_ms.append((done - at) * 1000)
                phase.lags_ms.append((sent - at) * 1000)
                phase.service_ms.append((done - sent) * 1000)
                last_done = max(last_done, done)
            else:
                phase.errors[f"HTTP {status}"] += 1
        if conn is not None:
            conn.close()

    tasks = [asyncio.create_task(dispatcher())] + [
        asyncio.create_task(worker(i)) for i in range(len(pool))
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), seconds + drain + timeout + 5)
    except TimeoutError:
        phase.note = "stopped by the phase's time bound"
    finally:
        for task in tasks:
            task.cancel()
        for conn in pool:
            conn.close()
    phase.elapsed_s = max(seconds, last_done - start)
    return phase


async def _exchange(
    conn: Connection | None, port: int, request: bytes, timeout: float, phase: Phase, late: str
) -> tuple[Connection | None, int | None]:
    """One request on ``conn`` (opened when None): the connection to go on with and the HTTP
    status, or None for the status when it failed (counted in ``phase.errors``; a timeout
    under ``late``) and the connection was dropped."""
    try:
        if conn is None:
            conn = await asyncio.wait_for(Connection.open(port), timeout)
        status, _ = await asyncio.wait_for(conn.call(request), timeout)
    except TimeoutError:
        phase.errors[late] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        phase.errors[f"connection: {type(exc).__name__}"] += 1
    else:
        return conn, status
    if conn is not None:
        conn.close()
    return None, None


async def closed_loop(
    port: int, requests: list[bytes], *, seconds: float, connections: int, timeout: float
) -> Phase:
    """Each connection sends its next request when the last is answered, for ``seconds``."""
    phase = Phase()
    pool = await _open_all(port, connections)
    start = time.perf_counter()
    end = start + seconds
    counter = 0

    async def worker(slot: int) -> None:
        nonlocal counter
        conn: Connection | None = pool[slot]
        while time.perf_counter() < end:
            request = requests[counter % len(requests)]
            counter += 1
            sent = time.perf_counter()
            conn, status = await _exchange(conn, port, request, timeout, phase, "timeout")
            if status is None:
                await asyncio.sleep(0.01)  # a refused connection: do not spin
                continue
            done = time.perf_counter()
            if done > end:
                break
            if status == 200:
                phase.latencies_ms.append((done - sent) * 1000)
            else:
                phase.errors[f"HTTP {status}"] += 1

    tasks = [asyncio.create_task(worker(i)) for i in range(len(pool))]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), seconds + timeout + 5)
    except TimeoutError:
        phase.note = "stopped by the phase's time bound"
    finally:
        for task in tasks:
            task.cancel()
        for conn in pool:
            conn.close()
    phase.elapsed_s = seconds
    phase.scheduled = phase.ok + sum(phase.errors.values())
    return phase


async def first_answer(port: int, request: bytes) -> bytes:
    conn = await Connection.open(port)
    try:
        status, body = await asyncio.wait_for(conn.call(request), 30)
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"the first request was answered {status}: {body[:500]!r}")
    return body


# --------------------------------------------------------------------------- wrk

LUA = r"""
bodies = {BODIES}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "PATH", {["Content-Type"] = "application/json"},
    bodies[(counter % #bodies) + 1])
end
"""


def wrk_peak(
    port: int, path: str, bodies: list[bytes], *, seconds: float, connections: int, folder: Path
) -> Phase:
    """Closed-loop peak with wrk: 200 answers per second (wrk's Requests/sec counts every
    answer, so the non-2xx are taken out)."""
    script = folder / f"post-{port}.lua"
    quoted = ",\n".join(f"[==[{body.decode()}]==]" for body in bodies)
    script.write_text(LUA.replace("BODIES", quoted).replace("PATH", path))
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "2s",
        "--latency",
        "-s",
        str(script),
        f"http://{HOST}:{port}",
    ]
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    phase = Phase()
    total = 0
    for line in out.splitlines():
        words = line.split()
        if "requests in" in line:
            total = int(words[0])
            phase.elapsed_s = _seconds(words[3].rstrip(","))
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            phase.errors["non-2xx"] = int(words[-1])
        elif line.strip().startswith("Socket errors:"):
            for part in line.split(":", 1)[1].split(","):
                kind, count = part.split()
                if int(count):
                    phase.errors[f"socket {kind}"] = int(count)
        elif words and words[0] in ("50%", "99%"):
            phase.note += f"wrk {words[0]} {words[1]} "
    phase.count = total - phase.errors.get("non-2xx", 0)
    phase.scheduled = total
    phase.note = ("closed-loop latency (coordinated omission): " + phase.note).strip()
    return phase


def _seconds(text: str) -> float:
    for suffix, scale in (("ms", 0.001), ("us", 1e-6), ("m", 60.0), ("s", 1.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    return float(text)


# --------------------------------------------------------------------------- one server


def measure(
    server: Server,
    args: argparse.Namespace,
    folder: Path,
    progress: Callable[[str], None],
    result: dict[str, Any],
) -> None:
    """Start ``server``, warm it up, run the rates then the peak, stop it; what was
    measured goes into ``result`` (also when a step fails)."""
    import uvloop

    requests = [request_bytes(server.port, server.path, body) for body in server.bodies]
    result["rates"] = {}
    try:
        server.start()
        result["ready_s"] = server.started_s
        progress(f"{server.name}: ready after {server.started_s:.1f} s")
        result["first_answer"] = uvloop.run(first_answer(server.port, requests[0])).decode()
        warm = uvloop.run(
            closed_loop(
                server.port, requests, seconds=args.warmup, connections=4, timeout=args.timeout
            )
        )
        result["warmup"] = warm.summary()
        progress(f"{server.name}: warm-up {warm.ok} answers in {args.warmup:.0f} s")
        offset = warm.ok + 1
        for rate in args.rates:
            time.sleep(args.pause)
            meter = CpuMeter(server)
            phase = uvloop.run(
                open_loop(
                    server.port,
                    requests,
                    rate=rate,
                    seconds=args.seconds,
                    connections=args.pool,
                    timeout=args.timeout,
                    drain=args.drain,
                    first=offset,
                )
            )
            meter.stop(phase)
            offset += phase.scheduled
            result["rates"][rate] = phase.summary()
            found = result["rates"][rate]
            progress(
                f"{server.name}: {rate:,} req/s → {found['achieved_rps']:,.0f} answered/s, "
                f"p50 {_ms(found['p50_ms'])}, p99 {_ms(found['p99_ms'])}, "
                f"errors {sum(found['errors'].values()):,}"
            )
        time.sleep(args.pause)
        meter = CpuMeter(server)
        if shutil.which("wrk") and not args.no_wrk:
            peak = wrk_peak(
                server.port,
                server.path,
                server.bodies[: args.wrk_bodies],
                seconds=args.seconds,
                connections=args.connections,
                folder=folder,
            )
            meter.stop(peak)
            result["peak_client"] = "wrk"
        else:
            peak = uvloop.run(
                closed_loop(
                    server.port,
                    requests,
                    seconds=args.seconds,
                    connections=args.connections,
                    timeout=args.timeout,
                )
            )
            meter.stop(peak)
            result["peak_client"] = "python"
        result["peak"] = {
            "ok_per_s": peak.rate,
            "answers": peak.ok,
            "errors": dict(peak.errors),
            "server_cpu_s": peak.server_cpu_s,
            "generator_cores": peak.generator_cores,
            "other_cores": peak.other_cores,
            "note": peak.note,
        }
        progress(
            f"{server.name}: peak {peak.rate:,.0f} answers/s ({args.connections} connections, "
            f"{result['peak_client']}), errors {sum(peak.errors.values()):,}"
        )
        result["answered"] = warm.ok + 1 + sum(r["ok"] for r in result["rates"].values()) + peak.ok
    finally:
        result["stop_s"] = server.stop()
        result["exit_code"] = server.process.returncode if server.process else None
        result["clean_exit"] = result["exit_code"] in server.clean_exits
        result["log_tail"] = server.log_tail(15)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def logged_predictions(path: Path) -> int | None:
    from deltalake import DeltaTable

    try:
        return int(DeltaTable(str(path)).to_pyarrow_table().num_rows)
    except Exception:  # no table: nothing was logged
        return None


# --------------------------------------------------------------------------- report


def _errors(found: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in sorted(found.items())) or "0"


def _cores(row: dict[str, Any], seconds: float) -> str:
    server = row["server_cpu_s"] / seconds if seconds else math.nan
    return f"{server:.2f} / {row['generator_cores']:.2f} / {row['other_cores']:.2f}"


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    dp, ml = results.get("driftpilot", {}), results.get("mlflow", {})
    servers = (("driftpilot", dp), ("MLflow", ml))
    print()
    print(
        f"Open loop, single-row requests, {args.seconds:g} s per rate, latency from each "
        f"request's scheduled send (queueing included), {args.pool} keep-alive connections, "
        f"{args.timeout:g} s timeout; 'wait' is scheduled → sent (no free connection, or the "
        "generator late), 'from send' the latency without it; CPU in cores is server / load "
        "generator / other processes:"
    )
    print()
    print(
        "| server | rate (req/s) | p50 | p99 | max | achieved (req/s) | errors | wait p99 | "
        "p99 from send | server CPU (ms/req) | CPU (cores) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for name, found in servers:
        for rate in args.rates:
            row = found.get("rates", {}).get(rate)
            if row is None:
                print(f"| {name} | {rate:,} | — | — | — | — | not run | | | | |")
                continue
            cpu = row["server_cpu_s"] * 1000 / row["ok"] if row["ok"] else math.nan
            print(
                f"| {name} | {rate:,} | {_ms(row['p50_ms'])} | {_ms(row['p99_ms'])} | "
                f"{_ms(row['max_ms'])} | {row['achieved_rps']:,.0f} | {_errors(row['errors'])} | "
                f"{_ms(row['send_lag_p99_ms'])} | {_ms(row['from_send_p99_ms'])} | {cpu:.2f} | "
                f"{_cores(row, row['elapsed_s'])} |"
            )
    client = dp.get("peak_client") or ml.get("peak_client") or "—"
    print()
    print(
        f"Peak throughput, closed loop, {args.connections} connections, {args.seconds:g} s, "
        f"client {client}:"
    )
    print()
    print("| server | answers/s (200) | errors | server CPU (ms/req) | CPU (cores) | note |")
    print("| --- | ---: | --- | ---: | ---: | --- |")
    for name, found in servers:
        peak = found.get("peak")
        if peak is None:
            print(f"| {name} | — | not run | | | |")
            continue
        cpu = peak["server_cpu_s"] * 1000 / peak["answers"] if peak["answers"] else math.nan
        print(
            f"| {name} | {peak['ok_per_s']:,.0f} | {_errors(peak['errors'])} | {cpu:.2f} | "
            f"{_cores(peak, args.seconds)} | {peak['note']} |"
        )
    dp_peak = dp.get("peak", {}).get("ok_per_s")
    ml_peak = ml.get("peak", {}).get("ok_per_s")
    ratio = dp_peak / ml_peak if dp_peak and ml_peak else None
    print()
    print(f"driftpilot / MLflow peak: {ratio:.2f}×" if ratio else "driftpilot / MLflow peak: —")
    print()
    at300 = dp.get("rates", {}).get(300, {})
    p99 = at300.get("p99_ms")
    clean = bool(at300) and not at300.get("errors")
    errors = sum(at300.get("errors", {}).values())
    targets = [
        (
            "driftpilot p99 ≤ 10 ms at 300 req/s",
            _ms(p99) + (f" ({errors:,} errors)" if errors else ""),
            None if p99 is None else bool(p99 <= 10.0 and clean),
        ),
        (
            "driftpilot peak ≥ 3× MLflow's peak",
            f"{ratio:.2f}×" if ratio else "—",
            None if ratio is None else ratio >= 3.0,
        ),
    ]
    print("| target | measured | met |")
    print("| --- | ---: | :---: |")
    for what, measured, met in targets:
        print(f"| {what} | {measured} | {'—' if met is None else 'yes' if met else 'NO'} |")
    print()
    logged, answered = results.get("logged"), dp.get("answered")
    if "logged" in results:
        print(
            f"driftpilot logged {logged if logged is not None else 'no'} predictions "
            f"(Delta table log/predictions, read after a graceful stop) for "
            f"{f'{answered:,}' if answered is not None else '?'} answers counted by the clients "
            "(requests in flight when a closed loop stops are answered and logged, not counted)"
        )
    for name, found in servers:
        if "failure" in found:
            print(f"{name} FAILED: {found['failure']}")
        if "ready_s" in found:
            stop = found.get("stop_s")
            print(
                f"{name}: ready {found['ready_s']:.1f} s after start; stopped in "
                + (f"{stop:.1f} s" if stop is not None else "— (killed, or already gone)")
                + f", exit code {found.get('exit_code')}"
                + ("" if found.get("clean_exit") else " (not clean)")
            )
    if results.get("same_scores") is not None:
        print(f"same score for the first row from both servers: {results['same_scores']}")
    others = [
        row["other_cores"]
        for _, found in servers
        for row in [*found.get("rates", {}).values(), found.get("peak") or {}]
        if row
    ]
    print(
        f"{os.cpu_count()} cores, shared by the server and the load generator (Python/uvloop "
        f"for the rates{', wrk for the peak' if client == 'wrk' else ''}): the figures are "
        "lower bounds for a server on a machine of its own"
    )
    if others:
        busy = max(others)
        print(
            f"CPU used by other processes (and the kernel) during a phase: up to {busy:.2f} "
            "cores"
            + (": the figures are skewed, run again on an idle machine" if busy > 0.5 else "")
        )


def _score(answer: str | None, key: str) -> float | None:
    if not answer:
        return None
    try:
        data = json.loads(answer)["predictions"][0]
        return float(data[key] if key else data)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per rate and for the peak")
    parser.add_argument("--quick", action="store_true", help="3 s per rate and for the peak")
    parser.add_argument("--rates", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--connections", type=int, default=16, help="closed-loop connections")
    parser.add_argument("--pool", type=int, default=32, help="open-loop connections")
    parser.add_argument("--timeout", type=float, default=2.0, help="per request, seconds")
    parser.add_argument("--drain", type=float, default=2.0, help="after the last send, seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per server")
    parser.add_argument("--pause", type=float, default=1.0, help="between phases, seconds")
    parser.add_argument("--wrk-bodies", type=int, default=1000, help="distinct bodies for wrk")
    parser.add_argument("--no-wrk", action="store_true", help="the Python client for the peak")
    parser.add_argument("--only", choices=["driftpilot", "mlflow"], help="one server only")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 3.0
    begin = time.perf_counter()

    def progress(text: str) -> None:
        print(f"  [{time.perf_counter() - begin:5.0f} s] {text}", flush=True)

    print(
        f"serve benchmark ({os.cpu_count()} cores; wrk: {shutil.which('wrk') or 'not found'}):",
        flush=True,
    )
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="driftpilot-bench-serve-") as name:
        tmp = Path(name)
        space, rows, took = make_workspace(tmp)
        progress(f"workspace with churn version 1 registered in {took:.1f} s; {len(rows):,} rows")
        env = dict(os.environ)
        bin_dir = str(Path(sys.executable).parent)  # MLflow runs `uvicorn` from PATH
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{space.root / 'mlflow.db'}"
        env["PYTHONUNBUFFERED"] = "1"
        driftpilot_port, mlflow_port = free_port(), free_port()
        servers = {
            "driftpilot": Server(
                name="driftpilot",
                argv=[
                    sys.executable,
                    "-m",
                    "driftpilot",
                    "serve",
                    "-w",
                    str(space.root),
                    "--port",
                    str(driftpilot_port),
                ],
                env=env,
                ready_path="/readyz",
                path="/v1/predict",
                bodies=[json.dumps({"instances": [row]}).encode() for row in rows],
                log_path=tmp / "driftpilot.log",
                stop_signal=signal.SIGINT,  # uvicorn shuts down gracefully: the log is flushed
                port=driftpilot_port,
            ),
            "mlflow": Server(
                name="MLflow",
                argv=[
                    sys.executable,
                    "-m",
                    "mlflow",
                    "models",
                    "serve",
                    "-m",
                    "models:/churn/1",
                    "--env-manager",
                    "local",
                    "-p",
                    str(mlflow_port),
                    "--host",
                    HOST,
                ],
                env=env,
                ready_path="/ping",
                path="/invocations",
                bodies=[
                    json.dumps({"dataframe_records": [row["features"]]}).encode() for row in rows
                ],
                log_path=tmp / "mlflow.log",
                stop_signal=signal.SIGTERM,
                port=mlflow_port,
                clean_exits=(0, -signal.SIGTERM),  # its CLI has no handler: killed by it
            ),
        }
        try:
            for key, server in servers.items():
                if args.only and key != args.only:
                    continue
                results[key] = {}
                try:
                    measure(server, args, tmp, progress, results[key])
                except Exception as exc:
                    progress(f"{server.name} FAILED: {type(exc).__name__}: {exc}")
                    results[key]["failure"] = f"{type(exc).__name__}: {exc}"
                    tail = server.log_tail(15)
                    if tail:
                        print(f"  last lines of {server.name}'s output:\n{tail}", flush=True)
                if key == "driftpilot":
                    results["logged"] = logged_predictions(space.predictions_path)
        finally:
            for server in servers.values():
                server.stop()
        dp_score = _score(results.get("driftpilot", {}).get("first_answer"), "score")
        ml_score = _score(results.get("mlflow", {}).get("first_answer"), "")
        if dp_score is not None and ml_score is not None:
            results["same_scores"] = bool(abs(dp_score - ml_score) < 1e-6)
        for key in ("driftpilot", "mlflow"):
            found = results.get(key, {})
            if found.get("exit_code") is not None and not found.get("clean_exit"):
                print(f"  {key} exited with {found['exit_code']}; its last lines:")
                print(found.get("log_tail", ""))
    report(results, args)
    progress(f"done in {time.perf_counter() - begin:.0f} s")
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "results.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
