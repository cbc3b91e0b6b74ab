"""The files the README's shell examples name, made from the churn scenario, and what the
examples take from outside driftpilot (a model logged to MLflow, a feature pipeline's rows).

The weeks are placed so that the newest ones are the last weeks before now: retraining reads
the last ``retrain.days`` (30) days of labels, and materializing the last 30 days.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pandas as pd

from driftpilot.demo import ChurnScenario, SegmentConcept, WeekSpec

__all__ = ["imported_model", "monday_weeks_ago", "write_churn_files", "write_feature_rows"]

ROWS = 1500
SOUTH = WeekSpec(concept=SegmentConcept(column="region", value="south", strength=1.0))
USAGE = WeekSpec(covariate_shift={"monthly_usage": 1.0})
NUMERIC = ["tenure", "monthly_usage", "support_calls", "age"]  # the imported model's features


def monday_weeks_ago(weeks: int, now: datetime) -> datetime:
    """Monday 00:00 UTC (naive) of the week ``weeks`` before the current one."""
    today = now.astimezone(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday(), weeks=weeks)


def scenario(now: datetime) -> ChurnScenario:
    """Weeks 0–1 the training data, 2–3 production (south's churners change), 4 last week."""
    return ChurnScenario(seed=3, rows_per_week=ROWS, start=monday_weeks_ago(5, now))


def write_churn_files(folder: Path, now: datetime) -> None:
    """training.parquet, training_with_scores.parquet, this_week.{parquet,csv},
    this_week/*.parquet, today.parquet (two weeks of scored predictions) and outcomes.jsonl
    (their labels), in ``folder``."""
    churn = scenario(now)
    training = churn.weeks([None, None])
    training.to_parquet(folder / "training.parquet", index=False)
    training.assign(score=churn.churn_probability(training)).to_parquet(
        folder / "training_with_scores.parquet", index=False
    )
    week = churn.week(4, USAGE)
    week.to_parquet(folder / "this_week.parquet", index=False)
    # 200 rows: DuckDB sniffs a CSV's timestamps anew in each of the drift job's queries
    week.head(200).to_csv(folder / "this_week.csv", index=False)
    (folder / "this_week").mkdir()
    half = len(week) // 2
    week.iloc[:half].to_parquet(folder / "this_week" / "part-0.parquet", index=False)
    week.iloc[half:].to_parquet(folder / "this_week" / "part-1.parquet", index=False)
    production = churn.weeks([SOUTH, SOUTH], first=2)
    production["prediction_id"] = [f"p{i:05d}" for i in range(len(production))]
    predictions = production.drop(columns="churn").rename(columns={"customer_id": "entity_id"})
    predictions.assign(score=churn.churn_probability(production)).to_parquet(
        folder / "today.parquet", index=False
    )
    labels = (
        orjson.dumps({"prediction_id": pid, "label": int(label)}).decode()
        for pid, label in zip(production["prediction_id"], production["churn"], strict=True)
    )
    (folder / "outcomes.jsonl").write_text("\n".join(labels) + "\n", encoding="utf-8")


def write_feature_rows(folder: Path, now: datetime) -> None:
    """What a feature pipeline writes into ``ws/features/data/VIEW/``: customers' rows of
    last week, with customers 42 and 43 updated an hour ago."""
    from driftpilot.features.demo_repo import write_view_rows

    churn = scenario(now)
    rows = churn.week(4, USAGE)
    latest = churn.week(5, rows=2).assign(
        customer_id=[42, 43], timestamp=[now.replace(tzinfo=None) - timedelta(hours=1)] * 2
    )
    write_view_rows(folder / "ws" / "features", pd.concat([rows, latest]), "weeks-04-05")


def imported_model(folder: Path, store: Path, now: datetime) -> str:
    """A workspace ``folder/ws`` whose MLflow store (a copy of ``store``, for another model)
    holds a run with a scikit-learn model trained elsewhere, and its labeled reference data
    ``folder/reference.parquet``; returns the run's id."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    from driftpilot.workspace import init_workspace

    space = init_workspace(folder / "ws")
    space.config_path.write_text(
        "columns: {id: [customer_id], timestamp: timestamp, target: churn}\n"
        "model:\n  name: churn_numeric\n  features: {"
        + ", ".join(f"{n}: numeric" for n in NUMERIC)
        + "}\n",
        encoding="utf-8",
    )
    shutil.copy(store, space.root / "mlflow.db")
    training = scenario(now).weeks([None, None]).dropna(subset=NUMERIC)
    training.to_parquet(folder / "reference.parquet", index=False)
    model = LogisticRegression(max_iter=1000).fit(training[NUMERIC], training["churn"])
    uri = f"sqlite:///{space.root / 'mlflow.db'}"
    experiment = mlflow.MlflowClient(uri).create_experiment(
        "training", (space.root / "mlruns").as_uri()
    )
    # the variable, not set_tracking_uri: nothing global outlives the run (driftpilot itself
    # reads MLFLOW_TRACKING_URI too, so it is gone before the README's command runs)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        with mlflow.start_run(experiment_id=experiment) as run:
            # requirements given (inferring them imports the model in a subprocess) and
            # cloudpickle, not skops (whose import alone takes seconds)
            mlflow.sklearn.log_model(
                model,
                name="model",
                pip_requirements=["scikit-learn"],
                serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            )
    finally:
        del os.environ["MLFLOW_TRACKING_URI"]
    return str(run.info.run_id)
