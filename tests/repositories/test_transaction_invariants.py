"""The database's own guarantees about transactions, hit directly with SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Transaction, TransactionTransition
from app.repositories.db_errors import constraint_name
from app.services.transaction import machine_edges
from tests.factories import create_listing, create_person
from tests.places import PLACES

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def _write(
    session: AsyncSession, row: Transaction | None = None, sql: str = "", **params: object
) -> None:
    async with session.begin_nested():
        if row is not None:
            session.add(row)
        else:
            await session.execute(text(sql), params)
        await session.flush()


async def refused(
    session: AsyncSession, row: Transaction | None = None, sql: str = "", **params: object
) -> str | None:
    """The constraint that refused the write (it must be refused)."""
    with pytest.raises(IntegrityError) as error:
        await _write(session, row, sql, **params)
    return constraint_name(error.value)


async def test_the_database_holds_exactly_the_machines_moves(session: AsyncSession) -> None:
    rows = await session.execute(
        select(
            TransactionTransition.type,
            TransactionTransition.from_status,
            TransactionTransition.to_status,
        )
    )
    assert {(r[0], r[1], r[2]) for r in rows} == machine_edges()


async def test_overlapping_live_bookings_are_refused_by_the_exclusion_constraint(
    session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    listing = await create_listing(session, at=OSLO, person=owner, mode="lend")
    borrowers = [await create_person(session, settings) for _ in range(3)]

    def booking(who: int, start_h: int, end_h: int, status: str = "requested") -> Transaction:
        window = Range(NOW + timedelta(hours=start_h), NOW + timedelta(hours=end_h), bounds="[)")
        return Transaction(
            type="loan",
            subgoal="SG2",
            status=status,
            listing_id=listing.id,
            provider_person_id=owner.person_id,
            receiver_person_id=borrowers[who].person_id,
            quantity=Decimal(1),
            unit="pcs",
            period=window,
            blocked=window,
            unit_no=1,
            created_at=NOW,
            updated_at=NOW,
        )

    first = booking(0, 0, 10)
    session.add(first)
    await session.flush()
    assert await refused(session, booking(1, 5, 15)) == "bookings_do_not_overlap"
    # Touching ends do not overlap ([start, end) ranges).
    session.add(booking(1, 10, 20))
    await session.flush()
    # A declined booking no longer holds its period.
    await session.execute(
        text("UPDATE transactions SET status = 'declined' WHERE id = :id"), {"id": first.id}
    )
    session.add(booking(2, 0, 10))
    await session.flush()


async def test_a_listing_never_commits_more_than_it_has(
    session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    asker = await create_person(session, settings)
    listing = await create_listing(session, at=OSLO, person=owner, quantity=Decimal(2))

    def ask(quantity: int) -> Transaction:
        return Transaction(
            type="reuse",
            subgoal="SG1",
            status="requested",
            listing_id=listing.id,
            provider_person_id=owner.person_id,
            receiver_person_id=asker.person_id,
            quantity=Decimal(quantity),
            unit="pcs",
            created_at=NOW,
            updated_at=NOW,
        )

    session.add(ask(2))
    await session.flush()
    assert await refused(session, ask(1)) == "ck_listings_quantity_not_overcommitted"
    # Nor can the owner shrink the listing below what is promised.
    assert (
        await refused(session, sql="UPDATE listings SET quantity = 1 WHERE id = :id", id=listing.id)
        == "ck_listings_quantity_not_overcommitted"
    )


async def test_a_transaction_cannot_start_anywhere_but_requested(
    session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    asker = await create_person(session, settings)
    listing = await create_listing(session, at=OSLO, person=owner)
    assert (
        await refused(
            session,
            Transaction(
                type="reuse",
                subgoal="SG1",
                status="confirmed",
                listing_id=listing.id,
                provider_person_id=owner.person_id,
                receiver_person_id=asker.person_id,
                quantity=Decimal(1),
                unit="pcs",
                created_at=NOW,
                updated_at=NOW,
            ),
        )
        == "transactions_status_transition"
    )
    assert (
        await refused(
            session,
            Transaction(
                type="reuse",
                subgoal="SG1",
                status="requested",
                listing_id=listing.id,
                provider_person_id=owner.person_id,
                receiver_person_id=owner.person_id,
                quantity=Decimal(1),
                unit="pcs",
                created_at=NOW,
                updated_at=NOW,
            ),
        )
        == "ck_transactions_not_own_listing_person"
    )
