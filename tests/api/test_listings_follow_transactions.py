"""A listing follows its transactions (migration 0009): reserved when every unit is promised,
active again when a decline, cancel or expiry frees one, completed when everything was
delivered; hidden from search and tiles meanwhile, readable by id; ``quantity_available`` and
the caller's ``actions`` in every listing response."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing
from app.services.transaction import tick
from tests.api.test_tiles import cluster_total, point_ids, public_location, tile_of
from tests.clock import Clock, frozen
from tests.factories import Actor, create_listing, create_person
from tests.places import PLACES
from tests.problems import assert_problem
from tests.repositories.test_tile_cells import _assert_rollup_matches

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


@pytest.fixture
async def giver(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Giver")


@pytest.fixture
async def taker(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Mottaker")


async def ask(
    client: httpx.AsyncClient, who: Actor, listing: Listing, **body: Any
) -> httpx.Response:
    return await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id), **body}, headers=who.headers
    )


async def act(client: httpx.AsyncClient, who: Actor, tx_id: str, action: str) -> None:
    moved = await client.post(f"/v1/transactions/{tx_id}/{action}", headers=who.headers)
    assert moved.status_code == 200, moved.text


async def read(client: httpx.AsyncClient, listing: Listing, who: Actor | None = None) -> Any:
    response = await client.get(
        f"/v1/listings/{listing.id}", headers=who.headers if who is not None else None
    )
    assert response.status_code == 200, response.text
    return response.json()


async def found(client: httpx.AsyncClient, listing: Listing) -> bool:
    """In the search results and on the map (a point at z 15, a cluster count at z 10)."""
    search = await client.get("/v1/listings", params={"kommune": "0301", "limit": 100})
    in_search = str(listing.id) in {row["id"] for row in search.json()["items"]}
    lon, lat = await public_location(client, str(listing.id))
    in_points = str(listing.id) in await point_ids(client, 15, *tile_of(lon, lat, 15))
    return in_search and in_points


async def on_the_map(client: httpx.AsyncClient, listing: Listing) -> int:
    lon, lat = await public_location(client, str(listing.id))
    return await cluster_total(client, 10, *tile_of(lon, lat, 10))


async def test_a_single_give_away_handed_over_and_confirmed_completes_its_listing(
    client: httpx.AsyncClient, session: AsyncSession, giver: Actor, taker: Actor
) -> None:
    chair = await create_listing(session, at=OSLO, person=giver, category="chairs")
    listing = await read(client, chair, taker)
    assert (listing["quantity_available"], listing["actions"]) == (1, ["request"])
    assert await found(client, chair)
    clusters = await on_the_map(client, chair)

    tx = (await ask(client, taker, chair)).json()
    listing = await read(client, chair)
    assert (listing["status"], listing["quantity_available"], listing["actions"]) == (
        "reserved",
        0,
        [],
    )
    assert not await found(client, chair)
    assert await on_the_map(client, chair) == clusters - 1
    # The owner cannot unreserve what is promised; a third person cannot ask.
    assert (await read(client, chair, giver))["actions"] == ["complete", "update", "withdraw"]
    unreserve = await client.post(f"/v1/listings/{chair.id}/unreserve", headers=giver.headers)
    assert_problem(unreserve, 409, "invalid_transition")

    await act(client, giver, tx["id"], "accept")
    await act(client, giver, tx["id"], "complete")
    assert (await read(client, chair))["status"] == "reserved"
    await act(client, taker, tx["id"], "confirm")
    listing = await read(client, chair, taker)
    assert (listing["status"], listing["quantity_available"], listing["actions"]) == (
        "completed",
        0,
        [],
    )
    assert (await read(client, chair, giver))["actions"] == []
    assert not await found(client, chair)
    await _assert_rollup_matches(session)


async def test_a_loan_never_completes_its_listing(
    client: httpx.AsyncClient, session: AsyncSession, giver: Actor, taker: Actor, clock: Clock
) -> None:
    drill = await create_listing(session, at=OSLO, person=giver, mode="lend", category="chairs")
    period = {
        "start": (NOW + timedelta(hours=24)).isoformat(),
        "end": (NOW + timedelta(hours=48)).isoformat(),
    }
    tx = (await ask(client, taker, drill, period=period)).json()
    assert (await read(client, drill))["status"] == "active"
    await act(client, giver, tx["id"], "accept")
    clock.now = NOW + timedelta(hours=24)
    await act(client, giver, tx["id"], "pickup")
    clock.now = NOW + timedelta(hours=47)
    await act(client, giver, tx["id"], "return")
    await act(client, taker, tx["id"], "confirm")
    listing = await read(client, drill, taker)
    assert (listing["status"], listing["quantity_available"]) == ("active", 1)
    assert listing["actions"] == ["request"]
    assert await found(client, drill)


async def test_an_expired_request_frees_its_quantity_and_reactivates_the_listing(
    client: httpx.AsyncClient, session: AsyncSession, giver: Actor, taker: Actor
) -> None:
    chairs = await create_listing(
        session, at=OSLO, person=giver, category="chairs", quantity=Decimal(2)
    )
    tx = (await ask(client, taker, chairs, quantity=2)).json()
    assert (await read(client, chairs))["status"] == "reserved"
    assert not await found(client, chairs)
    # Reserved listings are still readable by link, by anyone.
    assert (await client.get(f"/v1/listings/{chairs.id}")).status_code == 200
    due = datetime.fromisoformat(tx["expires_at"].replace("Z", "+00:00"))
    assert (await tick(session, now=due)).expired_requests == 1
    listing = await read(client, chairs, taker)
    assert (listing["status"], listing["quantity_available"], listing["actions"]) == (
        "active",
        2,
        ["request"],
    )
    assert await found(client, chairs)
    await _assert_rollup_matches(session)


async def test_actions_depend_on_the_caller(
    client: httpx.AsyncClient, session: AsyncSession, giver: Actor, taker: Actor
) -> None:
    chairs = await create_listing(
        session, at=OSLO, person=giver, category="chairs", quantity=Decimal(3)
    )
    assert (await read(client, chairs))["actions"] == []
    assert (await read(client, chairs, taker))["actions"] == ["request"]
    owner_view = await read(client, chairs, giver)
    assert owner_view["actions"] == ["complete", "renew", "reserve", "update", "withdraw"]
    assert (await ask(client, taker, chairs, quantity=2)).status_code == 201
    assert (await read(client, chairs, taker))["quantity_available"] == 1
    # Search and the owner's own list carry the same, for the caller, in one statement.
    search = await client.get("/v1/listings", params={"kommune": "0301"}, headers=taker.headers)
    row = next(r for r in search.json()["items"] if r["id"] == str(chairs.id))
    assert (row["quantity_available"], row["actions"]) == (1, ["request"])
    mine = await client.get("/v1/me/listings", headers=giver.headers)
    row = next(r for r in mine.json()["items"] if r["id"] == str(chairs.id))
    assert row["actions"] == ["complete", "renew", "reserve", "update", "withdraw"]
    # Kinds without a quantity have none available.
    workshop = await create_listing(
        session, at=OSLO, person=giver, kind="repair_service", mode=None, category="chairs"
    )
    assert (await read(client, workshop, taker))["quantity_available"] is None


async def test_search_with_a_bad_token_is_401_invalid_token_and_finds_nothing(
    client: httpx.AsyncClient,
) -> None:
    # Search reads the caller (for each listing's actions), so a token that does not verify
    # is refused as on every other route, never silently treated as anonymous.
    response = await client.get(
        "/v1/listings", params={"kommune": "0301"}, headers={"Authorization": "Bearer not-a-jwt"}
    )
    body = assert_problem(response, 401, "invalid_token")
    assert body["instance"] == "/v1/listings"
    assert "items" not in body
