"""Repairs logged by repair shops and cafés: categories, impact, evidence, reading, correcting,
and every documented error (with nothing stored)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import utcnow
from app.config import Settings
from app.models import Evidence, Organization, Repair, RepairEvent
from app.models.organization import ApiKeyScope, MemberRole
from app.repositories.impact.factors import ImpactRepository
from tests.factories import (
    Actor,
    create_api_key,
    create_listing,
    create_organization,
    create_person,
)
from tests.places import PLACES
from tests.problems import assert_problem

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=3)
TODAY = date(2026, 11, 22)
OSLO_POINT = {"type": "Point", "coordinates": [10.7336, 59.9119]}
BERGEN_POINT = {"type": "Point", "coordinates": [5.3240, 60.3973]}


# --- helpers other repair tests use too --------------------------------------------------------


def set_clock(app: FastAPI, moment: datetime) -> None:
    app.dependency_overrides[utcnow] = lambda: moment


def repair_body(org: Organization, **changes: Any) -> dict[str, Any]:
    return {
        "organization_id": str(org.id),
        "category": "laptops",
        "brand": "Lenovo",
        "year_of_manufacture": 2019,
        "product_age": 5,
        "repair_status": "Fixed",
        "problem": "Startet ikke; byttet ladekontakt.",
    } | changes


def event_body(org: Organization, **changes: Any) -> dict[str, Any]:
    return {
        "organization_id": str(org.id),
        "title": "Reparasjonskafé på biblioteket",
        "description": "Ta med det som er i stykker.",
        "starts_at": "2026-11-20T17:00:00+01:00",
        "ends_at": "2026-11-20T21:00:00+01:00",
        "address": "Rådhusplassen 1, 0037 Oslo",
        "location": OSLO_POINT,
    } | changes


async def log_repair(
    client: httpx.AsyncClient, who: Actor, org: Organization, **changes: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/repairs", json=repair_body(org, **changes), headers=who.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_event(
    client: httpx.AsyncClient, who: Actor, org: Organization, **changes: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/repair-events", json=event_body(org, **changes), headers=who.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def count(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def counts(session: AsyncSession) -> tuple[int, int, int]:
    """(repairs, repair events, evidence records): a refused request changes none."""
    return (
        await count(session, Repair),
        await count(session, RepairEvent),
        await count(session, Evidence),
    )


async def ledger(session: AsyncSession, repair_id: str) -> list[Evidence]:
    rows = await session.execute(
        select(Evidence).where(Evidence.repair_id == uuid.UUID(repair_id)).order_by(Evidence.seq)
    )
    return list(rows.scalars())


async def stored(session: AsyncSession, repair_id: str) -> Repair:
    result = await session.execute(
        select(Repair)
        .where(Repair.id == uuid.UUID(repair_id))
        .execution_options(populate_existing=True)
    )
    return result.scalar_one()


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fixed_clock(app: FastAPI) -> Iterator[None]:
    set_clock(app, NOW)
    yield
    app.dependency_overrides.pop(utcnow, None)


@pytest.fixture
async def owner(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Verkstedeier")


@pytest.fixture
async def member(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def stranger(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def shop(session: AsyncSession, owner: Actor, member: Actor) -> Organization:
    return await create_organization(
        session,
        owner=owner,
        name="Fiksern Grünerløkka",
        kommunenummer="0301",
        members={member.person_id: MemberRole.MEMBER},
    )


@pytest.fixture
async def other_shop(session: AsyncSession, stranger: Actor) -> Organization:
    return await create_organization(
        session, owner=stranger, name="Reparatøren Bergen", kommunenummer="4601"
    )


# --- logging: the golden figure and the evidence -----------------------------------------------


async def test_a_fixed_laptop_counts_132_66_kg_co2e_and_1_834_kg(
    client: httpx.AsyncClient, session: AsyncSession, member: Actor, shop: Organization
) -> None:
    response = await client.post("/v1/repairs", json=repair_body(shop), headers=member.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/repairs/{body['id']}"
    revision = await ImpactRepository(session).current_revision()
    assert revision is not None
    # The Fixometer: Laptop medium, 265.32 kg CO2e pre-use x 0.5 displacement; 1.834 kg.
    assert body["impact"] == {"kg_diverted": 1.834, "co2e_kg": 132.66, "factor_revision": revision}
    assert round(body["impact"]["kg_diverted"], 2) == 1.83
    assert body["category"] == "laptops"
    assert body["product_category"] == {"id": 16, "name": "Laptop"}
    assert body["partner_product_category"] == "Laptops"
    assert body["source"] == "logged"
    assert body["data_provider"] == "Sirkel"
    assert body["provider_record_id"] == body["id"]
    assert body["ords_id"].startswith("sirkel_")
    assert body["country"] == "NOR"
    assert body["organization_id"] == str(shop.id)
    assert body["group_identifier"] == "Fiksern Grünerløkka"
    assert body["event_date"] == TODAY.isoformat()
    assert (body["kommunenummer"], body["fylkesnummer"]) == ("0301", "03")
    assert body["brand"] == "Lenovo"
    assert body["product_age"] == 5
    assert datetime.fromisoformat(body["created_at"]) == NOW

    repair = await stored(session, body["id"])
    assert repair.co2e_kg == Decimal("132.660")
    assert repair.kg_diverted == Decimal("1.834")
    assert repair.factor_revision == revision
    [record] = await ledger(session, body["id"])
    assert record.record_count == 1
    assert (record.event, record.grade) == ("logged", "reported")
    assert (record.type, record.subgoal) == ("repair", "SG1")
    assert record.co2e_kg == Decimal("132.660")
    assert record.kg_diverted == Decimal("1.834")
    assert record.factor_revision == revision
    assert record.repair_status == "Fixed"
    assert record.ords_category_id == 16
    assert record.category_slug == "laptops"
    assert (record.kommunenummer, record.fylkesnummer) == ("0301", "03")
    assert record.transaction_id is None
    assert record.receiver_party is None
    assert record.provider_sector == "business"
    party = await session.scalar(text("SELECT sirkel_party('organization', :id)"), {"id": shop.id})
    assert record.provider_party == party
    # The day of the repair, at midnight in Norway.
    assert record.occurred_at == datetime(2026, 11, 21, 23, 0, tzinfo=UTC)


async def test_an_api_key_with_listings_write_logs_for_its_organization(
    client: httpx.AsyncClient, session: AsyncSession, shop: Organization
) -> None:
    headers = await create_api_key(
        session, organization_id=shop.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    response = await client.post("/v1/repairs", json=repair_body(shop), headers=headers)
    assert response.status_code == 201, response.text


async def test_a_repair_at_an_event_takes_the_events_day_and_kommune(
    client: httpx.AsyncClient, session: AsyncSession, member: Actor, shop: Organization
) -> None:
    # 23:30 UTC on the 20th is already the 21st in Norway.
    event = await create_event(
        client,
        member,
        shop,
        location=BERGEN_POINT,
        starts_at="2026-11-20T23:30:00Z",
        ends_at="2026-11-21T03:00:00Z",
    )
    body = await log_repair(client, member, shop, event_id=event["id"])
    assert body["event_id"] == event["id"]
    assert body["event_date"] == "2026-11-21"
    assert (body["kommunenummer"], body["fylkesnummer"]) == ("4601", "46")
    [record] = await ledger(session, body["id"])
    assert record.kommunenummer == "4601"


async def test_a_repair_at_an_event_without_a_place_is_in_the_organizations_kommune(
    client: httpx.AsyncClient, member: Actor, shop: Organization
) -> None:
    event = await create_event(client, member, shop, location=None)
    body = await log_repair(client, member, shop, event_id=event["id"], event_date="2026-11-20")
    assert (body["kommunenummer"], body["event_date"]) == ("0301", "2026-11-20")


async def test_an_ords_category_is_counted_as_our_category_for_it(
    client: httpx.AsyncClient, member: Actor, shop: Organization
) -> None:
    body = await log_repair(client, member, shop, category=None, product_category_id=16)
    assert body["category"] == "laptops"
    assert body["product_category"] == {"id": 16, "name": "Laptop"}
    assert body["impact"]["co2e_kg"] == 132.66
    own_name = await log_repair(
        client,
        member,
        shop,
        category=None,
        product_category_id=2,
        partner_product_category="Lader",
    )
    # Battery/charger/adapter is our chargers-and-batteries, with Restart's factor.
    assert own_name["category"] == "chargers-and-batteries"
    assert own_name["partner_product_category"] == "Lader"
    assert (own_name["impact"]["kg_diverted"], own_name["impact"]["co2e_kg"]) == (0.075, 0.275)
    misc = await log_repair(
        client, member, shop, category=None, product_category_id=18, partner_product_category="Ting"
    )
    # Misc is no category of ours: counted, but with no factor.
    assert misc["category"] is None
    assert misc["impact"] == {"kg_diverted": None, "co2e_kg": None, "factor_revision": None}


async def test_a_category_without_an_ords_category_is_misc_with_its_own_factor(
    client: httpx.AsyncClient, member: Actor, shop: Organization
) -> None:
    body = await log_repair(client, member, shop, category="bikes")
    assert body["product_category"] == {"id": 18, "name": "Misc"}
    assert body["partner_product_category"] == "Bikes"
    # Restart's Bicycle: 149.60 kg CO2e x 0.5, 15.1 kg.
    assert body["impact"]["co2e_kg"] == 74.8
    assert body["impact"]["kg_diverted"] == 15.1


async def test_a_repair_that_did_not_fix_counts_but_carries_no_impact(
    client: httpx.AsyncClient, session: AsyncSession, member: Actor, shop: Organization
) -> None:
    body = await log_repair(
        client,
        member,
        shop,
        repair_status="End of life",
        repair_barrier="Spare parts not available",
    )
    assert body["repair_barrier"] == "Spare parts not available"
    assert body["impact"] == {"kg_diverted": None, "co2e_kg": None, "factor_revision": None}
    [record] = await ledger(session, body["id"])
    assert record.record_count == 1
    assert record.repair_status == "End of life"
    assert (record.kg_diverted, record.co2e_kg, record.factor_revision) == (None, None, None)


# --- logging: errors, and nothing stored -------------------------------------------------------


async def test_an_unknown_category_is_422_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, member: Actor, shop: Organization
) -> None:
    before = await counts(session)
    response = await client.post(
        "/v1/repairs", json=repair_body(shop, category="flying-cars"), headers=member.headers
    )
    body = assert_problem(response, 422, "unknown_category")
    assert body["errors"] == [
        {
            "location": "body",
            "field": "category",
            "message": "Unknown category 'flying-cars'",
            "type": "unknown_category",
        }
    ]
    assert await counts(session) == before


async def test_a_barrier_without_end_of_life_is_422_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, member: Actor, shop: Organization
) -> None:
    before = await counts(session)
    response = await client.post(
        "/v1/repairs",
        json=repair_body(shop, repair_barrier="Item too worn out"),
        headers=member.headers,
    )
    body = assert_problem(response, 422, "validation_failed")
    [error] = body["errors"]
    assert error["location"] == "body"
    assert "End of life" in error["message"]
    assert await counts(session) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"product_category_id": 16}, ""),  # both a category and an ORDS category
        ({"category": None}, ""),  # neither
        ({"category": None, "product_category_id": 41}, "product_category_id"),
        ({"repair_status": "Mended"}, "repair_status"),
        ({"year_of_manufacture": 1700}, "year_of_manufacture"),
        ({"product_age": -1}, "product_age"),
        ({"problem": "x" * 2001}, "problem"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_invalid_repairs_are_422_and_store_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: Actor,
    shop: Organization,
    changes: dict[str, Any],
    field: str,
) -> None:
    before = await counts(session)
    response = await client.post(
        "/v1/repairs", json=repair_body(shop, **changes), headers=member.headers
    )
    body = assert_problem(response, 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {field}
    assert await counts(session) == before


async def test_an_event_of_another_organization_is_422(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: Actor,
    stranger: Actor,
    shop: Organization,
    other_shop: Organization,
) -> None:
    theirs = await create_event(client, stranger, other_shop, location=BERGEN_POINT)
    before = await counts(session)
    response = await client.post(
        "/v1/repairs", json=repair_body(shop, event_id=theirs["id"]), headers=member.headers
    )
    body = assert_problem(response, 422, "event_of_another_organization")
    assert body["errors"][0]["field"] == "event_id"
    assert await counts(session) == before


async def test_an_unknown_event_is_422(
    client: httpx.AsyncClient, session: AsyncSession, member: Actor, shop: Organization
) -> None:
    before = await counts(session)
    response = await client.post(
        "/v1/repairs", json=repair_body(shop, event_id=str(uuid.uuid4())), headers=member.headers
    )
    body = assert_problem(response, 422, "unknown_repair_event")
    assert body["errors"][0]["field"] == "event_id"
    assert await counts(session) == before


async def test_a_repair_day_in_the_future_is_422(
    client: httpx.AsyncClient, session: AsyncSession, member: Actor, shop: Organization
) -> None:
    before = await counts(session)
    response = await client.post(
        "/v1/repairs", json=repair_body(shop, event_date="2026-11-23"), headers=member.headers
    )
    body = assert_problem(response, 422, "invalid_input")
    assert body["errors"][0]["field"] == "event_date"
    assert await counts(session) == before


async def test_only_the_organizations_members_and_keys_log_its_repairs(
    client: httpx.AsyncClient,
    session: AsyncSession,
    stranger: Actor,
    shop: Organization,
    other_shop: Organization,
) -> None:
    before = await counts(session)
    body = repair_body(shop)
    assert_problem(
        await client.post("/v1/repairs", json=body, headers=stranger.headers), 403, "not_a_member"
    )
    other_key = await create_api_key(
        session, organization_id=other_shop.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    assert_problem(
        await client.post("/v1/repairs", json=body, headers=other_key),
        403,
        "wrong_organization",
    )
    read_key = await create_api_key(
        session, organization_id=shop.id, scopes=[ApiKeyScope.IMPACT_READ]
    )
    assert_problem(
        await client.post("/v1/repairs", json=body, headers=read_key), 403, "insufficient_scope"
    )
    assert_problem(await client.post("/v1/repairs", json=body), 401, "unauthorized")
    unknown = repair_body(shop, organization_id=str(uuid.uuid4()))
    assert_problem(
        await client.post("/v1/repairs", json=unknown, headers=stranger.headers),
        404,
        "organization_not_found",
    )
    assert await counts(session) == before


# --- reading -----------------------------------------------------------------------------------


async def test_members_moderators_and_analysts_read_a_repair_and_others_get_403(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    owner: Actor,
    member: Actor,
    stranger: Actor,
    shop: Organization,
) -> None:
    logged = await log_repair(client, member, shop)
    moderator = await create_person(session, settings, roles=["moderator"])
    analyst = await create_person(session, settings, roles=["analyst"])
    key = await create_api_key(
        session, organization_id=shop.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    for headers in (owner.headers, member.headers, moderator.headers, analyst.headers, key):
        response = await client.get(f"/v1/repairs/{logged['id']}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == logged
    assert_problem(
        await client.get(f"/v1/repairs/{logged['id']}", headers=stranger.headers),
        403,
        "not_a_member",
    )
    assert_problem(await client.get(f"/v1/repairs/{logged['id']}"), 401, "unauthorized")


async def test_an_unknown_repair_is_404(client: httpx.AsyncClient, member: Actor) -> None:
    response = await client.get(f"/v1/repairs/{uuid.uuid4()}", headers=member.headers)
    assert_problem(response, 404, "repair_not_found")


async def test_an_organization_lists_its_repairs_latest_day_first_by_pages(
    client: httpx.AsyncClient,
    member: Actor,
    stranger: Actor,
    shop: Organization,
    other_shop: Organization,
) -> None:
    event = await create_event(client, member, shop)
    days = ["2026-11-18", "2026-11-20", "2026-11-20", "2026-11-22", "2026-11-21"]
    logged = [
        await log_repair(
            client,
            member,
            shop,
            event_date=day,
            repair_status="Fixed" if i % 2 == 0 else "Repairable",
            event_id=event["id"] if i < 2 else None,
        )
        for i, day in enumerate(days)
    ]
    await log_repair(client, stranger, other_shop)
    expected = [logged[3]["id"], logged[4]["id"], logged[2]["id"], logged[1]["id"], logged[0]["id"]]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"organization_id": str(shop.id), "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await client.get("/v1/repairs", params=params, headers=member.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected

    by_event = await client.get(
        "/v1/repairs",
        params={"organization_id": str(shop.id), "event_id": event["id"]},
        headers=member.headers,
    )
    assert [i["id"] for i in by_event.json()["items"]] == [logged[1]["id"], logged[0]["id"]]
    fixed = await client.get(
        "/v1/repairs",
        params={"organization_id": str(shop.id), "status": "Fixed"},
        headers=member.headers,
    )
    assert [i["id"] for i in fixed.json()["items"]] == [
        logged[4]["id"],
        logged[2]["id"],
        logged[0]["id"],
    ]


async def test_listing_repairs_errors(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    member: Actor,
    stranger: Actor,
    shop: Organization,
) -> None:
    params = {"organization_id": str(shop.id)}
    assert_problem(
        await client.get("/v1/repairs", params=params, headers=stranger.headers),
        403,
        "not_a_member",
    )
    analyst = await create_person(session, settings, roles=["analyst"])
    assert (await client.get("/v1/repairs", params=params, headers=analyst.headers)).is_success
    assert_problem(
        await client.get(
            "/v1/repairs", params={"organization_id": str(uuid.uuid4())}, headers=member.headers
        ),
        404,
        "organization_not_found",
    )
    assert_problem(
        await client.get(
            "/v1/repairs", params={**params, "cursor": "nope"}, headers=member.headers
        ),
        422,
        "invalid_cursor",
    )
    missing = assert_problem(
        await client.get("/v1/repairs", headers=member.headers), 422, "validation_failed"
    )
    assert missing["errors"][0]["field"] == "organization_id"
    bad_status = assert_problem(
        await client.get(
            "/v1/repairs", params={**params, "status": "Mended"}, headers=member.headers
        ),
        422,
        "validation_failed",
    )
    assert bad_status["errors"][0]["field"] == "status"


# --- correcting --------------------------------------------------------------------------------


async def test_correcting_the_outcome_recomputes_the_impact_and_restates_the_evidence(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: Actor,
    shop: Organization,
) -> None:
    logged = await log_repair(client, member, shop, repair_status="Repairable")
    assert logged["impact"]["co2e_kg"] is None
    set_clock(app, LATER)
    response = await client.patch(
        f"/v1/repairs/{logged['id']}",
        json={"repair_status": "Fixed", "problem": "Byttet ladekontakt."},
        headers=member.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["repair_status"] == "Fixed"
    assert body["problem"] == "Byttet ladekontakt."
    assert body["impact"]["co2e_kg"] == 132.66
    assert body["impact"]["kg_diverted"] == 1.834
    assert datetime.fromisoformat(body["updated_at"]) == LATER
    assert datetime.fromisoformat(body["created_at"]) == NOW
    assert body["ords_id"] == logged["ords_id"]

    first, taken_back, restated = await ledger(session, logged["id"])
    assert (first.record_count, first.event, first.repair_status) == (1, "logged", "Repairable")
    assert (taken_back.record_count, taken_back.event) == (-1, "corrected")
    assert taken_back.compensates == first.seq
    assert taken_back.grade == "reported"
    assert (restated.record_count, restated.event, restated.grade) == (1, "corrected", "reported")
    assert restated.repair_status == "Fixed"
    assert restated.co2e_kg == Decimal("132.660")
    assert restated.kg_diverted == Decimal("1.834")
    assert restated.occurred_at == LATER
    total = await session.scalar(
        select(func.sum(Evidence.record_count)).where(Evidence.repair_id == uuid.UUID(logged["id"]))
    )
    assert total == 1


async def test_a_correction_that_changes_nothing_counted_appends_no_evidence(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: Actor,
    shop: Organization,
) -> None:
    logged = await log_repair(client, member, shop)
    set_clock(app, LATER)
    response = await client.patch(
        f"/v1/repairs/{logged['id']}",
        json={"brand": "Dell", "product_age": None},
        headers=member.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["brand"] == "Dell"
    assert response.json()["product_age"] is None
    assert datetime.fromisoformat(response.json()["updated_at"]) == LATER
    assert len(await ledger(session, logged["id"])) == 1


async def test_a_new_outcome_clears_the_barrier(
    client: httpx.AsyncClient, session: AsyncSession, member: Actor, shop: Organization
) -> None:
    logged = await log_repair(
        client, member, shop, repair_status="End of life", repair_barrier="Item too worn out"
    )
    response = await client.patch(
        f"/v1/repairs/{logged['id']}", json={"repair_status": "Fixed"}, headers=member.headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["repair_status"], response.json()["repair_barrier"]) == ("Fixed", None)
    assert (await stored(session, logged["id"])).repair_barrier is None


async def test_a_new_category_moves_the_ords_category_and_a_defaulted_name(
    client: httpx.AsyncClient, member: Actor, shop: Organization
) -> None:
    defaulted = await log_repair(client, member, shop)
    named = await log_repair(client, member, shop, partner_product_category="Bærbar PC")
    for repair, name in ((defaulted, "Mobile phones"), (named, "Bærbar PC")):
        response = await client.patch(
            f"/v1/repairs/{repair['id']}",
            json={"category": "mobile-phones"},
            headers=member.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["category"] == "mobile-phones"
        assert body["product_category"] == {"id": 19, "name": "Mobile"}
        assert body["partner_product_category"] == name
        # Restart's Mobile: 50.51 kg CO2e x 0.5, 0.151 kg.
        assert body["impact"]["co2e_kg"] == 25.255
        assert body["impact"]["kg_diverted"] == 0.151


@pytest.mark.parametrize(
    ("patch", "status", "code", "field"),
    [
        ({"repair_barrier": "Item too worn out"}, 422, "invalid_input", "repair_barrier"),
        ({"repair_status": None}, 422, "invalid_input", "repair_status"),
        ({"category": None}, 422, "invalid_input", "category"),
        ({"category": "flying-cars"}, 422, "unknown_category", "category"),
        ({"event_date": "2026-12-24"}, 422, "invalid_input", "event_date"),
        ({"repair_status": "Mended"}, 422, "validation_failed", "repair_status"),
        ({"organization_id": str(uuid.uuid4())}, 422, "validation_failed", "organization_id"),
    ],
)
async def test_invalid_corrections_change_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: Actor,
    shop: Organization,
    patch: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    logged = await log_repair(client, member, shop)
    before = await counts(session)
    response = await client.patch(f"/v1/repairs/{logged['id']}", json=patch, headers=member.headers)
    body = assert_problem(response, status, code)
    assert body["errors"][0]["field"] == field
    assert await counts(session) == before
    current = await client.get(f"/v1/repairs/{logged['id']}", headers=member.headers)
    assert current.json() == logged


async def test_only_members_correct_and_unknown_repairs_are_404(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    member: Actor,
    stranger: Actor,
    shop: Organization,
) -> None:
    logged = await log_repair(client, member, shop)
    before = await counts(session)
    patch = {"repair_status": "Unknown"}
    assert_problem(
        await client.patch(f"/v1/repairs/{logged['id']}", json=patch, headers=stranger.headers),
        403,
        "not_a_member",
    )
    moderator = await create_person(session, settings, roles=["moderator"])
    assert_problem(
        await client.patch(f"/v1/repairs/{logged['id']}", json=patch, headers=moderator.headers),
        403,
        "not_a_member",
    )
    assert_problem(
        await client.patch(f"/v1/repairs/{uuid.uuid4()}", json=patch, headers=member.headers),
        404,
        "repair_not_found",
    )
    assert await counts(session) == before
    assert (await stored(session, logged["id"])).repair_status == "Fixed"


async def repair_through_transaction(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    *,
    provider: Actor,
    organization: Organization | None = None,
) -> str:
    """A Fixed laptop repair reported by completing a repair transaction; its repair's id."""
    customer = await create_person(session, settings)
    listing = await create_listing(
        session,
        at=PLACES["oslo_city_hall"][:2],
        person=None if organization else provider,
        organization=organization,
        kind="repair_service",
        mode=None,
        category="laptops",
    )
    asked = await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id)}, headers=customer.headers
    )
    assert asked.status_code == 201, asked.text
    tx = asked.json()["id"]
    for action, body in (("accept", None), ("complete", {"repair": {"repair_status": "Fixed"}})):
        moved = await client.post(
            f"/v1/transactions/{tx}/{action}", json=body, headers=provider.headers
        )
        assert moved.status_code == 200, moved.text
    repair_id = await session.scalar(
        select(Repair.id).where(Repair.transaction_id == uuid.UUID(tx))
    )
    return str(repair_id)


async def test_a_repair_a_person_reported_is_for_moderators_and_analysts_only(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, stranger: Actor
) -> None:
    fixer = await create_person(session, settings)
    repair_id = await repair_through_transaction(client, session, settings, provider=fixer)
    analyst = await create_person(session, settings, roles=["analyst"])
    read = await client.get(f"/v1/repairs/{repair_id}", headers=analyst.headers)
    assert read.status_code == 200, read.text
    assert (read.json()["source"], read.json()["organization_id"]) == ("transaction", None)
    for who in (fixer, stranger):
        assert_problem(
            await client.get(f"/v1/repairs/{repair_id}", headers=who.headers), 403, "forbidden"
        )
    before = await counts(session)
    assert_problem(
        await client.patch(
            f"/v1/repairs/{repair_id}", json={"repair_status": "Unknown"}, headers=fixer.headers
        ),
        403,
        "forbidden",
    )
    assert await counts(session) == before


async def test_a_shops_transaction_repair_is_corrected_through_the_transaction(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    owner: Actor,
    shop: Organization,
) -> None:
    repair_id = await repair_through_transaction(
        client, session, settings, provider=owner, organization=shop
    )
    read = await client.get(f"/v1/repairs/{repair_id}", headers=owner.headers)
    assert read.status_code == 200, read.text
    assert read.json()["impact"]["co2e_kg"] == 132.66
    before = await counts(session)
    response = await client.patch(
        f"/v1/repairs/{repair_id}", json={"repair_status": "Unknown"}, headers=owner.headers
    )
    assert_problem(response, 409, "repair_not_editable")
    assert await counts(session) == before
    assert (await stored(session, repair_id)).repair_status == "Fixed"


async def test_an_api_key_of_another_organization_neither_reads_nor_corrects(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: Actor,
    shop: Organization,
    other_shop: Organization,
) -> None:
    logged = await log_repair(client, member, shop)
    key = await create_api_key(
        session, organization_id=other_shop.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    path = f"/v1/repairs/{logged['id']}"
    assert_problem(await client.get(path, headers=key), 403, "wrong_organization")
    assert_problem(
        await client.patch(path, json={"brand": "Dell"}, headers=key), 403, "wrong_organization"
    )
    listed = await client.get("/v1/repairs", params={"organization_id": str(shop.id)}, headers=key)
    assert_problem(listed, 403, "wrong_organization")
    assert_problem(
        await client.get("/v1/repairs", params={"organization_id": str(shop.id)}),
        401,
        "unauthorized",
    )
    malformed = await client.get("/v1/repairs/not-a-uuid", headers=member.headers)
    assert assert_problem(malformed, 422, "validation_failed")["errors"][0]["field"] == (
        "repair_id"
    )


async def test_the_openapi_document_describes_every_repair_route(
    client: httpx.AsyncClient,
) -> None:
    """A description, request and response examples and the problems, on every route."""
    document = (await client.get("/openapi.json")).json()
    paths, schemas = document["paths"], document["components"]["schemas"]
    routes = {
        ("/v1/repair-events", "post"),
        ("/v1/repair-events", "get"),
        ("/v1/repair-events/{event_id}", "get"),
        ("/v1/repair-events/{event_id}", "patch"),
        ("/v1/repairs", "post"),
        ("/v1/repairs", "get"),
        ("/v1/repairs/import", "post"),
        ("/v1/repairs/{repair_id}", "get"),
        ("/v1/repairs/{repair_id}", "patch"),
        ("/v1/exports/ords.csv", "get"),
        ("/v1/imports", "get"),
        ("/v1/imports/{import_id}", "get"),
    }
    for path, method in routes:
        operation = paths[path][method]
        assert operation["description"], (path, method)
        assert operation["tags"] == ["repairs"]
        if "requestBody" in operation:
            bodies = operation["requestBody"]["content"]
            # Every text body shows one (a gzip file has none to show).
            for media, body in bodies.items():
                if media != "application/gzip":
                    assert "examples" in body or "example" in body, (path, method)
        [ok] = (r for s, r in operation["responses"].items() if s.startswith("2"))
        [content] = ok["content"].values()
        example = content.get("example")
        if example is None:
            name = content["schema"]["$ref"].rsplit("/", 1)[-1]
            example = schemas[name]["example"]
        assert example, (path, method)
        assert any(s.startswith("4") for s in operation["responses"]), (path, method)
