"""The cumulative deviation of each account over time, drawn on the server as inline SVG (as the
desk's other chart, decision 0027): no script, each line told apart by its dash pattern and
labelled with its account and last figure at its end, and described for screen readers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from fractions import Fraction

from markupsafe import Markup, escape

from allotment.services.fairness.series import Series

WIDTH = 640
HEIGHT = 280
LEFT = 56
RIGHT = 150
TOP = 14
BOTTOM = 34
STROKES = ("#1f5fa8", "#b8461b", "#2e7d32", "#6a3d9a", "#8c6d1f", "#0f7c80", "#a0215b", "#444")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4", "12 2 2 2")


def _number(value: Fraction) -> str:
    return f"{float(value):+.2f}"


def cumulative_deviation(series: Sequence[Series], title: str) -> Markup:
    """Lines of cumulative deviation (increments) against trade dates, with the zero line."""
    drawn = [one for one in series if one.points]
    if not drawn:
        return Markup("")
    days = sorted({day for one in drawn for day, _ in one.points})
    values = [value for one in drawn for _, value in one.points] + [Fraction(0)]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    first, span = days[0], max((days[-1] - days[0]).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return LEFT + (day - first).days / span * plot_w

    def y(value: Fraction) -> float:
        return TOP + float((high - value) / (high - low)) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="deviation-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="deviation-title">{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{y(Fraction(0)):.1f}" x2="{LEFT + plot_w}" '
        f'y2="{y(Fraction(0)):.1f}" stroke="#999" stroke-width="1"/>',
        f'<text x="{LEFT - 6}" y="{y(high) + 4:.1f}" text-anchor="end" '
        f'class="chart-label">{_number(high)}</text>',
        f'<text x="{LEFT - 6}" y="{y(low) + 4:.1f}" text-anchor="end" '
        f'class="chart-label">{_number(low)}</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 10}" class="chart-label">{days[0]}</text>',
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 10}" text-anchor="end" '
        f'class="chart-label">{days[-1]}</text>',
    ]
    for index, one in enumerate(drawn):
        parts.append(_line(one, index, x, y))
    parts.append("</svg>")
    return Markup("".join(parts))


def _line(
    one: Series, index: int, x: Callable[[date], float], y: Callable[[Fraction], float]
) -> str:
    stroke, dash = STROKES[index % len(STROKES)], DASHES[index % len(DASHES)]
    points = " ".join(f"{x(day):.1f},{y(value):.1f}" for day, value in one.points)
    if len(one.points) == 1:  # one day: a short flat line, so it shows
        day, value = one.points[0]
        points = f"{x(day) - 4:.1f},{y(value):.1f} {x(day) + 4:.1f},{y(value):.1f}"
    last_day, last = one.points[-1]
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    label = f"{one.account_id} {_number(last)}"
    return (
        f'<polyline points="{points}" fill="none" stroke="{stroke}" stroke-width="2"{dashes}>'
        f"<title>{escape(label)} increments</title></polyline>"
        f'<text x="{x(last_day) + 6:.1f}" y="{y(last) + 4:.1f}" class="chart-figure">'
        f"{escape(label)}</text>"
    )
