"""Transactions under real concurrency: parallel requests over separate connections, each
committing on its own (the committed database, see tests/conftest.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.repositories.evidence import EvidenceRepository
from app.repositories.impact.rollup import ImpactRollupRepository
from tests.services.test_impact_rollup_property import snapshot

PASSWORD = "et langt passord"
OSLO = [10.7336, 59.9119]


async def _signed_in(client: httpx.AsyncClient) -> dict[str, str]:
    email = f"txrace-{uuid.uuid4().hex[:10]}@example.no"
    registered = await client.post(
        "/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": "R"}
    )
    assert registered.status_code == 201, registered.text
    token = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _listing(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> str:
    body = {
        "kind": "item",
        "mode": "lend",
        "title": "Slagdrill",
        "category": "power-tools",
        "location": {"type": "Point", "coordinates": OSLO},
        **fields,
    }
    created = await client.post("/v1/listings", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _period(start_h: int, end_h: int) -> dict[str, str]:
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    return {
        "start": (base + timedelta(hours=start_h)).isoformat(),
        "end": (base + timedelta(hours=end_h)).isoformat(),
    }


async def test_of_twenty_parallel_overlapping_bookings_exactly_one_succeeds(
    committed_client: httpx.AsyncClient,
) -> None:
    owner = await _signed_in(committed_client)
    listing_id = await _listing(committed_client, owner)
    borrowers = [await _signed_in(committed_client) for _ in range(20)]
    # Every request overlaps every other: all contain hour 10-11.
    responses = await asyncio.gather(
        *(
            committed_client.post(
                "/v1/transactions",
                json={"listing_id": listing_id, "period": _period(i % 5, 11 + i % 7)},
                headers=headers,
            )
            for i, headers in enumerate(borrowers)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, [
        r.text for r in responses if r.status_code not in (201, 409)
    ]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"booking_conflict"}
    busy = await committed_client.get(
        f"/v1/listings/{listing_id}/availability",
        params={"from": _period(0, 1)["start"], "to": _period(0, 30)["end"]},
    )
    assert len(busy.json()["busy"]) == 1


async def test_a_renewal_racing_bookings_of_its_extension_leaves_one_winner(
    committed_client: httpx.AsyncClient,
) -> None:
    """The borrower renews (hours 0-24 to 0-48) while ten others book hours 30-40 of the one
    unit: the exclusion constraint lets exactly one of the eleven through."""
    owner = await _signed_in(committed_client)
    listing_id = await _listing(committed_client, owner)
    borrower = await _signed_in(committed_client)
    asked = await committed_client.post(
        "/v1/transactions",
        json={"listing_id": listing_id, "period": _period(0, 24)},
        headers=borrower,
    )
    assert asked.status_code == 201, asked.text
    tx_id = asked.json()["id"]
    for action in ("accept", "pickup"):
        moved = await committed_client.post(f"/v1/transactions/{tx_id}/{action}", headers=owner)
        assert moved.status_code == 200, moved.text
    others = [await _signed_in(committed_client) for _ in range(10)]
    renewal, *bookings = await asyncio.gather(
        committed_client.post(f"/v1/transactions/{tx_id}/renew", headers=borrower),
        *(
            committed_client.post(
                "/v1/transactions",
                json={"listing_id": listing_id, "period": _period(30, 40)},
                headers=headers,
            )
            for headers in others
        ),
    )
    won = [r for r in [renewal, *bookings] if r.status_code in (200, 201)]
    assert len(won) == 1, [r.text for r in [renewal, *bookings]]
    lost = {r.json()["code"] for r in [renewal, *bookings] if r.status_code == 409}
    assert lost <= {"booking_conflict", "renewal_conflict"}
    assert len([r for r in [renewal, *bookings] if r.status_code == 409]) == 10
    busy = await committed_client.get(
        f"/v1/listings/{listing_id}/availability",
        params={"from": _period(0, 1)["start"], "to": _period(0, 60)["end"]},
    )
    periods = busy.json()["busy"]
    assert len(periods) == (1 if renewal.status_code == 200 else 2)


async def test_parallel_requests_never_take_more_than_the_listing_has(
    committed_client: httpx.AsyncClient,
) -> None:
    owner = await _signed_in(committed_client)
    listing_id = await _listing(committed_client, owner, mode="give", category="chairs", quantity=5)
    askers = [await _signed_in(committed_client) for _ in range(12)]
    responses = await asyncio.gather(
        *(
            committed_client.post(
                "/v1/transactions", json={"listing_id": listing_id, "quantity": 1}, headers=h
            )
            for h in askers
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 7
    # The fifth unit promised reserves the listing (migration 0009): the rest find it taken.
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "listing_not_available"
    }
    listing = (await committed_client.get(f"/v1/listings/{listing_id}")).json()
    assert (listing["status"], listing["quantity_available"]) == ("reserved", 0)


async def test_parallel_retries_with_one_idempotency_key_create_one_transaction(
    committed_client: httpx.AsyncClient,
) -> None:
    owner = await _signed_in(committed_client)
    listing_id = await _listing(committed_client, owner, mode="give", category="chairs", quantity=9)
    asker = await _signed_in(committed_client)
    headers = {**asker, "Idempotency-Key": f"ask-{uuid.uuid4().hex}"}
    body = {"listing_id": listing_id, "quantity": 2}
    responses = await asyncio.gather(
        *(committed_client.post("/v1/transactions", json=body, headers=headers) for _ in range(10))
    )
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.text for r in responses]
    assert {r.json()["id"] for r in created} == {created[0].json()["id"]}
    for r in responses:
        assert r.status_code in (201, 409), r.text
        if r.status_code == 409:
            assert r.json()["code"] == "idempotency_in_progress"
    assert sum(r.headers.get("idempotency-replayed") != "true" for r in created) == 1
    mine = await committed_client.get(
        "/v1/transactions", params={"listing_id": listing_id}, headers=asker
    )
    assert len(mine.json()["items"]) == 1
    # A retry afterwards replays; the same key with another body is refused.
    again = await committed_client.post("/v1/transactions", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"
    other = await committed_client.post(
        "/v1/transactions", json={**body, "quantity": 3}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_parallel_completions_stay_one_valid_chain(
    committed_client: httpx.AsyncClient, committed_engine: AsyncEngine
) -> None:
    owner = await _signed_in(committed_client)
    ids = []
    for _ in range(12):
        listing_id = await _listing(committed_client, owner, mode="give", category="chairs")
        asker = await _signed_in(committed_client)
        tx = await committed_client.post(
            "/v1/transactions", json={"listing_id": listing_id}, headers=asker
        )
        accepted = await committed_client.post(
            f"/v1/transactions/{tx.json()['id']}/accept", headers=owner
        )
        assert accepted.status_code == 200, accepted.text
        ids.append(tx.json()["id"])
    done = await asyncio.gather(
        *(committed_client.post(f"/v1/transactions/{i}/complete", headers=owner) for i in ids)
    )
    assert [r.status_code for r in done] == [200] * 12
    async with AsyncSession(committed_engine) as session:
        report = await EvidenceRepository(session).verify()
    assert report["first_broken_seq"] is None
    assert report["count"] >= 12
    assert report["head_seq"] == report["count"]
    # The rollups the trigger updated from twelve parallel transactions equal a rebuild from
    # the ledger (in a transaction that is rolled back, leaving the committed data alone).
    async with AsyncSession(committed_engine) as session:
        kept = await snapshot(session)
        await ImpactRollupRepository(session).rebuild()
        assert await snapshot(session) == kept
        await session.rollback()
