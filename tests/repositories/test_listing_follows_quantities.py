"""A quantity-limited listing follows its transactions in the database (migration 0009): the
trigger ``listings_follow_quantities`` moves it to reserved, back to active, or to completed in
the statement that changes its quantities, hit here directly with SQL."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Transaction
from app.models.listing import ListingStatus, status_after_quantities
from app.repositories.db_errors import constraint_name
from tests.factories import create_listing, create_person
from tests.places import PLACES
from tests.repositories.test_tile_cells import _assert_rollup_matches

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


async def _status(session: AsyncSession, listing_id: uuid.UUID) -> tuple[str, int, int]:
    """Status, committed and delivered (whole numbers in these tests)."""
    row = (
        await session.execute(
            text(
                "SELECT status, quantity_committed, quantity_delivered FROM listings WHERE id = :id"
            ),
            {"id": listing_id},
        )
    ).one()
    return str(row[0]), int(row[1]), int(row[2])


async def _move(session: AsyncSession, tx_id: uuid.UUID, status: str, **extra: object) -> None:
    sets = ", ".join(["status = :status", *(f"{k} = :{k}" for k in extra)])
    await session.execute(
        text(f"UPDATE transactions SET {sets} WHERE id = :id"),
        {"id": tx_id, "status": status, **extra},
    )


async def test_the_python_rule_and_the_database_rule_agree(session: AsyncSession) -> None:
    amounts = [Decimal(0), Decimal(1), Decimal(2), Decimal(3)]
    cases = [
        (status, old_q, old_c, q, c, d)
        for status in ListingStatus
        for old_q, q in itertools.product([None, Decimal(3)], [None, Decimal(2), Decimal(3)])
        for old_c, c, d in itertools.product(amounts, amounts, amounts)
    ]
    rows = (
        await session.execute(
            text(
                "SELECT sirkel_listing_status_after(c.s, c.oq, c.oc, c.q, c.c, c.d) "
                "FROM unnest(CAST(:s AS text[]), CAST(:oq AS numeric[]), CAST(:oc AS numeric[]), "
                "CAST(:q AS numeric[]), CAST(:c AS numeric[]), CAST(:d AS numeric[])) "
                "WITH ORDINALITY AS c(s, oq, oc, q, c, d, n) ORDER BY c.n"
            ),
            {
                key: [case[i] if i else str(case[0]) for case in cases]
                for i, key in enumerate(["s", "oq", "oc", "q", "c", "d"])
            },
        )
    ).scalars()
    database = list(rows)
    python = [
        status_after_quantities(
            s, old_quantity=oq, old_committed=oc, quantity=q, committed=c, delivered=d
        ).value
        for s, oq, oc, q, c, d in cases
    ]
    assert database == python


def _ask(listing_id: uuid.UUID, owner: uuid.UUID, asker: uuid.UUID, quantity: int) -> Transaction:
    return Transaction(
        type="reuse",
        subgoal="SG1",
        status="requested",
        listing_id=listing_id,
        provider_person_id=owner,
        receiver_person_id=asker,
        quantity=Decimal(quantity),
        unit="pcs",
        created_at=NOW,
        updated_at=NOW,
    )


async def test_a_listing_is_reserved_when_full_active_when_freed_completed_when_delivered(
    session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    askers = [await create_person(session, settings) for _ in range(2)]
    listing = await create_listing(session, at=OSLO, person=owner, quantity=Decimal(3))
    first = _ask(listing.id, owner.person_id, askers[0].person_id, 2)
    session.add(first)
    await session.flush()
    assert await _status(session, listing.id) == ("active", 2, 0)
    await _assert_rollup_matches(session)

    second = _ask(listing.id, owner.person_id, askers[1].person_id, 1)
    session.add(second)
    await session.flush()
    assert await _status(session, listing.id) == ("reserved", 3, 0)
    await _assert_rollup_matches(session)  # gone from the map

    await _move(session, second.id, "declined")
    assert await _status(session, listing.id) == ("active", 2, 0)
    await _assert_rollup_matches(session)

    # The first one is handed over with only one of its two: a unit comes free again.
    await _move(session, first.id, "accepted")
    await _move(session, first.id, "completed", delivered_quantity=Decimal(1))
    assert await _status(session, listing.id) == ("active", 1, 0)
    await _move(session, first.id, "confirmed")
    assert await _status(session, listing.id) == ("active", 1, 1)

    third = _ask(listing.id, owner.person_id, askers[1].person_id, 2)
    session.add(third)
    await session.flush()
    assert await _status(session, listing.id) == ("reserved", 3, 1)
    await _move(session, third.id, "accepted")
    await _move(session, third.id, "completed")
    # Handed over but not yet confirmed: held, not completed.
    assert await _status(session, listing.id) == ("reserved", 3, 1)
    await _move(session, third.id, "confirmed")
    assert await _status(session, listing.id) == ("completed", 3, 3)
    closed = await session.scalar(
        text("SELECT closed_at IS NOT NULL FROM listings WHERE id = :id"), {"id": listing.id}
    )
    assert closed
    await _assert_rollup_matches(session)


async def test_quantities_changed_directly_move_the_status_and_the_checks_hold(
    session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    listing = await create_listing(
        session, at=OSLO, person=owner, kind="material", mode="give", category=None,
        ewc_code="170201", quantity=Decimal(5), unit="kg",
    )  # fmt: skip
    update = "UPDATE listings SET {} WHERE id = :id"
    await session.execute(text(update.format("quantity_committed = 5")), {"id": listing.id})
    assert await _status(session, listing.id) == ("reserved", 5, 0)
    # The owner adds to the stock: there is something to ask for again.
    await session.execute(text(update.format("quantity = 8")), {"id": listing.id})
    assert await _status(session, listing.id) == ("active", 5, 0)
    await session.execute(text(update.format("quantity = 5")), {"id": listing.id})
    assert await _status(session, listing.id) == ("reserved", 5, 0)
    await _assert_rollup_matches(session)

    # Delivered is part of committed, never more.
    with pytest.raises(IntegrityError) as error:
        async with session.begin_nested():
            await session.execute(text(update.format("quantity_delivered = 6")), {"id": listing.id})
    assert constraint_name(error.value) == "ck_listings_quantity_delivered_within_committed"

    await session.execute(text(update.format("quantity_delivered = 5")), {"id": listing.id})
    assert await _status(session, listing.id) == ("completed", 5, 5)
    # Completed is final: the guard refuses to reopen it through the quantities' back door.
    await session.execute(
        text(update.format("quantity_committed = 5, quantity = 9")), {"id": listing.id}
    )
    assert (await _status(session, listing.id))[0] == "completed"


async def test_a_status_the_owner_sets_is_not_overridden_and_loans_never_complete(
    session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    asker = await create_person(session, settings)
    listing = await create_listing(session, at=OSLO, person=owner, quantity=Decimal(3))
    await session.execute(
        text("UPDATE listings SET status = 'reserved' WHERE id = :id"), {"id": listing.id}
    )
    ask = _ask(listing.id, owner.person_id, asker.person_id, 1)
    session.add(ask)
    await session.flush()
    await _move(session, ask.id, "cancelled")
    # Reserved by hand with units free: a freed unit does not reactivate it.
    assert await _status(session, listing.id) == ("reserved", 0, 0)

    lent = await create_listing(session, at=OSLO, person=owner, mode="lend", quantity=Decimal(1))
    window = Range(NOW, datetime(2026, 12, 5, tzinfo=UTC), bounds="[)")
    loan = Transaction(
        type="loan",
        subgoal="SG2",
        status="requested",
        listing_id=lent.id,
        provider_person_id=owner.person_id,
        receiver_person_id=asker.person_id,
        quantity=Decimal(1),
        unit="pcs",
        period=window,
        blocked=window,
        unit_no=1,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(loan)
    await session.flush()
    assert await _status(session, lent.id) == ("active", 0, 0)
    for status in ("accepted", "active", "returned", "confirmed"):
        await _move(session, loan.id, status)
    assert await _status(session, lent.id) == ("active", 0, 0)
