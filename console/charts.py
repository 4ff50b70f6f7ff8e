"""Small charts drawn on the server as SVG: no script, no library, nothing from a CDN.

``bar_chart`` computes the geometry; ``overview/_bar_chart.html`` draws it. The
chart is an image with a title and a one-line summary for screen readers
(``role="img"``); the page shows the same figures as a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 120
AXIS = 1  # the baseline under the bars (the labels are HTML under the image)
TOP = 2
GAP = 2


@dataclass(frozen=True)
class Bar:
    """One bar: its value, label, link and position in the SVG's coordinates."""

    label: str
    value: int
    text: str  # the value as people read it ("about 48,000")
    url: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    peak: Bar | None  # the tallest bar (named under the chart)
    total: int


@dataclass(frozen=True)
class Point:
    """One value to draw: a label, the value, how to write it, where it links."""

    label: str
    value: int
    text: str
    url: str


def bar_chart(points: Sequence[Point]) -> BarChart:
    """Bars for ``points`` scaled to the largest value (a chart of zeros stays flat)."""
    baseline = HEIGHT - AXIS
    room = baseline - TOP
    peak_value = max((p.value for p in points), default=0)
    step = WIDTH / max(len(points), 1)
    bars = []
    for i, p in enumerate(points):
        height = room * p.value / peak_value if peak_value else 0.0
        if p.value and height < 2:
            height = 2.0  # a day with a change is never drawn as no change
        bars.append(
            Bar(
                label=p.label,
                value=p.value,
                text=p.text,
                url=p.url,
                x=round(i * step + GAP / 2, 2),
                y=round(baseline - height, 2),
                width=round(step - GAP, 2),
                height=round(height, 2),
            )
        )
    peak = max(bars, key=lambda b: b.value) if peak_value else None
    return BarChart(WIDTH, HEIGHT, baseline, bars, peak, sum(p.value for p in points))
