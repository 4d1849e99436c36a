"""Charts drawn on the server as inline SVG (decision 0027): no script, no library, readable
without colour (each bar is labelled with its figure) and described for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape


def figure(value: Decimal) -> str:
    """A quantity as people read it: no exponent, no trailing zeros."""
    return format(value.normalize(), "f") if value else "0"


ROW = 34
LABEL = 150
WIDTH = 640
BAR = 11


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    target: Decimal
    given: Decimal


def target_vs_given(bars: Sequence[Bar], title: str) -> Markup:
    """Per participant: a hollow bar for the exact target, a filled one for what it got."""
    if not bars:
        return Markup("")
    top = max(max(bar.target, bar.given) for bar in bars) or Decimal(1)
    span = WIDTH - LABEL - 90
    height = ROW * len(bars) + 30
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for row, bar in enumerate(bars):
        y = 10 + row * ROW
        target_width = float(bar.target / top) * span
        given_width = float(bar.given / top) * span
        parts += [
            f'<text x="0" y="{y + 15}" class="chart-label">{escape(bar.label)}</text>',
            f'<rect x="{LABEL}" y="{y}" width="{target_width:.1f}" height="{BAR}" '
            f'class="chart-target"><title>target {figure(bar.target)}</title></rect>',
            f'<rect x="{LABEL}" y="{y + BAR + 2}" width="{given_width:.1f}" height="{BAR}" '
            f'class="chart-given"><title>given {figure(bar.given)}</title></rect>',
            f'<text x="{LABEL + max(target_width, given_width) + 6:.1f}" y="{y + 15}" '
            f'class="chart-figure">{figure(bar.given)} / {figure(bar.target)}</text>',
        ]
    legend = height - 8
    parts += [
        f'<rect x="{LABEL}" y="{legend - 9}" width="12" height="10" class="chart-target"/>',
        f'<text x="{LABEL + 16}" y="{legend}" class="chart-label">target (exact)</text>',
        f'<rect x="{LABEL + 130}" y="{legend - 9}" width="12" height="10" class="chart-given"/>',
        f'<text x="{LABEL + 146}" y="{legend}" class="chart-label">given</text>',
        "</svg>",
    ]
    return Markup("".join(parts))
