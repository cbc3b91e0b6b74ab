import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from driftpilot.engine.backend import Engine
from driftpilot.engine.expressions import cell_expression
from driftpilot.profile.grid import CODES, Grid, choose_boundaries, decode, encode, grid_for, refine


def engine_cells(engine, values: np.ndarray, grid: Grid, low=None, high=None) -> np.ndarray:
    table = engine.table(pd.DataFrame({"x": values}))
    cell = cell_expression(table.x, grid, missing=table.x.isnull(), low=low, high=high)
    return engine.execute(table.select(cell=cell)).column("cell").to_numpy()


def grid_values(grid: Grid) -> np.ndarray:
    """Values on and next to cell boundaries across the linear and logarithmic parts."""
    cells = np.arange(-1200, 1200, 7)
    edges = grid.base_edge(cells)
    return np.concatenate(
        [
            edges,
            np.nextafter(edges, np.inf),
            np.nextafter(edges, -np.inf),
            [grid.center, 1e300, -1e300, 1e-300],
        ]
    )


@pytest.mark.parametrize(
    "grid",
    [Grid(center=0.0, scale=1.0), Grid(center=1e6, scale=250.0), Grid(center=-3.5, scale=0.003)],
)
def test_engine_and_numpy_agree_cell_for_cell(engine, grid: Grid) -> None:
    values = grid_values(grid)
    assert np.array_equal(engine_cells(engine, values, grid), grid.cells(values))


@given(arrays(np.float64, 50, elements=st.floats(-1e12, 1e12)))
@settings(max_examples=15, deadline=None)
def test_engine_and_numpy_agree_on_any_finite_values(values: np.ndarray) -> None:
    grid = grid_for(values)
    assert np.array_equal(engine_cells(_ENGINE, values, grid), grid.cells(values))


_ENGINE = Engine.create()  # hypothesis forbids function-scoped fixtures in @given tests


def test_special_values_get_their_codes(engine) -> None:
    grid = Grid(center=0.0, scale=1.0)
    values = np.array([np.nan, np.inf, -np.inf, 1.0, -7.0, 9.0])
    # pandas turns NaN into a missing value; Arrow keeps NaN and null apart
    table = engine.table(pa.table({"x": pa.array([None, *values], type=pa.float64())}))
    cells = (
        engine.execute(
            table.select(
                cell=cell_expression(table.x, grid, missing=table.x.isnull(), low=-5.0, high=5.0)
            )
        )
        .column("cell")
        .to_pylist()
    )
    expected_cell = int(encode(np.array([100]))[0])
    assert cells == [
        None,
        CODES.NAN,
        CODES.POS_INF,
        CODES.NEG_INF,
        expected_cell,
        CODES.UNDER,
        CODES.OVER,
    ]


def test_each_value_lies_inside_its_cell() -> None:
    grid = Grid(center=3.0, scale=2.0)
    values = np.sort(np.random.default_rng(0).standard_cauchy(10_000) * 5)
    cells = grid.cells(values)
    assert np.all(np.diff(cells) >= 0)  # cells are ordered like values
    base = decode(cells)
    # lower_edge(cell) <= x < lower_edge(next base cell), up to rounding in the last bits
    assert np.all(grid.lower_edge(cells) <= values + np.abs(values) * 1e-12 + 1e-12)
    assert np.all(values < grid.base_edge(base + 1) + np.abs(values) * 1e-12 + 1e-12)


def test_refinement_resolves_data_at_two_scales(engine) -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.uniform(0, 100, 30_000), rng.uniform(1e5, 1e6, 70_000)])
    grid = grid_for(values)
    (crowded,) = np.unique(grid.base_cells(values[values < 100]))  # all small values: one cell
    refined = refine(grid, int(crowded), values, 0.0, 100.0)
    cells = refined.cells(values)
    small = np.unique(cells[values < 100])
    assert small.size > 100  # the small cluster now has cells of its own
    order = np.argsort(values)
    assert np.all(np.diff(cells[order]) >= 0)
    assert np.array_equal(engine_cells(engine, values[:5000], refined), cells[:5000])
    edges = refined.lower_edge(np.unique(cells))
    assert np.all(np.diff(edges) >= 0)


def test_a_normal_feature_puts_little_mass_in_any_cell() -> None:
    values = np.random.default_rng(1).normal(50, 10, 200_000)
    grid = grid_for(values)
    _, counts = np.unique(grid.cells(values), return_counts=True)  # encoded cells
    assert counts.max() / values.size < 0.006


def test_grid_for_falls_back_for_degenerate_samples() -> None:
    assert grid_for(np.array([])).scale == 1.0
    assert grid_for(np.array([5.0] * 10)) == Grid(center=5.0, scale=1.0)
    mostly_zero = np.array([0.0] * 90 + list(range(1, 11)))
    assert grid_for(mostly_zero).scale == pytest.approx(np.std(mostly_zero))


@given(st.lists(st.integers(1, 1000), min_size=1, max_size=300), st.integers(2, 120))
def test_boundaries_cover_all_cells_with_near_equal_mass(counts: list[int], bins: int) -> None:
    cells = np.arange(len(counts)) * 3 - 50
    weights = np.asarray(counts, float)
    bounds = choose_boundaries(cells, weights, bins)
    assert bounds[0] == cells[0]
    assert bounds[-1] == cells[-1] + 1
    assert np.all(np.diff(bounds) > 0)
    assert len(bounds) - 1 <= bins
    index = np.searchsorted(bounds, cells, side="right") - 1
    mass = np.bincount(index, weights=weights) / weights.sum()
    # a bin is never heavier than one share plus the heaviest single cell
    assert mass.max() <= 1 / bins + weights.max() / weights.sum() + 1e-12
