"""Server-drawn SVG charts for the incident metrics page: no JavaScript, nothing inline that the
site's Content-Security-Policy would block, and readable by screen readers.

Colours come from the page's CSS through one class per series (``sev1`` .. ``sev4``); the SVG
carries only geometry and a few presentation attributes (``font-size``, ``text-anchor``,
``stroke``) that CSP allows and CSS can override. Text is escaped here, so the result is safe.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from incidents.metrics import SEVERITIES, PeriodCount

FONT_SIZE = 11
CHAR_WIDTH = 6.5  # a generous average advance for an 11px sans-serif, to keep labels apart
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 28, 22  # plot margins: y ticks, legend above, x labels below
BAR_FILL = 0.7  # share of each period's band the bar takes
EMPTY = "No incidents in this period"


def bar_chart(
    title: str,
    periods: Sequence[PeriodCount],
    series: Sequence[str] = SEVERITIES,
    *,
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """Stacked bars, one per period, one segment per non-zero series count, bottom first.

    The SVG has ``role="img"`` labelled by its ``<title>`` and a ``<desc>`` that states the
    totals in words, so a screen reader hears the figures rather than a list of rectangles.
    Each bar also has its own ``<title>`` for a hover tooltip. With no incidents at all it says
    so in text instead of drawing an empty grid that looks like missing data.
    """
    ident = chart_id(title)
    totals = {name: sum(p.by_severity.get(name, 0) for p in periods) for name in series}
    grand_total = sum(totals.values())
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-size="{FONT_SIZE}" '
        f'fill="currentColor">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(describe(periods, series, totals))}</desc>',
    ]
    if grand_total == 0:
        parts.append(
            f'<text class="empty" x="{width / 2:g}" y="{height / 2:g}" '
            f'text-anchor="middle">{EMPTY}</text>'
        )
    else:
        parts += legend(series)
        parts += plot(periods, series, width, height)
    parts.append("</svg>")
    return mark_safe("\n".join(parts))


def chart_id(title: str) -> str:
    """A stable id for ``aria-labelledby``: readable, and unique per title on one page."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    digest = hashlib.sha1(title.encode(), usedforsecurity=False).hexdigest()[:6]
    return f"chart-{slug}-{digest}" if slug else f"chart-{digest}"


def series_class(name: str) -> str:
    """The CSS class for a series: "SEV1" becomes "sev1"."""
    return re.sub(r"[^a-z0-9-]", "", name.lower()) or "series"


def describe(periods: Sequence[PeriodCount], series: Sequence[str], totals: dict[str, int]) -> str:
    """The chart in one or two sentences, for screen readers."""
    grand_total = sum(totals.values())
    if grand_total == 0:
        return f"{EMPTY}."
    span = f"{periods[0].label} to {periods[-1].label}"
    split = ", ".join(f"{name} {totals[name]}" for name in series)
    busiest = max(periods, key=lambda p: sum(p.by_severity.get(name, 0) for name in series))
    most = sum(busiest.by_severity.get(name, 0) for name in series)
    return (
        f"Incidents by severity, {span}: {grand_total} in total ({split}). "
        f"Busiest: {busiest.label} with {most}."
    )


def legend(series: Sequence[str]) -> list[str]:
    parts = ['<g class="legend">']
    x = float(LEFT)
    for name in series:
        parts.append(
            f'<rect class="swatch {series_class(name)}" x="{x:g}" y="6" width="10" height="10"/>'
            f'<text x="{x + 14:g}" y="15">{escape(name)}</text>'
        )
        x += 14 + len(name) * CHAR_WIDTH + 14
    parts.append("</g>")
    return parts


def nice_step(top: int, ticks: int = 4) -> int:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` intervals."""
    raw = max(top / ticks, 1)
    magnitude = int(10 ** math.floor(math.log10(raw)))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def incidents(count: int) -> str:
    return f"{count} incident" if count == 1 else f"{count} incidents"


def num(value: float) -> str:
    """A coordinate, without trailing zeros, to keep the markup short."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def plot(
    periods: Sequence[PeriodCount], series: Sequence[str], width: int, height: int
) -> list[str]:
    """The y-axis with its grid, the stacked bars and the thinned x labels."""
    left, right, top, bottom = LEFT, width - RIGHT, TOP, height - BOTTOM
    stacks = [[p.by_severity.get(name, 0) for name in series] for p in periods]
    step = nice_step(max(sum(stack) for stack in stacks))
    y_max = math.ceil(max(sum(stack) for stack in stacks) / step) * step

    def y(value: float) -> float:
        return bottom - value / y_max * (bottom - top)

    parts = ['<g class="axis y-axis">']
    for tick in range(0, y_max + 1, step):
        parts.append(
            f'<line class="grid" x1="{left}" x2="{right}" y1="{num(y(tick))}" '
            f'y2="{num(y(tick))}" stroke="currentColor" stroke-opacity="0.2"/>'
            f'<text x="{left - 4}" y="{num(y(tick) + 4)}" text-anchor="end">{tick}</text>'
        )
    parts.append("</g>")

    band = (right - left) / len(periods)
    bar_width = band * BAR_FILL
    parts.append('<g class="bars">')
    for i, (period, stack) in enumerate(zip(periods, stacks, strict=True)):
        x = left + i * band + (band - bar_width) / 2
        split = ", ".join(f"{name} {n}" for name, n in zip(series, stack, strict=True) if n)
        parts.append(
            f"<g><title>{escape(period.label)}: {incidents(sum(stack))}"
            f"{f' ({escape(split)})' if split else ''}</title>"
        )
        base = 0
        for name, count in zip(series, stack, strict=True):
            if count:
                parts.append(
                    f'<rect class="bar {series_class(name)}" x="{num(x)}" '
                    f'y="{num(y(base + count))}" width="{num(bar_width)}" '
                    f'height="{num(y(base) - y(base + count))}"/>'
                )
                base += count
        parts.append("</g>")
    parts.append("</g>")

    # Show every n-th label so the widest label fits in the bands it stands for.
    widest = max(len(p.label) for p in periods) * CHAR_WIDTH + 8
    every = max(1, math.ceil(widest / band))
    parts.append('<g class="axis x-axis">')
    for i, period in enumerate(periods):
        if i % every == 0:
            parts.append(
                f'<text x="{num(left + (i + 0.5) * band)}" y="{height - 6}" '
                f'text-anchor="middle">{escape(period.label)}</text>'
            )
    parts.append("</g>")
    return parts
