"""Listings under real concurrency: parallel requests over separate connections, each
committing on its own (the committed database, see tests/conftest.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

PASSWORD = "et langt passord"
OSLO = [10.7336, 59.9119]


async def _signed_in(client: httpx.AsyncClient) -> dict[str, str]:
    email = f"race-{uuid.uuid4().hex[:10]}@example.no"
    registered = await client.post(
        "/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": "R"}
    )
    assert registered.status_code == 201, registered.text
    token = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _item(title: str, lon_lat: list[float] = OSLO) -> dict[str, Any]:
    return {
        "kind": "item",
        "mode": "give",
        "title": title,
        "category": "chairs",
        "location": {"type": "Point", "coordinates": lon_lat},
    }


async def test_of_twenty_parallel_reservations_exactly_one_wins(
    committed_client: httpx.AsyncClient,
) -> None:
    headers = await _signed_in(committed_client)
    created = await committed_client.post("/v1/listings", json=_item("Stol"), headers=headers)
    listing_id = created.json()["id"]
    responses = await asyncio.gather(
        *(
            committed_client.post(f"/v1/listings/{listing_id}/reserve", headers=headers)
            for _ in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"invalid_transition"}
    final = await committed_client.get(f"/v1/listings/{listing_id}", headers=headers)
    assert final.json()["status"] == "reserved"


async def test_paging_while_listings_are_published_never_skips_nor_repeats(
    committed_client: httpx.AsyncClient,
) -> None:
    headers = await _signed_in(committed_client)
    # A place of its own (Vardø), so other tests' listings do not interfere.
    vardo = [31.1100, 70.3705]
    kommune = "5634"
    before = []
    for i in range(12):
        response = await committed_client.post(
            "/v1/listings", json=_item(f"Stol nummer {i}", vardo), headers=headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["kommune"]["number"] == kommune
        before.append(response.json()["id"])

    stop = asyncio.Event()
    published: list[str] = []

    async def publish_meanwhile() -> None:
        n = 0
        while not stop.is_set():
            response = await committed_client.post(
                "/v1/listings", json=_item(f"Ny stol {n}", vardo), headers=headers
            )
            assert response.status_code == 201
            published.append(response.json()["id"])
            n += 1

    async def page_through(params: dict[str, Any]) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            query = params | {"limit": 3} | ({"cursor": cursor} if cursor else {})
            page = (await committed_client.get("/v1/listings", params=query)).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen
            await asyncio.sleep(0.01)

    writers = [asyncio.create_task(publish_meanwhile()) for _ in range(3)]
    try:
        newest = await page_through({"kommune": kommune})
        nearest = await page_through({"lat": vardo[1], "lon": vardo[0], "radius_m": 20_000})
    finally:
        stop.set()
        await asyncio.gather(*writers)
    assert published, "listings were published while paging"
    for seen in (newest, nearest):
        assert len(seen) == len(set(seen)), "a listing appeared twice"
        assert set(before) <= set(seen), "a listing that existed before paging was skipped"
        assert set(seen) <= set(before) | set(published)


async def test_of_ten_parallel_requests_for_the_last_unit_one_wins_and_reserves_the_listing(
    committed_client: httpx.AsyncClient,
) -> None:
    owner = await _signed_in(committed_client)
    created = await committed_client.post(
        "/v1/listings", json={**_item("Tre stoler"), "quantity": 3}, headers=owner
    )
    listing_id = created.json()["id"]
    first = await _signed_in(committed_client)
    two = await committed_client.post(
        "/v1/transactions", json={"listing_id": listing_id, "quantity": 2}, headers=first
    )
    assert two.status_code == 201, two.text
    listing = (await committed_client.get(f"/v1/listings/{listing_id}")).json()
    assert (listing["status"], listing["quantity_available"]) == ("active", 1)

    askers = [await _signed_in(committed_client) for _ in range(10)]
    responses = await asyncio.gather(
        *(
            committed_client.post(
                "/v1/transactions", json={"listing_id": listing_id, "quantity": 1}, headers=h
            )
            for h in askers
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, [r.text for r in responses]
    # The losers found the listing reserved (or, had one read it before, nothing left).
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {
        "listing_not_available",
        "insufficient_quantity",
    }
    listing = (await committed_client.get(f"/v1/listings/{listing_id}")).json()
    assert (listing["status"], listing["quantity_available"]) == ("reserved", 0)

    winner = next(r.json()["id"] for r in responses if r.status_code == 201)
    declined = await committed_client.post(f"/v1/transactions/{winner}/decline", headers=owner)
    assert declined.status_code == 200, declined.text
    listing = (await committed_client.get(f"/v1/listings/{listing_id}")).json()
    assert (listing["status"], listing["quantity_available"]) == ("active", 1)
    # Found again once a unit is free.
    search = await committed_client.get("/v1/listings", params={"q": "Tre stoler", "limit": 100})
    assert listing_id in {r["id"] for r in search.json()["items"]}
