"""Shared fixtures: one DuckDB engine per session and a small mixed-type data set; how
`make test` shares the suite between its workers (pytest-xdist)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftpilot.engine.backend import Engine

# The modules that read the demo's story (a minute to build): `make test` runs them on one
# worker so that it is built once. Checked against the fixtures at every collection.
STORY_MODULES = frozenset(
    {
        "tests/demo/test_run.py",
        "tests/report/test_browser.py",
        "tests/report/test_report.py",
        "tests/serve/test_ui.py",
    }
)
# the longest groups start first, so that no worker is left alone with one at the end
FIRST = ("demo_story", "tests/engine/test_spark_parity.py")


def _group(nodeid: str) -> str:
    module = nodeid.split("::")[0]
    return "demo_story" if module in STORY_MODULES else module


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    readers = {i.nodeid.split("::")[0] for i in items if "demo_story" in i.fixturenames}
    if not readers <= STORY_MODULES:
        raise pytest.UsageError(
            f"tests/conftest.py: STORY_MODULES lacks {sorted(readers - STORY_MODULES)}, which "
            "use the demo_story fixture; add them so that their worker builds the story once"
        )
    items.sort(key=lambda i: FIRST.index(g) if (g := _group(i.nodeid)) in FIRST else len(FIRST))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: the CPUs this process may run on (a container's, not the host's)."""
    import os

    return max(1, len(os.sched_getaffinity(0)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Whole modules to a worker, so that each module's fixtures are built once (and tests
    that build on the one before keep their order); the story's readers as one module.
    Only for the default and ``--dist loadscope``: another ``--dist`` is xdist's own."""
    if config.getvalue("dist") not in ("load", "loadscope"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)

    return ModuleScheduling(config, log)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.create()


def mixed_frame(rows: int = 4000, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """Numeric (continuous, integer with ties, zero-inflated with nulls), categorical, boolean."""
    rng = np.random.default_rng(seed)
    delay = np.where(rng.random(rows) < 0.6, 0.0, rng.exponential(5, rows))
    delay[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "customer_id": np.arange(rows) + seed * rows,
            "timestamp": pd.Timestamp("2026-01-05")
            + pd.to_timedelta(rng.uniform(0, 28 * 86400, rows), unit="s"),
            "usage": rng.lognormal(3 + shift, 0.5, rows),
            "calls": rng.poisson(2, rows).astype(float),
            "delay": delay,
            "plan": pd.Series(
                rng.choice(["basic", "standard", "premium"], rows, p=[0.5, 0.3, 0.2]),
                dtype="string",
            ),
            "autopay": rng.random(rows) < 0.7,
        }
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return mixed_frame()


@pytest.fixture(scope="session")
def demo_story(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    """The demo's story at test scale (6,000 rows a week, half the canary's traffic), run once
    per session: its result and its console text. The demo, report and dashboard tests read
    it; a test that changes the workspace copies it first."""
    from rich.console import Console

    from driftpilot.demo.run import run_demo

    console = Console(record=True, width=160)
    result = run_demo(
        tmp_path_factory.mktemp("story") / "demo",
        rows_per_week=6000,
        seed=7,
        console=console,
        canary_scale=0.5,
    )
    return result, console.export_text()
