"""Transactions through the API: types, state machines, who may move them, quantities,
bookings, the clock, impact and the evidence each leaves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Evidence, Listing, Repair, Transaction
from app.models.organization import ApiKeyScope, OrganizationKind
from app.services.transaction import tick
from tests.clock import Clock, frozen
from tests.factories import (
    Actor,
    create_api_key,
    create_listing,
    create_organization,
    create_person,
)
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TIMBER_EWC = "170201"


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


@pytest.fixture
async def provider(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Giver")


@pytest.fixture
async def receiver(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Mottaker")


@pytest.fixture
async def stranger(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def moderator(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, roles=["moderator"])


def period(start_h: float, end_h: float) -> dict[str, str]:
    return {
        "start": (NOW + timedelta(hours=start_h)).isoformat(),
        "end": (NOW + timedelta(hours=end_h)).isoformat(),
    }


async def ask(
    client: httpx.AsyncClient, who: Actor, listing: Listing, **body: Any
) -> httpx.Response:
    return await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id), **body}, headers=who.headers
    )


async def act(
    client: httpx.AsyncClient, who: Actor, tx_id: str, action: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/transactions/{tx_id}/{action}", json=body or None, headers=who.headers
    )


async def ledger(session: AsyncSession, tx_id: str) -> list[Evidence]:
    rows = await session.execute(
        select(Evidence).where(Evidence.transaction_id == uuid.UUID(tx_id)).order_by(Evidence.seq)
    )
    return list(rows.scalars())


async def count_transactions(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Transaction)) or 0)


async def surplus_timber(session: AsyncSession, owner: Actor) -> Listing:
    """5 t of timber given away (EWC 17 02 01)."""
    return await create_listing(
        session,
        at=OSLO,
        person=owner,
        kind="material",
        mode="give",
        category=None,
        ewc_code=TIMBER_EWC,
        quantity=Decimal(5),
        unit="t",
    )


# --- types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mode", "extra", "expected_type", "subgoal"),
    [
        ("item", "give", {}, "reuse", "SG1"),
        ("item", "sell", {}, "reuse", "SG1"),
        ("item", "lend", {"period": period(24, 48)}, "loan", "SG2"),
        ("item", "rent", {"period": period(24, 48)}, "rental", "SG2"),
        ("space", "lend", {"period": period(24, 48)}, "space_share", "SG3"),
        ("space", "rent", {"period": period(24, 48)}, "rental", "SG3"),
        ("material", "give", {"quantity": 2, "unit": "t"}, "material_exchange", "SG3"),
        ("energy", "sell", {"quantity": 10}, "energy_exchange", "SG3"),
        ("repair_service", None, {}, "repair", "SG1"),
    ],
)
async def test_the_listing_decides_the_type_and_subgoal(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    kind: str,
    mode: str | None,
    extra: dict[str, Any],
    expected_type: str,
    subgoal: str,
) -> None:
    details: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    if kind == "space":
        details = {"space_type": "storage", "area_m2": 40}
    if kind == "energy":
        details = {"energy_type": "heat", "capacity_kw": 500}
    if kind == "material":
        kwargs = {"ewc_code": TIMBER_EWC, "quantity": Decimal(10), "unit": "t"}
    price = Decimal(100) if mode in ("sell", "rent") else None
    listing = await create_listing(
        session,
        at=OSLO,
        person=provider,
        kind=kind,
        mode=mode,
        category="laptops" if kind == "repair_service" else ("bikes" if kind == "item" else None),
        details=details,
        price_nok=price,
        **kwargs,
    )
    response = await ask(client, receiver, listing, **extra)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["type"] == expected_type
    assert body["subgoal"] == subgoal
    assert body["status"] == "requested"
    assert body["roles"] == ["receiver"]
    assert body["actions"] == ["cancel"]
    assert body["provider"] == {
        "person_id": str(provider.person_id),
        "organization_id": None,
        "label": "Giver",
    }
    assert body["receiver"] == {
        "person_id": str(receiver.person_id),
        "organization_id": None,
        "label": "Mottaker",
    }
    assert body["expires_at"] is not None


# --- a reuse, end to end --------------------------------------------------------------


async def test_reuse_handover_confirmed_counts_once_as_confirmed(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    provider: Actor,
    receiver: Actor,
) -> None:
    listing = await create_listing(session, at=OSLO, person=provider, category="bikes")
    tx = (await ask(client, receiver, listing)).json()
    assert tx["quantity"] == 1
    assert tx["unit"] == "pcs"

    seen = await client.get(f"/v1/transactions/{tx['id']}", headers=provider.headers)
    assert seen.json()["roles"] == ["provider"]
    assert seen.json()["actions"] == ["accept", "decline"]

    accepted = await act(client, provider, tx["id"], "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["expires_at"] is None
    assert await ledger(session, tx["id"]) == []  # nothing happened yet

    clock.now = NOW + timedelta(hours=3)
    completed = await act(client, provider, tx["id"], "complete")
    assert completed.status_code == 200, completed.text
    body = completed.json()
    assert body["status"] == "completed"
    # Restart's Bicycle factors, displacement 0.5, one item.
    assert body["impact"]["basis"] == "category"
    assert body["impact"]["factor_revision"] >= 1
    records = await ledger(session, tx["id"])
    assert [(r.event, r.grade, r.record_count) for r in records] == [("completed", "reported", 1)]
    first = records[0]
    assert first.kommunenummer == "0301"
    assert first.fylkesnummer == "03"
    assert first.category_slug == "bikes"
    assert first.provider_sector == "households"
    assert first.receiver_sector == "households"
    assert first.provider_party != first.receiver_party
    assert str(provider.person_id) not in first.provider_party
    assert float(first.co2e_kg or 0) == body["impact"]["co2e_kg"]

    confirmed = await act(client, receiver, tx["id"], "confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["actions"] == []
    records = await ledger(session, tx["id"])
    assert [(r.event, r.grade, r.record_count, r.compensates) for r in records] == [
        ("completed", "reported", 1, None),
        ("confirmed", "reported", -1, records[0].seq),
        ("confirmed", "confirmed", 1, None),
    ]
    # Summed, it counts once, as confirmed, with its figures once.
    assert sum(r.record_count for r in records) == 1
    assert sum(r.record_count for r in records if r.grade == "confirmed") == 1
    assert sum((r.co2e_kg or 0) for r in records) == first.co2e_kg
    # The listing gave its one item away.
    await session.refresh(listing)
    assert listing.quantity_committed == 1


async def test_golden_fixed_laptop_repair(
    client: httpx.AsyncClient,
    session: AsyncSession,
    receiver: Actor,
    settings: Settings,
) -> None:
    owner = await create_person(session, settings)
    shop = await create_organization(session, owner=owner, kind=OrganizationKind.REPAIR_SHOP)
    service = await create_listing(
        session, at=OSLO, organization=shop, kind="repair_service", mode=None, category="laptops"
    )
    tx = (await ask(client, receiver, service)).json()
    assert (await act(client, owner, tx["id"], "accept")).status_code == 200
    missing = await act(client, owner, tx["id"], "complete")
    assert_problem(missing, 422, "invalid_input")
    done = await act(
        client,
        owner,
        tx["id"],
        "complete",
        repair={"repair_status": "Fixed", "brand": "Lenovo", "product_age": 4},
    )
    assert done.status_code == 200, done.text
    impact = done.json()["impact"]
    # The Fixometer: Laptop medium, 265.32 kg CO2e pre-use x 0.5 displacement; 1.834 kg.
    assert impact["co2e_kg"] == 132.66
    assert impact["kg_diverted"] == 1.834
    assert round(impact["kg_diverted"], 2) == 1.83
    repair = (
        await session.execute(select(Repair).where(Repair.transaction_id == uuid.UUID(tx["id"])))
    ).scalar_one()
    assert repair.repair_status == "Fixed"
    assert repair.ords_category_id == 16
    assert repair.co2e_kg == Decimal("132.660")
    [record] = await ledger(session, tx["id"])
    assert record.repair_status == "Fixed"
    assert record.ords_category_id == 16
    assert record.co2e_kg == Decimal("132.660")
    assert record.kg_diverted == Decimal("1.834")
    assert record.provider_sector == "business"
    assert record.receiver_sector == "households"


async def test_a_repair_that_did_not_fix_counts_but_carries_no_impact(
    client: httpx.AsyncClient,
    session: AsyncSession,
    receiver: Actor,
    provider: Actor,
) -> None:
    service = await create_listing(
        session, at=OSLO, person=provider, kind="repair_service", mode=None, category="laptops"
    )
    tx = (await ask(client, receiver, service)).json()
    await act(client, provider, tx["id"], "accept")
    barrier_wrong = await act(
        client,
        provider,
        tx["id"],
        "complete",
        repair={"repair_status": "Fixed", "repair_barrier": "Lack of equipment"},
    )
    assert_problem(barrier_wrong, 422, "validation_failed")
    done = await act(
        client,
        provider,
        tx["id"],
        "complete",
        repair={"repair_status": "End of life", "repair_barrier": "Spare parts not available"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["impact"] == {
        "basis": "none",
        "kg_diverted": None,
        "co2e_kg": None,
        "factor_revision": None,
    }
    [record] = await ledger(session, tx["id"])
    assert record.record_count == 1
    assert record.co2e_kg is None


# --- state machines and parties ----------------------------------------------------------


async def test_moves_out_of_order_are_409_and_the_wrong_party_403(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    stranger: Actor,
) -> None:
    listing = await create_listing(session, at=OSLO, person=provider, category="bikes")
    tx = (await ask(client, receiver, listing)).json()

    assert_problem(await act(client, provider, tx["id"], "complete"), 409, "invalid_transition")
    assert_problem(await act(client, receiver, tx["id"], "confirm"), 409, "invalid_transition")
    # A reuse has no pickup at all.
    assert_problem(await act(client, provider, tx["id"], "pickup"), 409, "invalid_transition")
    # The clock's moves are not the parties'.
    assert_problem(await act(client, provider, tx["id"], "expire"), 409, "invalid_transition")
    wrong = await act(client, receiver, tx["id"], "accept")
    assert_problem(wrong, 403, "wrong_party")
    assert "provider" in wrong.json()["detail"]
    assert_problem(await act(client, provider, tx["id"], "uphold"), 409, "invalid_transition")
    # Not a party: it does not exist for them.
    assert_problem(await act(client, stranger, tx["id"], "accept"), 404, "transaction_not_found")
    assert_problem(
        await client.get(f"/v1/transactions/{tx['id']}", headers=stranger.headers),
        404,
        "transaction_not_found",
    )
    assert_problem(
        await act(client, provider, str(uuid.uuid4()), "accept"), 404, "transaction_not_found"
    )
    unknown = await act(client, provider, tx["id"], "teleport")
    assert_problem(unknown, 422, "validation_failed")
    unauthenticated = await client.post(f"/v1/transactions/{tx['id']}/accept")
    assert_problem(unauthenticated, 401, "unauthorized")
    # Nothing moved.
    still = await client.get(f"/v1/transactions/{tx['id']}", headers=receiver.headers)
    assert still.json()["status"] == "requested"


async def test_the_database_refuses_moves_outside_the_machine(
    session: AsyncSession, provider: Actor, receiver: Actor
) -> None:
    listing = await create_listing(session, at=OSLO, person=provider, category="bikes")
    tx = Transaction(
        type="reuse",
        subgoal="SG1",
        status="requested",
        listing_id=listing.id,
        provider_person_id=provider.person_id,
        receiver_person_id=receiver.person_id,
        quantity=Decimal(1),
        unit="pcs",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(tx)
    await session.flush()
    with pytest.raises(Exception, match=r"transactions_status_transition|cannot go from"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE transactions SET status = 'confirmed' WHERE id = :id"),
                {"id": tx.id},
            )
    with pytest.raises(Exception, match="never change"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE transactions SET receiver_person_id = :p WHERE id = :id"),
                {"id": tx.id, "p": provider.person_id},
            )


async def test_dispute_takes_the_record_back_and_a_moderator_decides(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    moderator: Actor,
) -> None:
    first = await create_listing(session, at=OSLO, person=provider, category="chairs")
    second = await create_listing(session, at=OSLO, person=provider, category="chairs")
    ids = []
    for listing in (first, second):
        tx = (await ask(client, receiver, listing)).json()
        await act(client, provider, tx["id"], "accept")
        await act(client, provider, tx["id"], "complete")
        disputed = await act(client, receiver, tx["id"], "dispute", note="Fikk aldri stolen")
        assert disputed.status_code == 200
        assert disputed.json()["status"] == "disputed"
        ids.append(tx["id"])
    records = await ledger(session, ids[0])
    assert [(r.event, r.record_count) for r in records] == [("completed", 1), ("disputed", -1)]
    assert sum(r.record_count for r in records) == 0

    assert_problem(await act(client, provider, ids[0], "uphold"), 403, "wrong_party")
    upheld = await act(client, moderator, ids[0], "uphold")
    assert upheld.status_code == 200, upheld.text
    assert upheld.json()["status"] == "confirmed"
    assert upheld.json()["roles"] == []
    records = await ledger(session, ids[0])
    assert [(r.event, r.grade, r.record_count) for r in records][-1] == ("upheld", "confirmed", 1)
    assert sum(r.record_count for r in records) == 1

    voided = await act(client, moderator, ids[1], "void")
    assert voided.json()["status"] == "voided"
    assert sum(r.record_count for r in await ledger(session, ids[1])) == 0


async def test_a_moderators_correction_compensates_and_restates(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    moderator: Actor,
) -> None:
    timber = await surplus_timber(session, provider)
    tx = (await ask(client, receiver, timber, quantity=2)).json()
    assert tx["unit"] == "t"
    await act(client, provider, tx["id"], "accept")
    done = await act(client, provider, tx["id"], "complete", delivered_quantity=1.5)
    assert done.status_code == 200, done.text
    # 1.5 t = 1500 kg, and WRAP's 0.51 kg CO2e per kg reused.
    assert done.json()["impact"]["kg_diverted"] == 1500
    assert done.json()["impact"]["co2e_kg"] == 765
    await session.refresh(timber)
    assert timber.quantity_committed == Decimal("1.5")  # the rest went back

    assert_problem(await act(client, moderator, tx["id"], "correct"), 422, "invalid_input")
    corrected = await act(client, moderator, tx["id"], "correct", delivered_quantity=2)
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "completed"
    assert corrected.json()["delivered_quantity"] == 2
    records = await ledger(session, tx["id"])
    assert [(r.event, r.record_count, r.quantity) for r in records] == [
        ("completed", 1, Decimal("1.500")),
        ("corrected", -1, Decimal("-1.500")),
        ("corrected", 1, Decimal("2.000")),
    ]
    assert sum((r.kg_diverted or 0) for r in records) == Decimal("2000.000")
    assert sum((r.co2e_kg or 0) for r in records) == Decimal("1020.000")


# --- quantities -------------------------------------------------------------------------


async def test_quantities_never_go_below_zero_and_come_back_when_a_request_ends(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    stranger: Actor,
) -> None:
    chairs = await create_listing(
        session, at=OSLO, person=provider, category="chairs", quantity=Decimal(3)
    )
    two = await ask(client, receiver, chairs, quantity=2)
    assert two.status_code == 201
    before = await count_transactions(session)
    too_many = await ask(client, stranger, chairs, quantity=2)
    assert_problem(too_many, 409, "insufficient_quantity")
    assert await count_transactions(session) == before
    assert (await ask(client, stranger, chairs, quantity=1)).status_code == 201
    await session.refresh(chairs)
    assert chairs.quantity_committed == 3
    # The receiver withdraws the request: two chairs are free again.
    cancelled = await act(client, receiver, two.json()["id"], "cancel")
    assert cancelled.json()["status"] == "cancelled"
    await session.refresh(chairs)
    assert chairs.quantity_committed == 1
    assert (await ask(client, receiver, chairs, quantity=2)).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"quantity": 0}, 422, "validation_failed"),
        ({"quantity": -1}, 422, "validation_failed"),
        ({"quantity": "lots"}, 422, "validation_failed"),
        ({"quantity": 1.5}, 422, "invalid_input"),
        ({"quantity": 1, "unit": "kg"}, 422, "unit_mismatch"),
        ({"period": period(1, 2)}, 422, "invalid_input"),
        ({"surprise": True}, 422, "validation_failed"),
        ({"message": "x" * 1001}, 422, "validation_failed"),
    ],
)
async def test_bad_reuse_requests_write_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    listing = await create_listing(session, at=OSLO, person=provider, category="bikes")
    before = await count_transactions(session)
    assert_problem(await ask(client, receiver, listing, **body), status, code)
    assert await count_transactions(session) == before


async def test_material_units_must_fit_and_a_quantity_is_required(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
) -> None:
    timber = await surplus_timber(session, provider)
    assert_problem(await ask(client, receiver, timber, quantity=5, unit="kg"), 422, "unit_mismatch")
    assert_problem(await ask(client, receiver, timber), 422, "invalid_input")
    assert_problem(await ask(client, receiver, timber, quantity=6), 409, "insufficient_quantity")
    assert await count_transactions(session) == 0


async def test_energy_completion_needs_the_delivered_mwh(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    receiver: Actor,
) -> None:
    owner = await create_person(session, settings)
    plant = await create_organization(session, owner=owner, kind=OrganizationKind.COMPANY)
    heat = await create_listing(
        session,
        at=OSLO,
        organization=plant,
        kind="energy",
        mode="give",
        category=None,
        details={"energy_type": "heat", "capacity_kw": 800},
    )
    tx = (await ask(client, receiver, heat)).json()
    assert tx["quantity"] is None
    await act(client, owner, tx["id"], "accept")
    assert_problem(await act(client, owner, tx["id"], "complete"), 422, "invalid_input")
    done = await act(client, owner, tx["id"], "complete", delivered_quantity=120)
    assert done.status_code == 200, done.text
    assert done.json()["unit"] == "mwh"
    assert done.json()["delivered_quantity"] == 120
    assert done.json()["impact"]["basis"] == "activity"
    [record] = await ledger(session, tx["id"])
    assert (record.quantity, record.unit, record.co2e_kg) == (Decimal("120.000"), "mwh", None)
    assert record.provider_sector == "business"


# --- who may ask --------------------------------------------------------------------------


async def test_listings_that_cannot_be_asked_for(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
) -> None:
    own = await create_listing(session, at=OSLO, person=receiver, category="bikes")
    assert_problem(await ask(client, receiver, own), 422, "own_listing")
    wanted = await create_listing(session, at=OSLO, person=provider, mode="wanted")
    assert_problem(await ask(client, receiver, wanted), 422, "listing_not_transactable")
    withdrawn = await create_listing(session, at=OSLO, person=provider)
    withdrawn.status = "withdrawn"
    await session.flush()
    assert_problem(await ask(client, receiver, withdrawn), 409, "listing_not_available")
    draft = await create_listing(session, at=OSLO, person=provider, status="draft")
    assert_problem(await ask(client, receiver, draft), 404, "listing_not_found")
    expired = await create_listing(
        session, at=OSLO, person=provider, expires_at=NOW - timedelta(minutes=1)
    )
    assert_problem(await ask(client, receiver, expired), 409, "listing_not_available")
    missing = await client.post(
        "/v1/transactions", json={"listing_id": str(uuid.uuid4())}, headers=receiver.headers
    )
    assert_problem(missing, 404, "listing_not_found")
    assert_problem(
        await client.post("/v1/transactions", json={"listing_id": str(own.id)}), 401, "unauthorized"
    )
    assert await count_transactions(session) == 0


async def test_organizations_ask_through_members_and_scoped_api_keys(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    provider: Actor,
    stranger: Actor,
) -> None:
    buyer_owner = await create_person(session, settings)
    buyer = await create_organization(session, owner=buyer_owner, kind=OrganizationKind.COMPANY)
    timber = await surplus_timber(session, provider)
    as_member = await ask(client, buyer_owner, timber, quantity=1, organization_id=str(buyer.id))
    assert as_member.status_code == 201, as_member.text
    assert as_member.json()["receiver"] == {
        "person_id": None,
        "organization_id": str(buyer.id),
        "label": buyer.name,
    }
    not_member = await ask(client, stranger, timber, quantity=1, organization_id=str(buyer.id))
    assert_problem(not_member, 403, "not_a_member")
    no_such = await ask(client, stranger, timber, quantity=1, organization_id=str(uuid.uuid4()))
    assert_problem(no_such, 404, "organization_not_found")

    scoped = await create_api_key(
        session, organization_id=buyer.id, scopes=[ApiKeyScope.TRANSACTIONS_WRITE]
    )
    unscoped = await create_api_key(
        session, organization_id=buyer.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    by_key = await client.post(
        "/v1/transactions",
        json={"listing_id": str(timber.id), "quantity": 1},
        headers=scoped,
    )
    assert by_key.status_code == 201, by_key.text
    assert by_key.json()["receiver"]["organization_id"] == str(buyer.id)
    refused = await client.post(
        "/v1/transactions", json={"listing_id": str(timber.id), "quantity": 1}, headers=unscoped
    )
    assert_problem(refused, 403, "insufficient_scope")
    # The organization's transactions, for its members and its key.
    for headers in (buyer_owner.headers, scoped):
        page = await client.get(
            "/v1/transactions", params={"organization_id": str(buyer.id)}, headers=headers
        )
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) == 2
        assert all(i["roles"] == ["receiver"] for i in page.json()["items"])


async def test_listing_filters_and_cursor(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    provider: Actor,
    receiver: Actor,
) -> None:
    made = []
    for i in range(5):
        clock.now = NOW + timedelta(minutes=i)
        listing = await create_listing(session, at=OSLO, person=provider, category="bikes")
        made.append((await ask(client, receiver, listing)).json()["id"])
    await act(client, provider, made[0], "decline")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "role": "receiver"}
        if cursor:
            params["cursor"] = cursor
        page = (
            await client.get("/v1/transactions", params=params, headers=receiver.headers)
        ).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    as_provider = await client.get(
        "/v1/transactions", params={"role": "receiver"}, headers=provider.headers
    )
    assert as_provider.json()["items"] == []
    declined = await client.get(
        "/v1/transactions", params={"status": ["declined"]}, headers=provider.headers
    )
    assert [i["id"] for i in declined.json()["items"]] == [made[0]]
    bad = await client.get("/v1/transactions", params={"cursor": "nope"}, headers=provider.headers)
    assert_problem(bad, 422, "invalid_cursor")
    bad_status = await client.get(
        "/v1/transactions", params={"status": "lost"}, headers=provider.headers
    )
    assert_problem(bad_status, 422, "validation_failed")


# --- bookings ------------------------------------------------------------------------------


async def lendable(session: AsyncSession, owner: Actor, **kwargs: Any) -> Listing:
    return await create_listing(
        session, at=OSLO, person=owner, mode="lend", category="power-tools", **kwargs
    )


async def test_overlapping_bookings_conflict_and_buffers_hold(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    stranger: Actor,
) -> None:
    drill = await lendable(session, provider, details={"booking": {"buffer_hours": 12}})
    first = await ask(client, receiver, drill, period=period(24, 48))
    assert first.status_code == 201, first.text
    assert first.json()["blocked_until"] == (NOW + timedelta(hours=60)).isoformat().replace(
        "+00:00", "Z"
    ) or first.json()["blocked_until"].startswith("2026-11-25T00:00:00")
    assert first.json()["unit_no"] == 1
    overlapping = await ask(client, stranger, drill, period=period(40, 50))
    assert_problem(overlapping, 409, "booking_conflict")
    in_buffer = await ask(client, stranger, drill, period=period(50, 55))
    assert_problem(in_buffer, 409, "booking_conflict")
    after_buffer = await ask(client, stranger, drill, period=period(60, 70))
    assert after_buffer.status_code == 201, after_buffer.text
    # A declined request frees its period (with its own buffer up to 59 h, before the next).
    await act(client, provider, first.json()["id"], "decline")
    assert (await ask(client, stranger, drill, period=period(40, 47))).status_code == 201


async def test_several_identical_items_are_booked_unit_by_unit(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    settings: Settings,
) -> None:
    drills = await lendable(session, provider, quantity=Decimal(2))
    units = []
    for _ in range(2):
        borrower = await create_person(session, settings)
        response = await ask(client, borrower, drills, period=period(24, 48))
        assert response.status_code == 201, response.text
        units.append(response.json()["unit_no"])
    assert sorted(units) == [1, 2]
    assert_problem(
        await ask(client, receiver, drills, period=period(30, 31)), 409, "booking_conflict"
    )
    free = await client.get(
        f"/v1/listings/{drills.id}/availability",
        params={"from": NOW.isoformat(), "to": (NOW + timedelta(days=3)).isoformat()},
    )
    assert free.status_code == 200, free.text
    doc = free.json()
    assert doc["units"] == 2
    assert len(doc["busy"]) == 2
    assert {b["unit_no"] for b in doc["busy"]} == {1, 2}
    assert [(f["units_free"]) for f in doc["free"]] == [2, 2]
    assert doc["free"][0]["end"].startswith("2026-11-23T12:00:00")
    assert doc["free"][1]["start"].startswith("2026-11-24T12:00:00")


@pytest.mark.parametrize(
    ("window", "field"),
    [
        (period(-5, 2), "period.start"),
        (period(24 * 40, 24 * 41), "period.start"),
        (period(1, 24 * 8), "period.end"),
    ],
)
async def test_booking_windows(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    window: dict[str, str],
    field: str,
) -> None:
    drill = await lendable(
        session, provider, details={"booking": {"max_advance_days": 30, "max_duration_days": 7}}
    )
    problem = assert_problem(
        await ask(client, receiver, drill, period=window), 422, "invalid_period"
    )
    assert problem["errors"][0]["field"] == field
    assert await count_transactions(session) == 0


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {"start": "2026-12-02T10:00:00+01:00", "end": "2026-12-01T10:00:00+01:00"},
        {"start": "2026-12-02T10:00:00", "end": "2026-12-03T10:00:00"},
        {"start": "i morgen", "end": "2026-12-03T10:00:00+01:00"},
    ],
)
async def test_malformed_periods(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    bad: dict[str, str] | None,
) -> None:
    drill = await lendable(session, provider)
    body = {} if bad is None else {"period": bad}
    response = await ask(client, receiver, drill, **body)
    assert_problem(response, 422, "invalid_period" if bad is None else "validation_failed")
    assert await count_transactions(session) == 0


async def test_loan_pickup_return_confirm_counts_item_days(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    provider: Actor,
    receiver: Actor,
) -> None:
    drill = await lendable(session, provider)
    tx = (await ask(client, receiver, drill, period=period(24, 72))).json()
    await act(client, provider, tx["id"], "accept")
    clock.now = NOW + timedelta(hours=24)
    picked = await act(client, provider, tx["id"], "pickup")
    assert picked.json()["status"] == "active"
    assert_problem(await act(client, receiver, tx["id"], "return"), 403, "wrong_party")
    clock.now = NOW + timedelta(hours=60)
    returned = await act(client, provider, tx["id"], "return")
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
    assert returned.json()["impact"]["basis"] == "activity"
    [record] = await ledger(session, tx["id"])
    assert (record.type, record.subgoal, record.days) == ("loan", "SG2", Decimal("1.500"))
    assert (record.quantity, record.unit, record.co2e_kg) == (Decimal("1.000"), "pcs", None)
    confirmed = await act(client, receiver, tx["id"], "confirm")
    assert confirmed.json()["status"] == "confirmed"
    assert sum(r.record_count for r in await ledger(session, tx["id"])) == 1


async def test_space_shares_count_square_metre_days(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
) -> None:
    owner = await create_person(session, settings)
    host = await create_organization(session, owner=owner, kind=OrganizationKind.COMPANY)
    guest_owner = await create_person(session, settings)
    guest = await create_organization(
        session, owner=guest_owner, kind=OrganizationKind.CIVIL_SOCIETY
    )
    hall = await create_listing(
        session,
        at=OSLO,
        organization=host,
        kind="space",
        mode="lend",
        category=None,
        details={"space_type": "workshop", "area_m2": 120},
    )
    tx = (
        await ask(client, guest_owner, hall, period=period(24, 72), organization_id=str(guest.id))
    ).json()
    assert tx["type"] == "space_share"
    assert tx["quantity"] == 120
    assert tx["unit"] == "m2"
    await act(client, owner, tx["id"], "accept")
    clock.now = NOW + timedelta(hours=24)
    await act(client, owner, tx["id"], "pickup")
    clock.now = NOW + timedelta(hours=72)
    await act(client, owner, tx["id"], "return")
    [record] = await ledger(session, tx["id"])
    assert (record.quantity, record.unit, record.days) == (
        Decimal("120.000"),
        "m2",
        Decimal("2.000"),
    )
    assert (record.provider_sector, record.receiver_sector) == ("business", "civil_society")


# --- the clock ----------------------------------------------------------------------------


async def test_tick_expires_requests_and_releases_what_they_held(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
    settings: Settings,
) -> None:
    chairs = await create_listing(session, at=OSLO, person=provider, category="chairs")
    tx = (await ask(client, receiver, chairs)).json()
    due = datetime.fromisoformat(tx["expires_at"].replace("Z", "+00:00"))
    assert due == NOW + timedelta(hours=settings.transactions.request_ttl_hours)
    report = await tick(session, now=due - timedelta(seconds=1))
    assert report.expired_requests == 0
    report = await tick(session, now=due)
    assert report.expired_requests == 1
    expired = await client.get(f"/v1/transactions/{tx['id']}", headers=receiver.headers)
    assert expired.json()["status"] == "expired"
    assert expired.json()["closed_at"] is not None
    await session.refresh(chairs)
    assert chairs.quantity_committed == 0
    assert await ledger(session, tx["id"]) == []  # nothing happened: nothing counted


async def test_a_booking_request_expires_when_its_period_begins(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
) -> None:
    drill = await lendable(session, provider)
    tx = (await ask(client, receiver, drill, period=period(5, 10))).json()
    assert tx["expires_at"].startswith("2026-11-22T17:00:00")


async def test_overdue_loans_keep_blocking_until_returned(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    provider: Actor,
    receiver: Actor,
    stranger: Actor,
) -> None:
    drill = await lendable(session, provider)
    tx = (await ask(client, receiver, drill, period=period(1, 24))).json()
    await act(client, provider, tx["id"], "accept")
    clock.now = NOW + timedelta(hours=1)
    await act(client, provider, tx["id"], "pickup")
    report = await tick(session, now=NOW + timedelta(hours=25))
    assert report.overdue == 1
    late = (await client.get(f"/v1/transactions/{tx['id']}", headers=receiver.headers)).json()
    assert late["status"] == "overdue"
    assert late["blocked_until"] is None  # open-ended
    clock.now = NOW + timedelta(hours=25)
    blocked = await ask(client, stranger, drill, period=period(48, 50))
    assert_problem(blocked, 409, "booking_conflict")
    busy = await client.get(f"/v1/listings/{drill.id}/availability")
    assert busy.json()["busy"][0]["end"] is None
    assert busy.json()["free"] == []
    returned = await act(client, provider, tx["id"], "return")
    assert returned.json()["status"] == "returned"
    assert (await ask(client, stranger, drill, period=period(48, 50))).status_code == 201


async def test_an_overdue_loan_does_not_run_over_a_booking_agreed_before(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    provider: Actor,
    receiver: Actor,
    stranger: Actor,
) -> None:
    drill = await lendable(session, provider)
    tx = (await ask(client, receiver, drill, period=period(1, 24))).json()
    await act(client, provider, tx["id"], "accept")
    nxt = (await ask(client, stranger, drill, period=period(48, 60))).json()
    clock.now = NOW + timedelta(hours=1)
    await act(client, provider, tx["id"], "pickup")
    assert (await tick(session, now=NOW + timedelta(hours=30))).overdue == 1
    late = (await client.get(f"/v1/transactions/{tx['id']}", headers=receiver.headers)).json()
    assert late["blocked_until"] == nxt["period"]["start"]


async def test_tick_lapses_bookings_never_picked_up(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: Actor,
    receiver: Actor,
) -> None:
    drill = await lendable(session, provider)
    tx = (await ask(client, receiver, drill, period=period(1, 5))).json()
    await act(client, provider, tx["id"], "accept")
    report = await tick(session, now=NOW + timedelta(hours=6))
    assert report.lapsed_bookings == 1
    lapsed = (await client.get(f"/v1/transactions/{tx['id']}", headers=receiver.headers)).json()
    assert lapsed["status"] == "expired"


async def test_availability_errors(
    client: httpx.AsyncClient, session: AsyncSession, provider: Actor
) -> None:
    gift = await create_listing(session, at=OSLO, person=provider, category="bikes")
    assert_problem(
        await client.get(f"/v1/listings/{gift.id}/availability"), 422, "listing_not_transactable"
    )
    assert_problem(
        await client.get(f"/v1/listings/{uuid.uuid4()}/availability"), 404, "listing_not_found"
    )
    drill = await lendable(session, provider)
    backwards = await client.get(
        f"/v1/listings/{drill.id}/availability",
        params={"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
    )
    assert_problem(backwards, 422, "invalid_input")
    naive = await client.get(
        f"/v1/listings/{drill.id}/availability", params={"from": "2026-12-02T00:00:00"}
    )
    assert_problem(naive, 422, "validation_failed")


async def test_accepting_needs_the_listing_still_available(
    client: httpx.AsyncClient, session: AsyncSession, provider: Actor, receiver: Actor
) -> None:
    listing = await create_listing(session, at=OSLO, person=provider, category="bikes")
    tx = (await ask(client, receiver, listing)).json()
    withdrawn = await client.post(f"/v1/listings/{listing.id}/withdraw", headers=provider.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert_problem(await act(client, provider, tx["id"], "accept"), 409, "listing_not_available")
    assert (await act(client, provider, tx["id"], "decline")).json()["status"] == "declined"


async def test_export_holds_and_erasure_cancels_a_persons_transactions(
    client: httpx.AsyncClient, session: AsyncSession, provider: Actor, receiver: Actor
) -> None:
    open_one = await create_listing(session, at=OSLO, person=provider, category="bikes")
    done_one = await create_listing(session, at=OSLO, person=provider, category="chairs")
    asked = (await ask(client, receiver, open_one, message="Kan hente i kveld")).json()
    done = (await ask(client, receiver, done_one, message="Ring meg")).json()
    await act(client, provider, done["id"], "accept")
    await act(client, provider, done["id"], "complete")
    export = (await client.get("/v1/me/export", headers=receiver.headers)).json()
    assert {(t["id"], t["role"], t["message"]) for t in export["transactions"]} == {
        (asked["id"], "receiver", "Kan hente i kveld"),
        (done["id"], "receiver", "Ring meg"),
    }
    assert (await client.delete("/v1/me", headers=receiver.headers)).status_code == 204
    for tx_id, status in ((asked["id"], "cancelled"), (done["id"], "completed")):
        row = await session.get(Transaction, uuid.UUID(tx_id))
        assert row is not None
        await session.refresh(row)
        assert row.status == status
        assert row.message == ""
    # What happened still counts.
    assert sum(r.record_count for r in await ledger(session, done["id"])) == 1
