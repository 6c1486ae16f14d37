"""The rollup behind low-zoom tiles always equals the listings it counts, whatever happens
to them (app/models/tile_cell.py)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing
from tests.factories import create_listing, create_organization, create_person

# What the rollup holds, straight from the listings: per kind, mode and category, and the
# cell totals ('*').
DIRECT = """
SELECT level, sirkel_cell_x(mx, level) AS cx, sirkel_cell_y(my, level) AS cy, kind, mode,
       category, count(*) AS n, sum(mx) AS sx, sum(my) AS sy
FROM (
    SELECT sirkel_mercator_x(public_geom) AS mx, sirkel_mercator_y(public_geom) AS my, kind,
           coalesce(mode, '') AS mode, coalesce(category_slug, '') AS category
    FROM listings WHERE status = 'active' AND hidden_at IS NULL
) AS l, generate_series(5, 13) AS level
GROUP BY 1, 2, 3, 4, 5, 6
UNION ALL
SELECT level, sirkel_cell_x(mx, level), sirkel_cell_y(my, level), '*', '*', '*', count(*),
       sum(mx), sum(my)
FROM (
    SELECT sirkel_mercator_x(public_geom) AS mx, sirkel_mercator_y(public_geom) AS my
    FROM listings WHERE status = 'active' AND hidden_at IS NULL
) AS l, generate_series(5, 13) AS level
GROUP BY 1, 2, 3
"""
ROLLUP = """
SELECT level, cx, cy, kind, mode, category, n, sum_mx AS sx, sum_my AS sy
FROM listing_tile_cells WHERE n > 0
"""
CATEGORIES = ["chairs", "sofas-and-armchairs", "childrens-bikes", "books", "tents"]
MODES = ["give", "lend", "wanted"]


async def _snapshot(session: AsyncSession, sql: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    rows = (await session.execute(text(sql))).all()
    return {tuple(r[:6]): (r[6], r[7], r[8]) for r in rows}


async def _assert_rollup_matches(session: AsyncSession) -> None:
    direct = await _snapshot(session, DIRECT)
    rollup = await _snapshot(session, ROLLUP)
    assert rollup.keys() == direct.keys()
    for key, (n, sx, sy) in direct.items():
        rn, rsx, rsy = rollup[key]
        assert rn == n, key
        assert rsx == pytest.approx(sx, rel=1e-9, abs=1e-3)
        assert rsy == pytest.approx(sy, rel=1e-9, abs=1e-3)


@pytest.mark.parametrize("seed", range(5))
async def test_the_rollup_follows_every_change_to_listings(
    session: AsyncSession, settings: Settings, seed: int
) -> None:
    rng = random.Random(seed)
    person = await create_person(session, settings)
    org = await create_organization(session, owner=person)
    listings: list[Listing] = []

    def somewhere() -> tuple[float, float]:
        # Around Oslo, in a box small enough for shared cells at every level.
        return (59.85 + rng.random() * 0.15, 10.60 + rng.random() * 0.3)

    for _ in range(60):
        action = rng.choice(["create", "create", "status", "hide", "move", "recategorise"])
        if action == "create" or not listings:
            owner: dict[str, Any] = (
                {"person": person} if rng.random() < 0.5 else {"organization": org}
            )
            listings.append(
                await create_listing(
                    session,
                    at=somewhere(),
                    mode=rng.choice(MODES),
                    category=rng.choice(CATEGORIES),
                    status=rng.choice(["active", "active", "draft"]),
                    price_nok=None,
                    **owner,
                )
            )
        listing = rng.choice(listings)
        if action == "status":
            moves = {
                "draft": ["active", "withdrawn"],
                "active": ["reserved", "completed", "withdrawn", "expired"],
                "reserved": ["active", "completed"],
                "expired": ["active", "withdrawn"],
            }.get(listing.status, [])
            if moves:
                listing.status = rng.choice(moves)
                if listing.status == "active" and listing.published_at is None:
                    listing.published_at = listing.created_at
        elif action == "hide":
            hidden = listing.hidden_at is None
            listing.hidden_at = listing.created_at if hidden else None
            listing.hidden_reason = "Test" if hidden else None
        elif action == "move":
            lat, lon = somewhere()
            listing.geom = f"SRID=4326;POINT({lon!r} {lat!r})"
        elif action == "recategorise":
            listing.category_slug = rng.choice(CATEGORIES)
        await session.flush()
        await session.refresh(listing)
    await _assert_rollup_matches(session)
    for listing in listings[: len(listings) // 2]:
        await session.delete(listing)
    await session.flush()
    await _assert_rollup_matches(session)


async def test_the_rebuild_reproduces_the_rollup(session: AsyncSession, settings: Settings) -> None:
    person = await create_person(session, settings)
    for i in range(10):
        await create_listing(session, at=(59.9 + i * 0.01, 10.7), person=person)
    before = await _snapshot(session, ROLLUP)
    assert await session.scalar(text("SELECT sirkel_tile_cells_rebuild()")) > 0
    assert (await _snapshot(session, ROLLUP)).keys() == before.keys()
    await _assert_rollup_matches(session)
