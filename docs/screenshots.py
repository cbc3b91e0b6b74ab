"""Screenshots of the HTML report and the dashboard for the README, from a `make demo` run.

    uv run python docs/screenshots.py [demo-data]

Writes ``docs/images/report-TAB.png`` (the demo's ``report.html``, opened from disk) and
``docs/images/dashboard-TAB.png`` (``driftpilot ui`` over the demo's workspace), in Debian's
chromium (``apt-get install chromium``) driven by Playwright.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
REPORT_TABS = ["drift", "performance", "features"]
DASHBOARD_TABS = ["summary", "segments", "models"]
OUT = Path(__file__).parent / "images"


def _shoot(browser, url: str, tabs: list[str], prefix: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(url)
    for tab in tabs:
        page.click(f'nav a[href="#{tab}"]')
        page.wait_for_timeout(1500)  # plotly's drawing
        page.screenshot(path=str(OUT / f"{prefix}-{tab}.png"), full_page=False)
        print(OUT / f"{prefix}-{tab}.png")


def main(demo: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "driftpilot", "ui", "-w", str(demo / "workspace"),
         "--port", str(port)]
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/ui"
        for _ in range(300):
            try:
                if httpx.get(url, timeout=30).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            _shoot(browser, (demo / "report.html").resolve().as_uri(), REPORT_TABS, "report")
            _shoot(browser, url, DASHBOARD_TABS, "dashboard")
            browser.close()
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-data"))
