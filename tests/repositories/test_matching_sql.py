"""The SQL matching stands on: ``sirkel_quantity_in`` (migration 0026) converts what can be
converted and nothing else, and stays a single expression PostgreSQL inlines into the match
statement (a body with ``FROM`` would run as a function call per candidate)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@pytest.mark.parametrize(
    ("quantity", "from_unit", "to_unit", "density", "expected"),
    [
        ("2.5", "t", "kg", None, "2500"),
        ("750", "kg", "t", None, "0.75"),
        ("1500", "l", "m3", None, "1.5"),
        ("2", "m3", "l", None, "2000"),
        ("3", "pcs", "pcs", None, "3"),
        # Mass and volume only with a density: 1.2 t of wood chips at 300 kg/m3 is 4 m3.
        ("1.2", "t", "m3", "300", "4"),
        ("4", "m3", "t", "300", "1.2"),
        ("500", "l", "kg", "800", "400"),
        ("1.2", "t", "m3", None, None),
        ("1.2", "t", "m3", "0", None),
        # Pieces, areas and lengths compare with nothing else.
        ("10", "pcs", "kg", "300", None),
        ("10", "m2", "m3", None, None),
        (None, "kg", "t", None, None),
    ],
)
async def test_quantities_convert_between_comparable_units(
    session: AsyncSession,
    quantity: str | None,
    from_unit: str,
    to_unit: str,
    density: str | None,
    expected: str | None,
) -> None:
    value = await session.scalar(
        text("SELECT sirkel_quantity_in(CAST(:q AS numeric), :f, :t, CAST(:d AS numeric))"),
        {"q": quantity, "f": from_unit, "t": to_unit, "d": density},
    )
    assert (None if value is None else Decimal(value).normalize()) == (
        None if expected is None else Decimal(expected).normalize()
    )


async def test_the_conversion_is_inlined_into_the_statement(session: AsyncSession) -> None:
    plan = "\n".join(
        (
            await session.execute(
                text(
                    # Columns, not constants: an immutable call on constants is folded
                    # whether inlined or not.
                    "EXPLAIN (VERBOSE, COSTS OFF) SELECT sirkel_quantity_in(l.quantity, "
                    "l.unit, 't', NULLIF(l.details ->> 'density_kg_per_m3', '')::numeric) "
                    "FROM listings AS l"
                )
            )
        ).scalars()
    )
    assert "CASE" in plan
    assert "sirkel_quantity_in" not in plan
