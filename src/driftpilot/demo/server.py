"""``driftpilot serve`` as the demo runs it: a process of its own on a free port of 127.0.0.1,
started early (it loads its libraries and the champion while the story goes on), a client
once it is ready, stopped with SIGINT (it writes what it logged first)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from driftpilot.workspace import Workspace

__all__ = ["live_server", "start_server", "stop_server"]


def start_server(workspace: Workspace) -> tuple[subprocess.Popen[bytes], int]:
    """``driftpilot serve -w WORKSPACE`` started in a process of its own on a free local port
    (it loads its libraries and the champion while the caller goes on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "driftpilot", "serve", "-w", str(workspace.root)]
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return server, port


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGINT: the server writes what it logged, then exits."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()


@contextmanager
def live_server(
    workspace: Workspace, started: tuple[subprocess.Popen[bytes], int] | None = None
) -> Iterator[httpx.Client]:
    """A client for ``driftpilot serve`` (the one ``started`` by :func:`start_server`, or a
    new one), once it is ready; the server is stopped when the block ends."""
    import httpx

    server, port = started or start_server(workspace)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                if server.poll() is not None:
                    error = server.stderr.read().decode() if server.stderr else ""
                    raise RuntimeError(f"driftpilot serve exited: {error[-2000:]}")
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("driftpilot serve did not become ready in 120 s")
                time.sleep(0.2)
            yield client
    finally:
        stop_server(server)
