"""The HTML page of the report and the dashboard: one Jinja2 template over
:func:`driftpilot.report.view.build_view`'s data.

``render_html(view)`` gives one self-contained file: plotly.js (from the installed plotly
package) is embedded, so the report opens offline and can be mailed. The dashboard renders
the same page with ``plotly_src`` (plotly.js served once, cached) and ``refresh`` (seconds
between the page's own updates).

Example (an empty workspace renders too)::

    >>> import tempfile
    >>> from driftpilot.workspace import init_workspace
    >>> from driftpilot.report.view import build_view
    >>> page = render_html(build_view(init_workspace(tempfile.mkdtemp())), plotly_src="x.js")
    >>> "no window reports yet" in page
    True
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from driftpilot.features.freshness import age_text
from driftpilot.report import figures
from driftpilot.report.sparkline import sparkline

__all__ = ["plotly_js", "render_html", "write_html"]

_TEMPLATES = Path(__file__).parent / "templates"
_PERFORMANCE = (("roc_auc", "ROC AUC"), ("recall", "recall at the threshold"))


@cache
def plotly_js() -> str:
    """plotly.js as the installed plotly package bundles it (works offline)."""
    from plotly.offline import get_plotlyjs

    text: str = get_plotlyjs()
    return text


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}"


def _signed(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{value:+.{digits}f}"


def _figures(view: dict[str, Any]) -> dict[str, Any]:
    """Every chart of the page by section, as JSON text for the page's script."""
    performance = view["performance"]
    models = view.get("models") or {}
    features = view.get("features") or {}
    out: dict[str, Any] = {
        "overlays": [figures.overlay_figure(o) for o in view["overlays"]],
        "performance": (
            [figures.performance_figure(performance, m, label) for m, label in _PERFORMANCE]
            if performance["windows"]
            else []
        ),
        "segments": (
            [figures.segment_heatmap(view["segments"])] if view["segments"]["rows"] else []
        ),
        "timeline": [figures.timeline_figure(models["timeline"])] if models.get("timeline") else [],
        "freshness": (
            [figures.feature_age_figure(features["checks"])] if features.get("checks") else []
        ),
    }
    return {k: [json.dumps(f, separators=(",", ":")) for f in v] for k, v in out.items()}


@cache
def _template() -> Any:
    """The page's template, compiled once per process."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["signed"] = _signed
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * v:.0f}%"
    env.filters["age"] = lambda v: "—" if v is None else age_text(v)  # as the CLI writes it
    env.globals["sparkline"] = sparkline
    return env.get_template("report.html.j2")


def render_html(
    view: dict[str, Any], *, plotly_src: str | None = None, refresh: float | None = None
) -> str:
    """The page: plotly.js embedded unless ``plotly_src`` names where to load it from;
    ``refresh`` makes it update itself every so many seconds (the dashboard)."""
    page: str = _template().render(
        view=view,
        charts=_figures(view),
        plotly_inline=None if plotly_src else plotly_js(),
        plotly_src=plotly_src,
        refresh=refresh,
    )
    return page


def write_html(view: dict[str, Any], path: Path) -> Path:
    """Write the self-contained report to ``path`` (its folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(view), encoding="utf-8")
    return path
