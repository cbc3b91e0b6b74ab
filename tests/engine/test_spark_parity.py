"""DuckDB and Spark run the same Ibis expressions: the counts must be identical."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftpilot.config import EngineConfig, parse_config
from driftpilot.demo import ChurnScenario, WeekSpec, stationary
from driftpilot.engine.backend import Engine
from driftpilot.engine.windows import CategoricalCounts, NumericCounts, count_windows
from driftpilot.profile.build import build_profile

pytestmark = pytest.mark.spark

CONFIG = parse_config(
    {"columns": {"id": ["customer_id"], "timestamp": "timestamp", "target": "churn"}}
)


@pytest.fixture(scope="module")
def spark() -> Engine:
    settings = {
        "spark.driver.memory": "1g",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
    }
    engine = Engine.create(EngineConfig(backend="pyspark", spark=settings))
    yield engine
    engine.backend._session.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parity")
    scenario = ChurnScenario(seed=5, rows_per_week=4000)
    reference = scenario.weeks(stationary(3))
    current = scenario.weeks(
        [
            WeekSpec(covariate_shift={"monthly_usage": 0.7, "plan": 0.3}),
            WeekSpec(broken={"payment_delay": "nulls"}),
        ],
        first=6,
    )
    table = pa.Table.from_pandas(current, preserve_index=False)
    usage = table.column("monthly_usage").to_numpy(zero_copy_only=False).copy()
    usage[:7], usage[7:10], usage[10:12] = np.nan, np.inf, -np.inf  # NaN and ±inf, not nulls
    usage[12:15] = [1e12, -5.0, 0.0]  # far outside the reference range
    table = table.set_column(
        table.schema.get_field_index("monthly_usage"), "monthly_usage", pa.array(usage)
    )
    paths = {
        "ref": folder / "ref.parquet",
        "cur": folder / "cur.parquet",
        "csv": folder / "cur.csv",
    }
    pq.write_table(pa.Table.from_pandas(reference, preserve_index=False), paths["ref"])
    pq.write_table(table, paths["cur"])
    broken = current.copy()  # text in a numeric column, read as text by both engines
    broken["tenure"] = broken["tenure"].astype(object)
    broken.loc[:20, "tenure"] = "unknown"
    broken.to_csv(paths["csv"], index=False)
    return {k: str(v) for k, v in paths.items()}


def assert_same(duck, spark) -> None:
    assert [(w.window, w.segment, w.rows) for w in duck] == [
        (w.window, w.segment, w.rows) for w in spark
    ]
    for a, b in zip(duck, spark, strict=True):
        for name, x in a.features.items():
            y = b.features[name]
            assert type(x) is type(y), name
            assert np.array_equal(x.counts, y.counts), name
            if isinstance(x, NumericCounts):
                assert (x.nulls, x.nan, x.pos_inf, x.neg_inf, x.type_errors) == (
                    y.nulls,
                    y.nan,
                    y.pos_inf,
                    y.neg_inf,
                    y.type_errors,
                ), name
                np.testing.assert_allclose(x.sums, y.sums, rtol=1e-9, atol=1e-6)
            else:
                assert isinstance(x, CategoricalCounts)
                assert x.nulls == y.nulls


def test_window_counts_are_identical(engine, spark, files) -> None:
    profile = build_profile(files["ref"], CONFIG, engine=engine)
    # the whole table here; windows by segment on the CSV below (each Spark job costs
    # seconds: the two cover the ungrouped and the grouped code paths; week windows are
    # compared by the monitor's parity test)
    for options in ({},):
        assert_same(
            count_windows(engine, files["cur"], profile, **options),
            count_windows(spark, files["cur"], profile, **options),
        )


def test_csv_counts_are_identical(engine, spark, files) -> None:
    profile = build_profile(files["ref"], CONFIG, engine=engine)
    duck = count_windows(engine, files["csv"], profile, window="day", segment="plan")
    assert sum(w.features["tenure"].type_errors for w in duck) == 21
    assert_same(duck, count_windows(spark, files["csv"], profile, window="day", segment="plan"))


def test_spark_builds_the_same_profile(engine, spark, files) -> None:
    duck = build_profile(files["ref"], CONFIG, engine=engine)
    other = build_profile(files["ref"], CONFIG, engine=spark)
    for name, feature in duck.features.items():
        twin = other.features[name]
        assert feature.type == twin.type
        assert feature.rows == twin.rows
        if feature.type == "numeric":
            assert feature.grid == twin.grid
            assert feature.bins.cells == twin.bins.cells
            assert feature.bins.counts == twin.bins.counts
            assert (feature.min, feature.max) == (twin.min, twin.max)
        else:
            assert (feature.categories, feature.counts) == (twin.categories, twin.counts)
        assert feature.calibration.method == twin.calibration.method == "time"
        assert feature.calibration.chunk_rows == twin.calibration.chunk_rows


def test_spark_samples_large_references_too(spark, files) -> None:
    config = CONFIG.model_copy(
        update={"profile": CONFIG.profile.model_copy(update={"sample_rows": 1000})}
    )
    profile = build_profile(files["ref"], config, engine=spark)
    assert profile.rows == 12_000
    assert sum(profile.features["tenure"].bins.counts) + profile.features["tenure"].nulls == 12_000


def test_monitor_on_spark_computes_the_same_reports(engine, spark, tmp_path) -> None:
    from driftpilot.monitor.job import run_monitor
    from tests.monitor.test_job import log_week, logged_week, make_workspace, weeks

    space = make_workspace(tmp_path)
    s, specs = weeks()
    for i in (4, 6, 8):
        log_week(space, logged_week(s, specs, i), labels=i < 8)
    duck = run_monitor(space, engine=engine, everything=True).computed
    other = run_monitor(space, engine=spark, everything=True).computed
    assert [r.window_key for r in duck] == [r.window_key for r in other]
    for a, b in zip(duck, other, strict=True):
        assert (a.rows, a.labels, a.dataset.drifted_features) == (
            b.rows,
            b.labels,
            b.dataset.drifted_features,
        )
        for metric in ("accuracy", "recall", "tp", "fp", "roc_auc", "brier"):
            if a.performance[metric] is None:  # the unlabeled week
                assert b.performance[metric] is None
                continue
            assert a.performance[metric] == pytest.approx(
                b.performance[metric], rel=1e-9, abs=1e-12
            )
        assert a.estimate["roc_auc"] == pytest.approx(b.estimate["roc_auc"], rel=1e-9)
        assert a.kpis == pytest.approx(b.kpis)
        assert a.prediction_drift.statistics == pytest.approx(b.prediction_drift.statistics)
        regions = a.performance["by_segment"]["region"]
        assert regions.keys() == b.performance["by_segment"]["region"].keys()
        for region, metrics in regions.items():
            assert metrics == pytest.approx(b.performance["by_segment"]["region"][region])
