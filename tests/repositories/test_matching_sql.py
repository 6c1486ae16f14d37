"""The SQL matching stands on: ``sirkel_quantity_in`` (migration 0026) converts what can be
converted and nothing else, and stays a single expression PostgreSQL inlines into the match
statement (a body with ``FROM`` would run as a function call per candidate); looking nearer
first changes no page."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import MatchingSettings, Settings
from app.repositories.listing import ANONYMOUS
from app.repositories.matching import MatchRepository, match_statement
from app.services.alerts import anchor_for
from tests.factories import create_listing, create_person


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


async def test_looking_nearer_first_gives_what_one_statement_over_the_radius_gives(
    session: AsyncSession, settings: Settings
) -> None:
    """``MatchRepository.matches`` settles dense pages within a ring of the radius; page by
    page, its answer must be the statement's over the whole radius, whatever the ring."""
    rng = random.Random(7)
    owners = [await create_person(session, settings) for _ in range(4)]
    buyer = await create_person(session, settings)
    wanted = await create_listing(
        session,
        at=(59.9139, 10.7522),
        person=buyer,
        kind="material",
        mode="wanted",
        title="Trepaller ønskes",
        category=None,
        ewc_code="150103",
        quantity=Decimal(10),
        unit="t",
    )
    # Dense offers in Oslo, a few towards Hamar (40-70 km) and Lillehammer (110-130 km).
    spots = (
        [(59.90 + rng.uniform(0, 0.05), 10.70 + rng.uniform(0, 0.1)) for _ in range(40)]
        + [(60.30 + rng.uniform(0, 0.2), 10.80 + rng.uniform(0, 0.2)) for _ in range(12)]
        + [(61.00 + rng.uniform(0, 0.1), 10.40 + rng.uniform(0, 0.1)) for _ in range(6)]
    )
    for n, spot in enumerate(spots):
        await create_listing(
            session,
            at=spot,
            person=owners[n % len(owners)],
            kind="material",
            mode="give",
            title=f"Paller {n}",
            category=None,
            ewc_code=rng.choice(["150103", "150103", "170201", "200138", "150101"]),
            quantity=Decimal(rng.choice([1, 5, 10, 20])),
            unit="t",
            details={"recurrence": rng.choice(["one_off", "weekly"])},
        )
    anchor = anchor_for(wanted, MatchingSettings())
    repo = MatchRepository(session)
    now = datetime.now(UTC)
    keys = await repo.candidate_keys(anchor, min_score=Decimal(0))
    for limit in (3, 10, 25):
        after = None
        while True:
            page = await repo.matches(
                anchor, now=now, caller=ANONYMOUS, after=after, limit=limit, documents=False
            )
            whole = (
                await session.execute(
                    match_statement(
                        anchor,
                        now=now,
                        caller=ANONYMOUS,
                        after=after,
                        limit=limit,
                        documents=False,
                        keys=keys,
                    )
                )
            ).all()
            assert [(r.id, r.score) for r in page] == [(r.k_id, r.k_score) for r in whole]
            if len(page) <= limit:
                break
            after = (page[limit - 1].score, page[limit - 1].id)
    # The dense first ring settles the first page on its own: one match statement (after
    # the candidate keys).
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        first = await repo.matches(anchor, now=now, caller=ANONYMOUS, after=None, limit=3)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "ST_DWithin" in s]) == 1
    assert max(r.distance_m for r in first) < anchor.radius_m * 0.125
