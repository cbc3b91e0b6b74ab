"""Synthetic data for demos, tests and benchmarks.

:class:`ChurnScenario` generates weekly customer-churn batches whose drift is switched on week
by week with :class:`WeekSpec`; :func:`stationary`, :func:`gradual` and :func:`story` build
ready-made sequences of specs.

Examples
--------
>>> from driftpilot.demo import ChurnScenario, story
>>> frame = ChurnScenario(seed=0, rows_per_week=200).weeks(story())
>>> len(frame)
2400
"""

from driftpilot.demo.churn import (
    ChurnScenario,
    SegmentConcept,
    WeekSpec,
    gradual,
    stationary,
    story,
)

__all__ = ["ChurnScenario", "SegmentConcept", "WeekSpec", "gradual", "stationary", "story"]
