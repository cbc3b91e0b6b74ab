"""Plotly figures (plain JSON specs: ``{"data": [...], "layout": {...}}``) and SVG sparklines
for the report's parts. Pure functions of :func:`driftpilot.report.view.build_view`'s data.

Plotly renders a subset of HTML in titles, tick labels and hover text, so every string that
comes from the data (feature, segment, view names, reasons) is escaped first (:func:`_text`).

Quantile bins have unequal widths, so a numeric overlay plots densities (share of values per
unit of the feature), not counts: equal reference counts would otherwise look uniform.
"""

from __future__ import annotations

import html
from itertools import pairwise
from typing import Any

from driftpilot.report.view import alert_floor

__all__ = [
    "feature_age_figure",
    "overlay_figure",
    "performance_figure",
    "segment_heatmap",
    "timeline_figure",
]

REFERENCE, CURRENT, ESTIMATE, ALERT = "#7f8c9a", "#e4572e", "#2e86de", "#c0392b"
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
    "height": 320,
    "legend": {"orientation": "h", "y": -0.2},
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "xaxis": {"gridcolor": "#eee"},
    "yaxis": {"gridcolor": "#eee"},
}


def _text(value: object) -> str:
    """A data string made inert for Plotly's HTML subset (``<a href>``, ``<b>`` …)."""
    return html.escape(str(value), quote=True)


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {**_LAYOUT, "title": {"text": title, "font": {"size": 14}}, **extra}


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def overlay_figure(overlay: dict[str, Any]) -> dict[str, Any]:
    """Reference vs current distribution of one feature in one window."""
    histogram = overlay["histogram"]
    title = (
        f"<b>{_text(overlay['feature'])}</b> · {overlay['method']} {overlay['score']:.3g} > "
        f"{overlay['threshold']:.3g} · window {overlay['window']}"
    )
    if histogram["kind"] == "categorical":
        labels = [_text(label) for label in histogram["labels"]]
        bars: list[dict[str, Any]] = [
            {
                "type": "bar",
                "name": name,
                "x": labels,
                "y": _shares(counts),
                "marker": {"color": colour},
            }
            for name, counts, colour in (
                ("reference", histogram["reference"], REFERENCE),
                ("current", histogram["current"], CURRENT),
            )
        ]
        return {
            "data": bars,
            "layout": _layout(
                title, barmode="group", yaxis={"title": "share", "gridcolor": "#eee"}
            ),
        }
    edges = histogram["edges"]
    widths = [max(b - a, 1e-12) for a, b in pairwise(edges)]
    centres = [(a + b) / 2 for a, b in pairwise(edges)]
    total = sum(histogram["current"]) + histogram["below"] + histogram["above"]
    data: list[dict[str, Any]] = []
    for name, counts, colour, n in (
        ("reference", histogram["reference"], REFERENCE, sum(histogram["reference"])),
        ("current", histogram["current"], CURRENT, total),
    ):
        density = [c / n / w if n else 0.0 for c, w in zip(counts, widths, strict=True)]
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": centres,
                "y": density,
                "width": widths,
                "marker": {"color": colour},
                "opacity": 0.55,
            }
        )
    outside = histogram["below"] + histogram["above"]
    if outside and total:
        title += (
            f"<br><sub>{outside / total:.1%} of current values outside the reference range</sub>"
        )
    high = _upper(edges, histogram["reference"], histogram["current"])
    return {
        "data": data,
        "layout": _layout(
            title,
            barmode="overlay",
            bargap=0,
            yaxis={"title": "density", "gridcolor": "#eee"},
            xaxis={"range": [edges[0], high], "gridcolor": "#eee"},
        ),
    }


def _upper(edges: list[float], reference: list[int], current: list[int]) -> float:
    """Where 99.5 % of both sides' values lie below: a long tail does not squash the plot."""
    totals = [r + c for r, c in zip(reference, current, strict=True)]
    limit, seen = 0.995 * sum(totals), 0
    for count, edge in zip(totals, edges[1:], strict=True):
        seen += count
        if seen >= limit:
            return edge
    return edges[-1]


def performance_figure(performance: dict[str, Any], metric: str, label: str) -> dict[str, Any]:
    """A metric per window: realized (once labels are in), the label-free estimate and its
    band, the reference's value and the floor below which a window's realized value is
    beyond the noise of its label count."""
    rows = performance["windows"]
    x = [r["window"] for r in rows]
    band = [r["band"].get(metric) for r in rows]
    with_band = [(w, b) for w, b in zip(x, band, strict=True) if b]
    data: list[dict[str, Any]] = []
    if with_band:
        data += [
            {
                "type": "scatter",
                "x": [w for w, _ in with_band],
                "y": [b[1] for _, b in with_band],
                "mode": "lines",
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
                "name": "band upper",
            },
            {
                "type": "scatter",
                "x": [w for w, _ in with_band],
                "y": [b[0] for _, b in with_band],
                "mode": "lines",
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": "rgba(46,134,222,0.18)",
                "name": "its band (±3 s.e.)",
            },
        ]
    data += [
        {
            "type": "scatter",
            "x": x,
            "y": [r["estimate"].get(metric) for r in rows],
            "mode": "lines+markers",
            "name": "estimated (CBPE)",
            "line": {"color": ESTIMATE, "dash": "dash"},
        },
        {
            "type": "scatter",
            "x": x,
            "y": [r["realized"].get(metric) for r in rows],
            "mode": "lines+markers",
            "name": "realized (labels)",
            "line": {"color": CURRENT, "width": 3},
        },
    ]
    spread = performance.get("spread") or {}
    floors = [alert_floor(spread, metric, r.get("labeled")) for r in rows]
    if any(f is not None for f in floors):
        data.append(
            {
                "type": "scatter",
                "x": x,
                "y": floors,
                "mode": "lines",
                "line": {"color": ALERT, "dash": "dash", "width": 1},
                "name": "alert floor (−3σ)",
                "hovertemplate": "%{y:.3f}: the reference − 3σ at the window's labels"
                "<extra>alert floor</extra>",
            }
        )
    reference = (performance.get("reference") or {}).get(metric)
    shapes = []
    if reference is not None and x:
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": reference,
                "y1": reference,
                "line": {"color": REFERENCE, "dash": "dot"},
            }
        )
        label += f" (the windows' reference {reference:.3f}, dotted)"
    extra: dict[str, Any] = {}
    pending = (performance.get("reference_pending") or {}).get(metric)
    if pending is not None:
        label += (
            f"<br><sub>the workspace's new reference, {pending:.3f}, "
            "applies from the next monitor run</sub>"
        )
        extra["margin"] = {**_LAYOUT["margin"], "t": 64}  # room for the second title line
    layout = _layout(label, shapes=shapes, xaxis={"type": "category", "gridcolor": "#eee"}, **extra)
    return {"data": data, "layout": layout}


def segment_heatmap(segments: dict[str, Any]) -> dict[str, Any]:
    """Recall per segment (rows, worst now at the top) and window (columns), minus the
    window's overall recall: a sub-population that falls behind is a red row."""
    rows = list(reversed(segments["rows"]))
    overall = segments["overall_history"]
    z = [
        [
            None if v is None or o is None else round(v - o, 4)
            for v, o in zip(r["history"], overall, strict=True)
        ]
        for r in rows
    ]
    text = [["—" if v is None else f"{v:.3f}" for v in r["history"]] for r in rows]
    data = [
        {
            "type": "heatmap",
            "x": segments["windows"],
            "y": [_text(f"{r['column']}={r['segment']}") for r in rows],
            "z": z,
            "text": text,
            "hovertemplate": "%{y} · %{x}<br>recall %{text} (vs overall %{z:+.3f})<extra></extra>",
            "colorscale": "RdBu",
            "reversescale": True,  # below the overall recall is red
            "zmid": 0,
            "colorbar": {"title": {"text": "vs overall"}},
        }
    ]
    return {
        "data": data,
        "layout": _layout(
            "recall by segment and window, against the window's overall recall",
            height=120 + 28 * len(rows),
            margin={"l": 130, "r": 20, "t": 40, "b": 40},
            xaxis={"type": "category"},
            yaxis={"type": "category"},
        ),
    }


def timeline_figure(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """Registrations, retrains and canary steps over time, one row per version."""
    # colour, symbol, size: a version's own events (rings) stay visible around the canary's
    # (filled marks) when both fall on the same day
    marks = {
        "registered": (REFERENCE, "circle-open", 20),
        "retrained": (ESTIMATE, "circle-open", 20),
        "canary start": ("#8e44ad", "triangle-right", 11),
        "canary advance": ("#16a085", "triangle-up", 11),
        "canary promote": ("#27ae60", "star", 15),
        "canary rollback": (ALERT, "x", 13),
    }
    data = []
    for kind, (colour, symbol, size) in marks.items():
        events = [e for e in timeline if e["kind"] == kind]
        if events:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": kind,
                    "x": [e["at"] for e in events],
                    "y": [f"v{e['version']}" for e in events],
                    "text": [_text(e["text"]) for e in events],
                    "hoverinfo": "text+x",
                    "marker": {
                        "color": colour,
                        "size": size,
                        "symbol": symbol,
                        "line": {"width": 3 if symbol.endswith("-open") else 0},
                    },
                }
            )
    return {
        "data": data,
        "layout": _layout(
            "model timeline", height=260, yaxis={"type": "category", "gridcolor": "#eee"}
        ),
    }


def feature_age_figure(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """The age of each view's newest online value at each check, against its allowance."""
    views = sorted({v for c in checks for v in c.get("ages", {})})
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _text(view),
            "x": [c["checked_at"] for c in checks],
            "y": [c["ages"].get(view) for c in checks],
        }
        for view in views
    ]
    allowed = [c.get("allowed_hours") for c in checks if c.get("allowed_hours")]
    if allowed:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "allowed",
                "x": [c["checked_at"] for c in checks],
                "y": [c.get("allowed_hours") for c in checks],
                "line": {"color": ALERT, "dash": "dot"},
            }
        )
    return {"data": data, "layout": _layout("age of the newest online value (hours)", height=280)}
