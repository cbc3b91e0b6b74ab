"""The churn demo's Feast repository, as ``driftpilot init DIR --features`` writes it.

Two versioned views of the entity ``customer`` (join key ``customer_id``), each sourced from a
folder of Parquet files the feature pipeline appends to (``data/<view>/*.parquet``, columns
``customer_id``, ``event_timestamp``, ``created`` and the view's features), read by Feast's
DuckDB offline store (its file store, on Dask, can blank a value when a backfilled row shares
its event time: measured here, 1 row of 800 with one backfill):

- ``customer_profile_v1``: who the customer is (slow to change; TTL 90 days);
- ``customer_usage_v2``: what the customer did lately (TTL 7 days).

The repository is ordinary Feast: edit ``definitions.py`` and run
``driftpilot features apply`` (or ``feast apply`` in the folder).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["PROFILE", "USAGE", "VIEWS", "write_demo_repo", "write_view_rows"]

PROFILE = ["tenure", "plan", "region", "contract", "age", "num_products", "autopay"]
USAGE = ["monthly_usage", "support_calls", "payment_delay", "monthly_charge", "last_login_days"]
VIEWS = {"customer_profile_v1": PROFILE, "customer_usage_v2": USAGE}

STORE_YAML = """\
project: churn
provider: local
registry: data/registry.db
online_store:
  type: sqlite
  path: data/online.db
offline_store:
  type: duckdb
entity_key_serialization_version: 3
"""

DEFINITIONS = '''\
"""The churn model's features: one versioned definition, used offline and online."""

from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureView, Field, FileSource
from feast.data_format import ParquetFormat
from feast.types import Bool, Float64, String
from feast.value_type import ValueType

# Feast's DuckDB offline store reads paths as given: absolute, from this file's folder (after
# moving the repository, apply it again)
DATA = Path(__file__).resolve().parent / "data"

customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)

customer_profile_v1 = FeatureView(
    name="customer_profile_v1",
    entities=[customer],
    ttl=timedelta(days=90),
    schema=[
        Field(name="tenure", dtype=Float64),
        Field(name="plan", dtype=String),
        Field(name="region", dtype=String),
        Field(name="contract", dtype=String),
        Field(name="age", dtype=Float64),
        Field(name="num_products", dtype=Float64),
        Field(name="autopay", dtype=Bool),
    ],
    source=FileSource(
        path=str(DATA / "customer_profile_v1" / "*.parquet"),
        file_format=ParquetFormat(),
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    ),
    tags={"owner": "customer-data", "version": "v1"},
)

customer_usage_v2 = FeatureView(
    name="customer_usage_v2",
    entities=[customer],
    ttl=timedelta(days=7),
    schema=[
        Field(name="monthly_usage", dtype=Float64),
        Field(name="support_calls", dtype=Float64),
        Field(name="payment_delay", dtype=Float64),
        Field(name="monthly_charge", dtype=Float64),
        Field(name="last_login_days", dtype=Float64),
    ],
    source=FileSource(
        path=str(DATA / "customer_usage_v2" / "*.parquet"),
        file_format=ParquetFormat(),
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    ),
    tags={"owner": "growth", "version": "v2"},
)
'''


def write_demo_repo(path: Path) -> Path:
    """Write the repository (kept where files exist); returns its folder."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in (("feature_store.yaml", STORE_YAML), ("definitions.py", DEFINITIONS)):
        target = path / name
        if not target.exists():
            target.write_text(text, encoding="utf-8")
    for view in VIEWS:
        (path / "data" / view).mkdir(parents=True, exist_ok=True)
    return path


def _micros(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times, utc=True).astype("datetime64[us, UTC]").reset_index(drop=True)


def write_view_rows(
    repo: Path, frame: pd.DataFrame, part: str, *, created: pd.Series | None = None
) -> list[Path]:
    """Append churn observations (``customer_id``, ``timestamp``, features) to both views'
    sources as file ``part``; ``created`` (default: the event time) is when each row was
    written."""
    written = []
    # one time type in every file of a source (µs, UTC): the offline store reads them as one
    stamps = _micros(frame["timestamp"])
    made = stamps if created is None else _micros(created)
    for view, columns in VIEWS.items():
        rows = pd.DataFrame(
            {
                "customer_id": frame["customer_id"].astype("int64").to_numpy(),
                "event_timestamp": stamps,
                "created": made,
            }
        )
        for name in columns:
            rows[name] = frame[name].to_numpy()
        target = repo / "data" / view / f"{part}.parquet"
        rows.to_parquet(target, index=False)
        written.append(target)
    return written
