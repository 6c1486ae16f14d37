"""Small-number suppression of the impact aggregates (see ``app.services.impact.query``):
a cell built from fewer than ``MIN_RECORDS`` records, or counting between one and
``MIN_HOUSEHOLDS - 1`` distinct households, is suppressed; then complementary suppression
until no line of cells that adds up to a total holds a lone suppressed cell."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from app.services.impact.catalogue import TIME_DIMS
from app.services.impact.periods import time_key

if TYPE_CHECKING:
    from app.services.impact.query import Row

MIN_RECORDS = 5
MIN_HOUSEHOLDS = 3

Suppression = Literal["primary", "complementary"]


def key_tuple(row: Row, dims: Iterable[str]) -> tuple[str | None, ...]:
    return tuple(row.keys.get(d) for d in dims)


def _parents(dim: str) -> list[tuple[str, Any]]:
    """Coarser totals a line of ``dim`` cells also adds up to (kommune → its fylke, month →
    its quarter and year, quarter → its year), as functions of the cell's key."""
    if dim == "kommune":
        return [("fylke", lambda k: k[:2] if k else k)]
    if dim == "month":
        return [
            ("year", lambda k: k[:4] if k else k),
            ("quarter", lambda k: time_key("quarter", date(int(k[:4]), int(k[5:7]), 1))),
        ]
    if dim == "quarter":
        return [("year", lambda k: k[:4] if k else k)]
    return []


def suppress(rows: list[Row], dims: tuple[str, ...], *, shown_from: str | None = None) -> None:
    """Primary, then complementary suppression, in place (see the module's docstring).
    ``shown_from``: rows whose time key is before it are fetched only for comparison; the
    rows from it on make lines of their own (their total is the ungrouped figure)."""
    for row in rows:
        small_records = 0 < row.raw_records < MIN_RECORDS
        few_households = 0 < row.households < MIN_HOUSEHOLDS
        if small_records or few_households:
            row.suppressed, row.suppression = True, "primary"
    by_indicator: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_indicator[row.indicator].append(row)
    for group in by_indicator.values():
        _complement(group, dims, shown_from)
    for row in rows:
        if row.suppressed:
            row.value, row.records = None, None


def _complement(rows: list[Row], dims: tuple[str, ...], shown_from: str | None) -> None:
    lines: list[list[Row]] = []
    for dim in dims:
        others = [d for d in dims if d != dim]
        partitions: list[Any] = [lambda r, o=others: key_tuple(r, o)]
        if shown_from is not None and dim in TIME_DIMS:
            partitions.append(
                lambda r, o=others, d=dim: (*key_tuple(r, o), (r.keys.get(d) or "") >= shown_from)
            )
        for _, parent in _parents(dim):
            partitions.append(
                lambda r, o=others, p=parent, d=dim: (*key_tuple(r, o), p(r.keys.get(d)))
            )
        for part in partitions:
            buckets: dict[Any, list[Row]] = defaultdict(list)
            for row in rows:
                buckets[part(row)].append(row)
            lines.extend(b for b in buckets.values() if len(b) > 1)
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [r for r in line if r.suppressed]
            if len(hidden) != 1:
                continue
            shown = [r for r in line if not r.suppressed]
            if not shown:
                continue
            pick = min(shown, key=lambda r: (r.raw_records, keys_order(r)))
            pick.suppressed, pick.suppression = True, "complementary"
            changed = True


def keys_order(row: Row) -> tuple[str, ...]:
    return tuple(v or "" for v in row.keys.values())
