"""The dashboard in a real browser: Debian's chromium driven by Playwright against
``driftpilot ui`` on 127.0.0.1, over a copy of the demo's workspace.

It loads, shows the numbers of the stored reports and registry, draws every chart without a
console error, moves between tabs, and updates itself in place when the workspace changes.
Screenshots of every tab are kept in ``test-artifacts/screenshots/`` (or
``$DRIFTPILOT_ARTIFACTS``).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from driftpilot.monitor.report import history
from driftpilot.workspace import Workspace

CHROMIUM = "/usr/bin/chromium"
# Chromium on a closed network: no background connections, no sandbox (root in CI)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
TABS = ["summary", "drift", "performance", "segments", "models", "features"]
ARTIFACTS = Path(
    os.environ.get("DRIFTPILOT_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)


@pytest.fixture(scope="module")
def dashboard(demo_story, tmp_path_factory):
    """``driftpilot ui`` over a copy of the demo's workspace, updating every second."""
    result, _ = demo_story
    root = tmp_path_factory.mktemp("ui") / "workspace"
    shutil.copytree(result.workspace, root)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "driftpilot", "ui", "-w", str(root), "--port", str(port),
         "--refresh", "1s", "--mlflow-url", "http://127.0.0.1:5000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/ui/view.json", timeout=30).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stdout.read().decode()
        assert time.monotonic() < deadline, "driftpilot ui did not answer within 60 s"
        time.sleep(0.2)
    yield url, Workspace.open(root)
    server.terminate()
    server.wait(30)


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def _page(browser, errors):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def test_dashboard_in_a_browser(dashboard, browser) -> None:
    url, space = dashboard
    reports = history(space)
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(f"{url}/ui")
    assert page.locator("header h1").inner_text() == "driftpilot · churn"
    assert f"{len(reports)} week windows" in page.locator("#meta").inner_text()
    performance = page.locator('.verdict[data-area="performance"] .text').inner_text()
    assert f"ROC AUC {reports[-1].performance['roc_auc']:.3f}" in performance
    assert page.locator('.verdict[data-area="data quality"] .badge').text_content() == "alert"
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for tab in TABS:
        page.click(f'nav a[href="#{tab}"]')
        section = page.locator(f"section#{tab}")
        # the tab changes on the hashchange event, after the click returns: expect() waits
        expect(section).to_be_visible()
        assert page.evaluate("location.hash") == f"#{tab}"
        expect(page.locator("nav a.active")).to_have_text(tab, ignore_case=True)
        for other in TABS:
            if other != tab:
                expect(page.locator(f"section#{other}")).to_be_hidden()
        charts = section.locator(".chart")
        for i in range(charts.count()):  # every chart drawn by plotly
            charts.nth(i).locator(".main-svg").first.wait_for(timeout=15_000)
        page.screenshot(path=str(shots / f"dashboard-{tab}.png"), full_page=True)
    # the numbers of each tab
    page.click('nav a[href="#drift"]')
    expect(page.locator("section#drift")).to_be_visible()
    first = page.locator("#drift-table tr[data-feature]").first
    assert first.get_attribute("data-feature") == "monthly_usage"
    assert first.locator("td").nth(7).inner_text() == "2"  # drifted windows
    assert page.locator("section#drift .chart .main-svg").count() >= 1  # the overlay
    page.click('nav a[href="#models"]')
    expect(page.locator("section#models")).to_be_visible()
    champion = page.locator('#versions tr[data-version="2"]')
    assert "champion" in champion.inner_text()
    link = champion.locator("a").first.get_attribute("href")
    assert link.startswith("http://127.0.0.1:5000/#/experiments/")
    assert "rolled_back" in page.locator('#versions tr[data-version="3"]').inner_text()
    page.click('nav a[href="#features"]')
    expect(page.locator("section#features")).to_be_visible()
    assert page.locator("#freshness .badge").all_text_contents() == ["fresh", "fresh"]
    assert errors == []


def test_dashboard_updates_itself_in_place(dashboard, browser) -> None:
    from driftpilot.policy.store import record_sent

    url, space = dashboard
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(f"{url}/ui#summary")
    page.evaluate("window.__same_page = true")
    assert "latency_slo" not in page.locator("section#summary").inner_text()
    now = datetime.now(UTC)
    record_sent(
        space,
        [{"event": "latency_slo@now|open", "incident": "latency_slo@now", "status": "open",
          "rule": "latency_slo", "window_key": "2026-03-23T00:00:00Z", "sent_at": now,
          "deliveries": "[]"}],
    )  # fmt: skip
    page.locator("#incidents", has_text="latency_slo").wait_for(timeout=20_000)
    assert page.evaluate("window.__same_page") is True  # updated, not reloaded
    assert page.evaluate("location.hash") == "#summary"
    assert "live: updated" in page.locator("#status").inner_text()
    assert errors == []
