"""Shared fixtures: one DuckDB engine per session and a small mixed-type data set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftpilot.engine.backend import Engine


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
