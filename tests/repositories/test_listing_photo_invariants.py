"""The database's own rules for listing photos (migration 0020), under real concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.repositories.db_errors import constraint_name
from tests.factories import create_listing, create_person
from tests.places import PLACES

OSLO = PLACES["oslo_city_hall"]

_INSERT = text(
    "INSERT INTO listing_photos "
    "(listing_id, position, source_sha256, renditions, width, height, bytes, created_at) "
    "VALUES (:listing, :position, :sha, '[]', 10, 10, 100, now())"
)


async def _listing(engine: AsyncEngine, settings: Settings) -> uuid.UUID:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        actor = await create_person(session, settings)
        listing = await create_listing(session, at=(OSLO.lat, OSLO.lon), person=actor)
        await session.commit()
        return listing.id


async def test_twelve_parallel_inserts_leave_ten_live_photos(
    committed_engine: AsyncEngine, settings: Settings
) -> None:
    listing = await _listing(committed_engine, settings)

    async def insert() -> str | None:
        try:
            async with committed_engine.begin() as conn:
                # Each takes the lowest free position it sees, as the service does.
                position = await conn.scalar(
                    text(
                        "SELECT coalesce(max(position) + 1, 0) FROM listing_photos "
                        "WHERE listing_id = :l AND removed_at IS NULL"
                    ),
                    {"l": listing},
                )
                await conn.execute(
                    _INSERT, {"listing": listing, "position": position, "sha": "a" * 64}
                )
        except IntegrityError as exc:
            return constraint_name(exc)
        return None

    # Positions are chosen without the lock, so two may collide: those that lose on the unique
    # position retry, as the service does; only the count trigger may refuse for good.
    outcomes: list[str | None] = []
    pending = list(range(12))
    while pending:
        results = await asyncio.gather(*(insert() for _ in pending))
        pending = [
            n
            for n, r in zip(pending, results, strict=True)
            if r == "listing_photos_live_position_unique"
        ]
        outcomes.extend(r for r in results if r != "listing_photos_live_position_unique")
    assert outcomes.count(None) == 10
    assert outcomes.count("listing_photos_at_most_10") == 2
    async with committed_engine.connect() as conn:
        live = await conn.scalar(
            text(
                "SELECT count(*) FROM listing_photos WHERE listing_id = :l AND removed_at IS NULL"
            ),
            {"l": listing},
        )
        assert live == 10
        # A removed photo frees a place.
        await conn.execute(
            text(
                "UPDATE listing_photos SET removed_at = :now, removed_reason = 'spam' "
                "WHERE listing_id = :l AND position = 9"
            ),
            {"l": listing, "now": datetime.now(UTC)},
        )
        await conn.execute(_INSERT, {"listing": listing, "position": 9, "sha": "b" * 64})
        # Bringing the removed one back would make 11.
        with pytest.raises(IntegrityError) as caught:
            await conn.execute(
                text(
                    "UPDATE listing_photos SET removed_at = NULL, removed_reason = NULL "
                    "WHERE listing_id = :l AND removed_at IS NOT NULL"
                ),
                {"l": listing},
            )
        assert constraint_name(caught.value) == "listing_photos_at_most_10"
        await conn.rollback()


async def test_a_removal_needs_a_reason(committed_engine: AsyncEngine, settings: Settings) -> None:
    listing = await _listing(committed_engine, settings)
    async with committed_engine.connect() as conn:
        await conn.execute(_INSERT, {"listing": listing, "position": 0, "sha": "c" * 64})
        with pytest.raises(IntegrityError) as caught:
            await conn.execute(
                text("UPDATE listing_photos SET removed_at = now() WHERE listing_id = :l"),
                {"l": listing},
            )
        assert constraint_name(caught.value) == "ck_listing_photos_removal_has_reason"
        await conn.rollback()


async def test_positions_swap_in_one_statement_and_stay_unique_at_commit(
    committed_engine: AsyncEngine, settings: Settings
) -> None:
    listing = await _listing(committed_engine, settings)
    async with committed_engine.begin() as conn:
        await conn.execute(_INSERT, {"listing": listing, "position": 0, "sha": "d" * 64})
        await conn.execute(_INSERT, {"listing": listing, "position": 1, "sha": "e" * 64})
    async with committed_engine.begin() as conn:
        # A unique index would refuse this row by row; the deferred constraint checks at commit.
        await conn.execute(
            text("UPDATE listing_photos SET position = 1 - position WHERE listing_id = :l"),
            {"l": listing},
        )
    async with committed_engine.connect() as conn:
        order = (
            await conn.execute(
                text(
                    "SELECT source_sha256 FROM listing_photos WHERE listing_id = :l "
                    "ORDER BY position"
                ),
                {"l": listing},
            )
        ).scalars()
        assert [sha[0] for sha in order] == ["e", "d"]
    with pytest.raises(IntegrityError) as caught:
        async with committed_engine.begin() as conn:
            await conn.execute(
                text("UPDATE listing_photos SET position = 0 WHERE listing_id = :l"),
                {"l": listing},
            )
    assert constraint_name(caught.value) == "listing_photos_live_position_unique"
