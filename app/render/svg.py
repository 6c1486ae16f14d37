"""Small, self-contained SVG charts for the impact report: values by month (bars or a line,
with last year's values as markers) and ranked horizontal bars.

Pure SVG, no script, no external fonts or images; the text inherits the page's font. Every
chart is an ``role="img"`` with a ``<title>`` and a ``<desc>`` that spells out the values, and
the report prints the same numbers in a table next to it. Values that must not be shown (a
suppressed cell) come in as ``None`` with a mark (``•``) and are drawn as a hatched stub
without a number; the caller decides what the mark means and explains it in a legend.
Everything drawn is grey-scale, so it prints in black and white.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

INK = "#111"
BAR = "#5a5a5a"
GRID = "#d0d0d0"
MUTED = "#767676"
SUPPRESSED = "•"


@dataclass(frozen=True, slots=True)
class Point:
    """One period of a chart by month."""

    label: str  # "jan"
    value: Decimal | None  # None: nothing to draw (see ``mark``)
    text: str = ""  # the value as printed ("1 234")
    mark: str = ""  # shown instead of a value: "•" suppressed, a dash not applicable
    compare: Decimal | None = None  # the same period last year, when it may be shown
    future: bool = False  # not yet happened: drawn as nothing


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a ranked bar chart."""

    label: str
    value: Decimal | None  # None: suppressed or not applicable (see ``mark``)
    text: str = ""
    mark: str = ""


def _f(x: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """0 and evenly spaced round ticks (1, 2, 2.5 or 5 times a power of ten) up to at least
    ``maximum``."""
    if maximum <= 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < maximum - 1e-12:
        ticks.append(ticks[-1] + step)
    return ticks


def tick_label(value: float) -> str:
    """An axis label in Norwegian notation (decimal comma, no-break space for thousands)."""
    value = round(value, 6)  # 0.1 + 0.2
    text = f"{int(value):,}" if value == int(value) else f"{value:,.6f}".rstrip("0").rstrip(".")
    return text.replace(",", "\u00a0").replace(".", ",")


def _open(
    chart_id: str, width: float, height: float, title: str, desc: str, css_class: str
) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" role="img" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" font-size="9" fill="{INK}">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<defs><pattern id="{chart_id}-h" width="4" height="4" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="4" height="4" fill="#fff"/>'
        f'<line x1="0" y1="0" x2="0" y2="4" stroke="{INK}" stroke-width="1.2"/></pattern></defs>',
    ]


def _y_axis(
    out: list[str],
    ticks: list[float],
    *,
    left: float,
    right: float,
    y: Callable[[float], float],
    unit: str,
) -> None:
    for t in ticks:
        yy = y(t)
        out.append(
            f'<line x1="{_f(left)}" y1="{_f(yy)}" x2="{_f(right)}" y2="{_f(yy)}" '
            f'stroke="{GRID}" stroke-width="0.6"/>'
        )
        out.append(
            f'<text x="{_f(left - 3)}" y="{_f(yy + 3)}" text-anchor="end" '
            f'font-size="8">{escape(tick_label(t))}</text>'
        )
    if unit:
        out.append(
            f'<text x="{_f(left - 3)}" y="8" text-anchor="end" font-size="8" '
            f'fill="{MUTED}">{escape(unit)}</text>'
        )


def month_chart(
    chart_id: str,
    *,
    title: str,
    desc: str,
    points: Sequence[Point],
    unit: str = "",
    kind: str = "bar",
    width: float = 360,
    height: float = 180,
) -> str:
    """Values by period as bars (``kind="bar"``) or a line (``kind="line"``, for shares and
    rates, where a bar's area means nothing); ``compare`` values as black ticks (bars) or a
    dashed line with open circles (line)."""
    left, right, top, bottom = 46.0, width - 6, 16.0, height - 22
    values = [float(p.value) for p in points if p.value is not None]
    values += [float(p.compare) for p in points if p.compare is not None]
    ticks = nice_ticks(max([*values, 0.0]))
    top_value = ticks[-1]

    def y(v: float) -> float:
        return bottom - (bottom - top) * (v / top_value if top_value else 0.0)

    slot = (right - left) / max(len(points), 1)
    out = _open(chart_id, width, height, title, desc, f"chart chart-{kind}")
    _y_axis(out, ticks, left=left, right=right, y=y, unit=unit)
    out.append(
        f'<line x1="{_f(left)}" y1="{_f(bottom)}" x2="{_f(right)}" y2="{_f(bottom)}" '
        f'stroke="{INK}" stroke-width="0.8"/>'
    )
    line: list[tuple[float, float] | None] = []
    compare_line: list[tuple[float, float] | None] = []
    for i, p in enumerate(points):
        cx = left + slot * (i + 0.5)
        colour = MUTED if p.future else INK
        out.append(
            f'<text x="{_f(cx)}" y="{_f(bottom + 12)}" text-anchor="middle" font-size="8" '
            f'fill="{colour}">{escape(p.label)}</text>'
        )
        bar_w = min(slot * 0.62, 22)
        if p.future:
            line.append(None)
            compare_line.append(None)
            continue
        if p.value is None:
            line.append(None)
            if p.mark == SUPPRESSED:
                # A hatched stub: something is there, but it is not shown.
                out.append(
                    f'<rect x="{_f(cx - bar_w / 2)}" y="{_f(bottom - 7)}" width="{_f(bar_w)}" '
                    f'height="7" fill="url(#{chart_id}-h)" stroke="{INK}" stroke-width="0.6"/>'
                )
            if p.mark:
                out.append(
                    f'<text x="{_f(cx)}" y="{_f(bottom - 10)}" text-anchor="middle" '
                    f'font-size="9">{escape(p.mark)}</text>'
                )
        elif kind == "bar":
            yy = y(float(p.value))
            out.append(
                f'<rect x="{_f(cx - bar_w / 2)}" y="{_f(yy)}" width="{_f(bar_w)}" '
                f'height="{_f(bottom - yy)}" fill="{BAR}"/>'
            )
            if p.text and p.value and len(p.text) * 4.4 <= slot:
                out.append(
                    f'<text x="{_f(cx)}" y="{_f(yy - 3)}" text-anchor="middle" '
                    f'font-size="7.5">{escape(p.text)}</text>'
                )
        else:
            yy = y(float(p.value))
            line.append((cx, yy))
            if p.text and p.value and len(p.text) * 4.4 <= slot:
                out.append(
                    f'<text x="{_f(cx)}" y="{_f(yy - 5)}" text-anchor="middle" '
                    f'font-size="7.5">{escape(p.text)}</text>'
                )
        if kind == "bar" and p.value is not None:
            line.append(None)
        if p.compare is not None:
            cy = y(float(p.compare))
            if kind == "bar" and p.compare:  # a zero would only hide the axis
                w = bar_w + 6
                out.append(
                    f'<line class="compare" x1="{_f(cx - w / 2)}" y1="{_f(cy)}" '
                    f'x2="{_f(cx + w / 2)}" y2="{_f(cy)}" stroke="{INK}" stroke-width="1.6" '
                    f'stroke-dasharray="3 1.5"/>'
                )
            compare_line.append((cx, cy))
        else:
            compare_line.append(None)
    if kind == "line":
        out.extend(_polyline(compare_line, dashed=True))
        out.extend(_polyline(line, dashed=False))
    out.append("</svg>")
    return "".join(out)


def _polyline(points: list[tuple[float, float] | None], *, dashed: bool) -> list[str]:
    """Line segments through consecutive known points (a gap where one is unknown), with a
    circle at each point: filled for this year, open for the comparison."""
    out: list[str] = []
    run: list[tuple[float, float]] = []
    dash = ' stroke-dasharray="3 2"' if dashed else ""
    for p in [*points, None]:
        if p is not None:
            run.append(p)
            continue
        if len(run) > 1:
            coords = " ".join(f"{_f(x)},{_f(y)}" for x, y in run)
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{INK}" '
                f'stroke-width="{1 if dashed else 1.6}"{dash}/>'
            )
        run = []
    for p in points:
        if p is not None:
            fill = "#fff" if dashed else INK
            out.append(
                f'<circle cx="{_f(p[0])}" cy="{_f(p[1])}" r="2.4" fill="{fill}" '
                f'stroke="{INK}" stroke-width="1"/>'
            )
    return out


def ranked_bars(
    chart_id: str,
    *,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    unit: str = "",
    width: float = 560,
    label_width: float = 150,
    row: float = 16,
) -> str:
    """Horizontal bars, one row each, in the order given (rank them first); rows without a
    value show their mark instead of a bar."""
    top = 18.0
    height = top + row * max(len(bars), 1) + 6
    left = label_width + 6
    right = width - 70
    values = [float(b.value) for b in bars if b.value is not None]
    top_value = max([*values, 0.0]) or 1.0
    out = _open(chart_id, width, height, title, desc, "chart chart-ranked")
    if unit:
        out.append(
            f'<text x="{_f(left)}" y="10" font-size="8" fill="{MUTED}">{escape(unit)}</text>'
        )
    out.append(
        f'<line x1="{_f(left)}" y1="{_f(top - 2)}" x2="{_f(left)}" y2="{_f(height - 4)}" '
        f'stroke="{INK}" stroke-width="0.8"/>'
    )
    for i, b in enumerate(bars):
        y0 = top + row * i
        mid = y0 + row / 2
        out.append(
            f'<text x="{_f(label_width)}" y="{_f(mid + 3)}" text-anchor="end">'
            f"{escape(b.label)}</text>"
        )
        if b.value is None:
            if b.mark == SUPPRESSED:
                out.append(
                    f'<rect x="{_f(left)}" y="{_f(y0 + 3)}" width="8" height="{_f(row - 6)}" '
                    f'fill="url(#{chart_id}-h)" stroke="{INK}" stroke-width="0.6"/>'
                )
            out.append(f'<text x="{_f(left + 12)}" y="{_f(mid + 3)}">{escape(b.mark)}</text>')
            continue
        length = (right - left) * float(b.value) / top_value
        out.append(
            f'<rect x="{_f(left)}" y="{_f(y0 + 2.5)}" width="{_f(max(length, 0.0))}" '
            f'height="{_f(row - 5)}" fill="{BAR}"/>'
        )
        out.append(
            f'<text x="{_f(left + max(length, 0.0) + 4)}" y="{_f(mid + 3)}">{escape(b.text)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class YearPoint:
    """One year of a target chart."""

    year: int
    expected: Decimal | None  # the path's value (None: no path)
    actual: Decimal | None  # None: not measured, not yet, or hidden (see ``mark``)
    mark: str = ""  # SUPPRESSED for a hidden year
    partial: bool = False  # the year under way: an open circle, not joined to the line


def target_chart(
    chart_id: str,
    *,
    title: str,
    desc: str,
    years: Sequence[YearPoint],
    target: Decimal | None,
    target_text: str = "",
    unit: str = "",
    width: float = 360,
    height: float = 180,
) -> str:
    """A target's path (dashed, from the baseline to the target year, the target as an open
    square at its end) and the actual values (a solid line with filled circles; the year
    under way an open circle on its own; a hidden year is a hatched stub with its mark and
    breaks the line)."""
    left, right, top, bottom = 46.0, width - 10, 16.0, height - 22
    values = [float(p.expected) for p in years if p.expected is not None]
    values += [float(p.actual) for p in years if p.actual is not None]
    if target is not None:
        values.append(float(target))
    ticks = nice_ticks(max([*values, 0.0]))
    top_value = ticks[-1]

    def y(v: float) -> float:
        return bottom - (bottom - top) * (v / top_value if top_value else 0.0)

    slot = (right - left) / max(len(years), 1)
    every = max(1, math.ceil(len(years) / 12))
    out = _open(chart_id, width, height, title, desc, "chart chart-target")
    _y_axis(out, ticks, left=left, right=right, y=y, unit=unit)
    out.append(
        f'<line x1="{_f(left)}" y1="{_f(bottom)}" x2="{_f(right)}" y2="{_f(bottom)}" '
        f'stroke="{INK}" stroke-width="0.8"/>'
    )
    path: list[tuple[float, float] | None] = []
    actual: list[tuple[float, float] | None] = []
    for i, p in enumerate(years):
        cx = left + slot * (i + 0.5)
        if i % every == 0 or i == len(years) - 1:
            out.append(
                f'<text x="{_f(cx)}" y="{_f(bottom + 12)}" text-anchor="middle" '
                f'font-size="8">{p.year}</text>'
            )
        path.append((cx, y(float(p.expected))) if p.expected is not None else None)
        if p.actual is not None and p.partial:
            out.append(
                f'<circle class="partial" cx="{_f(cx)}" cy="{_f(y(float(p.actual)))}" r="2.4" '
                f'fill="#fff" stroke="{INK}" stroke-width="1"/>'
            )
            actual.append(None)
        else:
            actual.append((cx, y(float(p.actual))) if p.actual is not None else None)
        if p.actual is None and p.mark == SUPPRESSED:
            w = min(slot * 0.5, 14)
            out.append(
                f'<rect x="{_f(cx - w / 2)}" y="{_f(bottom - 7)}" width="{_f(w)}" height="7" '
                f'fill="url(#{chart_id}-h)" stroke="{INK}" stroke-width="0.6"/>'
                f'<text x="{_f(cx)}" y="{_f(bottom - 10)}" text-anchor="middle" '
                f'font-size="9">{escape(p.mark)}</text>'
            )
    run = [p for p in path if p is not None]
    if len(run) > 1:
        coords = " ".join(f"{_f(px)},{_f(py)}" for px, py in run)
        out.append(
            f'<polyline class="path" points="{coords}" fill="none" stroke="{MUTED}" '
            f'stroke-width="1.2" stroke-dasharray="4 2"/>'
        )
    if target is not None and years:
        tx, ty = left + slot * (len(years) - 0.5), y(float(target))
        out.append(
            f'<rect class="target" x="{_f(tx - 3)}" y="{_f(ty - 3)}" width="6" height="6" '
            f'fill="#fff" stroke="{INK}" stroke-width="1.2"/>'
        )
        if target_text:
            out.append(
                f'<text x="{_f(tx - 6)}" y="{_f(ty - 6)}" text-anchor="end" '
                f'font-size="8">{escape(target_text)}</text>'
            )
    out.extend(_polyline(actual, dashed=False))
    out.append("</svg>")
    return "".join(out)
