"""The distributions a drift report carries for its overlay: the reference's bins, the
window's counts in them, checked against numpy on the raw values."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from driftpilot.drift import drift_report
from driftpilot.drift.histogram import OTHER, UNSEEN
from driftpilot.profile.build import build_profile
from driftpilot.report.figures import overlay_figure


def test_numeric_histogram_counts_the_raw_values_in_the_reference_bins() -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"usage": rng.lognormal(3, 0.5, 5000)})
    current = pd.DataFrame({"usage": rng.lognormal(3.4, 0.5, 2000)})
    profile = build_profile(reference)
    histogram = drift_report(current, profile=profile).features["usage"].histogram
    assert histogram is not None
    assert histogram.kind == "numeric"
    edges = np.asarray(histogram.edges)
    assert edges[0] == reference["usage"].min()
    assert edges[-1] == reference["usage"].max()
    values = current["usage"].to_numpy()
    assert histogram.below == int((values < edges[0]).sum())
    assert histogram.above == int((values > edges[-1]).sum())
    assert sum(histogram.current) + histogram.below + histogram.above == len(values)
    assert sum(histogram.reference) == len(reference)
    # quantile bins: the raw values fall in them as numpy bins them (edges are grid cells, so
    # a value within a cell of an edge may land next door: compare the totals per half)
    inside = values[(values >= edges[0]) & (values <= edges[-1])]
    oracle, _ = np.histogram(inside, bins=edges)
    half = len(oracle) // 2
    assert abs(sum(histogram.current[:half]) - oracle[:half].sum()) <= 0.01 * len(values)


def test_categorical_histogram_has_other_and_unseen() -> None:
    reference = pd.DataFrame({"plan": ["basic"] * 60 + ["premium"] * 40})
    current = pd.DataFrame({"plan": ["basic"] * 10 + ["premium"] * 5 + ["family"] * 5})
    report = drift_report(current, profile=build_profile(reference))
    histogram = report.features["plan"].histogram
    assert histogram is not None
    assert histogram.kind == "categorical"
    counts = dict(zip(histogram.labels, histogram.current, strict=True))
    assert counts == {"basic": 10, "premium": 5, OTHER: 0, UNSEEN: 5}
    assert dict(zip(histogram.labels, histogram.reference, strict=True))[UNSEEN] == 0


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=20, max_size=200),
    st.lists(st.floats(-2e3, 2e3), min_size=1, max_size=200),
)
def test_overlay_densities_integrate_to_the_share_inside_the_range(ref, cur) -> None:
    profile = build_profile(pd.DataFrame({"x": ref}))
    feature = drift_report(pd.DataFrame({"x": cur}), profile=profile).features["x"]
    if feature.histogram is None or len(feature.histogram.edges) < 2:
        return  # a constant reference has no bins to draw
    h = feature.histogram
    overlay = {"feature": "x", "window": "w", "method": "psi", "score": 0.0, "threshold": 0.2,
               "histogram": h.model_dump()}  # fmt: skip
    current = overlay_figure(overlay)["data"][1]
    widths = np.diff(h.edges)
    area = float(np.sum(np.asarray(current["y"]) * np.maximum(widths, 1e-12)))
    inside = sum(h.current) / (sum(h.current) + h.below + h.above)
    assert abs(area - inside) < 1e-9
    reference = overlay_figure(overlay)["data"][0]
    assert abs(float(np.sum(np.asarray(reference["y"]) * np.maximum(widths, 1e-12))) - 1) < 1e-9
