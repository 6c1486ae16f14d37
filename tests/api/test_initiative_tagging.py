"""Tagging listings, transactions and repair events with initiatives: who may, one initiative
each, and how the evidence ledger moves counted records (never editing them) while the impact
rollups follow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Evidence, Listing, Organization, RepairEvent, Transaction
from app.models.organization import ApiKeyScope, MemberRole, OrganizationKind
from tests.api.test_repairs import create_event, log_repair
from tests.api.test_transactions import OSLO, act, ask
from tests.clock import Clock, frozen
from tests.factories import (
    Actor,
    create_api_key,
    create_listing,
    create_organization,
    create_person,
)
from tests.problems import assert_problem

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BASE = "/v1/initiatives"


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


# --- the cast ---------------------------------------------------------------------------------
# The municipality owns the initiative, the shop is its partner, the library has nothing to do
# with it; the household is a person.


@pytest.fixture
async def admin(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Kommuneadmin")


@pytest.fixture
async def clerk(session: AsyncSession, settings: Settings) -> Actor:
    """A plain member of the municipality."""
    return await create_person(session, settings)


@pytest.fixture
async def repairer(session: AsyncSession, settings: Settings) -> Actor:
    """A plain member of the shop."""
    return await create_person(session, settings)


@pytest.fixture
async def librarian(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def household(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Husholdning")


@pytest.fixture
async def analyst(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, roles=["analyst"])


@pytest.fixture
async def municipality(session: AsyncSession, admin: Actor, clerk: Actor) -> Organization:
    return await create_organization(
        session,
        owner=admin,
        name="Oslo kommune",
        kind=OrganizationKind.MUNICIPALITY,
        members={clerk.person_id: MemberRole.MEMBER},
    )


@pytest.fixture
async def shop(session: AsyncSession, settings: Settings, repairer: Actor) -> Organization:
    owner = await create_person(session, settings)
    return await create_organization(
        session,
        owner=owner,
        name="Fiksehuset",
        kind=OrganizationKind.REPAIR_SHOP,
        members={repairer.person_id: MemberRole.MEMBER},
    )


@pytest.fixture
async def library(session: AsyncSession, librarian: Actor) -> Organization:
    return await create_organization(
        session, owner=librarian, name="Biblioteket", kind=OrganizationKind.LIBRARY_OF_THINGS
    )


async def new_initiative(
    client: httpx.AsyncClient, admin: Actor, org: Organization, **changes: Any
) -> str:
    body = {
        "organization_id": str(org.id),
        "name": "Ombruksstasjon Grünerløkka",
        "kind": "reuse_station",
        "starts_on": "2026-11-01",
        "kommuner": ["0301"],
    } | changes
    response = await client.post(BASE, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    initiative_id: str = response.json()["id"]
    return initiative_id


@pytest.fixture
async def initiative(
    client: httpx.AsyncClient, admin: Actor, municipality: Organization, shop: Organization
) -> str:
    made = await new_initiative(client, admin, municipality)
    joined = await client.put(f"{BASE}/{made}/partners/{shop.id}", headers=admin.headers)
    assert joined.status_code == 200, joined.text
    return made


@pytest.fixture
async def other_initiative(
    client: httpx.AsyncClient, librarian: Actor, library: Organization, municipality: Organization
) -> str:
    """The library's own initiative, with the municipality as a partner."""
    made = await new_initiative(client, librarian, library, name="Utlånspilot", kind="pilot")
    joined = await client.put(
        f"{BASE}/{made}/partners/{municipality.id}", headers=librarian.headers
    )
    assert joined.status_code == 200, joined.text
    return made


def path(initiative_id: str, subject: str, subject_id: Any) -> str:
    return f"{BASE}/{initiative_id}/{subject}/{subject_id}"


async def tagged(session: AsyncSession, model: type[Any], row_id: Any) -> uuid.UUID | None:
    result = await session.execute(
        select(model.initiative_id).where(model.id == uuid.UUID(str(row_id)))
    )
    value: uuid.UUID | None = result.scalar_one()
    return value


async def records(session: AsyncSession, **subject: Any) -> list[Evidence]:
    column, value = next(iter(subject.items()))
    rows = await session.execute(
        select(Evidence)
        .where(getattr(Evidence, column) == uuid.UUID(str(value)))
        .order_by(Evidence.seq)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def level5(session: AsyncSession, initiative: str, type_: str) -> int:
    """Net records of ``type_`` in the initiative's level-5 cells ('' = untagged)."""
    result = await session.execute(
        text(
            "SELECT coalesce(sum(records), 0) FROM impact_cells "
            "WHERE level = 5 AND initiative = :i AND type = :t"
        ),
        {"i": initiative, "t": type_},
    )
    return int(result.scalar_one())


async def evidence_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Evidence)) or 0)


async def completed_reuse(
    client: httpx.AsyncClient,
    session: AsyncSession,
    *,
    giver: Actor,
    organization: Organization,
    receiver: Actor,
) -> str:
    """The organization gives a bike to the receiver: asked, accepted and completed."""
    listing = await create_listing(session, at=OSLO, organization=organization)
    tx = (await ask(client, receiver, listing)).json()
    assert (await act(client, giver, tx["id"], "accept")).status_code == 200
    done = await act(client, giver, tx["id"], "complete")
    assert done.status_code == 200, done.text
    tx_id: str = tx["id"]
    return tx_id


# --- listings -----------------------------------------------------------------------------------


async def test_a_member_tags_a_listing_and_its_transactions_count_toward_the_initiative(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clerk: Actor,
    household: Actor,
    analyst: Actor,
    municipality: Organization,
    initiative: str,
) -> None:
    listing = await create_listing(session, at=OSLO, organization=municipality)
    response = await client.put(path(initiative, "listings", listing.id), headers=clerk.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "initiative_id": initiative,
        "subject": "listing",
        "id": str(listing.id),
        "retagged_records": 0,
    }
    assert str(await tagged(session, Listing, listing.id)) == initiative
    # Tagging it again changes nothing.
    again = await client.put(path(initiative, "listings", listing.id), headers=clerk.headers)
    assert again.status_code == 200
    assert again.json() == response.json()
    counted = (await client.get(f"{BASE}/{initiative}")).json()["counts"]
    assert counted == {"listings": 1, "transactions": 0, "repair_events": 0}

    # A transaction asked for from now on carries the initiative, and so does its evidence.
    tx = (await ask(client, household, listing)).json()
    assert str(await tagged(session, Transaction, tx["id"])) == initiative
    assert (await act(client, clerk, tx["id"], "accept")).status_code == 200
    assert (await act(client, clerk, tx["id"], "complete")).status_code == 200
    assert (await act(client, household, tx["id"], "confirm")).status_code == 200
    ledger = await records(session, transaction_id=tx["id"])
    assert [(r.event, r.record_count) for r in ledger] == [
        ("completed", 1),
        ("confirmed", -1),
        ("confirmed", 1),
    ]
    assert {str(r.initiative_id) for r in ledger} == {initiative}
    assert await level5(session, initiative, "reuse") == 1
    feed = (await client.get("/v1/evidence", headers=analyst.headers)).json()["records"]
    assert [r["initiative"] for r in feed if r["transaction_id"] == tx["id"]] == [initiative] * 3
    counted = (await client.get(f"{BASE}/{initiative}")).json()["counts"]
    assert counted == {"listings": 1, "transactions": 1, "repair_events": 0}


async def test_partners_and_api_keys_tag_their_own_listings(
    client: httpx.AsyncClient,
    session: AsyncSession,
    repairer: Actor,
    municipality: Organization,
    shop: Organization,
    initiative: str,
) -> None:
    theirs = await create_listing(session, at=OSLO, organization=shop)
    response = await client.put(path(initiative, "listings", theirs.id), headers=repairer.headers)
    assert response.status_code == 200, response.text
    ours = await create_listing(session, at=OSLO, organization=municipality)
    transactions_key = await create_api_key(
        session, organization_id=municipality.id, scopes=[ApiKeyScope.TRANSACTIONS_WRITE]
    )
    assert_problem(
        await client.put(path(initiative, "listings", ours.id), headers=transactions_key),
        403,
        "insufficient_scope",
    )
    listings_key = await create_api_key(
        session, organization_id=municipality.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    by_key = await client.put(path(initiative, "listings", ours.id), headers=listings_key)
    assert by_key.status_code == 200, by_key.text
    assert (await client.get(f"{BASE}/{initiative}")).json()["counts"]["listings"] == 2


async def test_only_listings_of_organizations_taking_part_are_tagged_by_their_writers(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clerk: Actor,
    librarian: Actor,
    household: Actor,
    library: Organization,
    shop: Organization,
    initiative: str,
) -> None:
    libraries = await create_listing(session, at=OSLO, organization=library)
    body = assert_problem(
        await client.put(path(initiative, "listings", libraries.id), headers=librarian.headers),
        403,
        "not_in_initiative",
    )
    assert body["title"] == "The organization is neither the initiative's owner nor a partner"
    assert "does not take part" in body["detail"]
    households = await create_listing(session, at=OSLO, person=household)
    body = assert_problem(
        await client.put(path(initiative, "listings", households.id), headers=household.headers),
        403,
        "not_in_initiative",
    )
    assert "person's listing" in body["detail"]
    # The municipality's clerk does not write the partner's listings.
    shops = await create_listing(session, at=OSLO, organization=shop)
    assert_problem(
        await client.put(path(initiative, "listings", shops.id), headers=clerk.headers),
        403,
        "not_a_member",
    )
    assert_problem(await client.put(path(initiative, "listings", shops.id)), 401, "unauthorized")
    # A draft of the library is no one else's business: 404, as everywhere.
    draft = await create_listing(session, at=OSLO, organization=library, status="draft")
    assert_problem(
        await client.put(path(initiative, "listings", draft.id), headers=clerk.headers),
        404,
        "listing_not_found",
    )
    missing = assert_problem(
        await client.put(path(initiative, "listings", uuid.uuid4()), headers=clerk.headers),
        404,
        "listing_not_found",
    )
    assert missing["title"] == "Listing not found"
    assert_problem(
        await client.put(path(str(uuid.uuid4()), "listings", shops.id), headers=clerk.headers),
        404,
        "initiative_not_found",
    )
    assert_problem(
        await client.put(path(initiative, "listings", "nope"), headers=clerk.headers),
        422,
        "validation_failed",
    )
    for listing in (libraries, households, shops, draft):
        assert await tagged(session, Listing, listing.id) is None


async def test_a_listing_carries_one_initiative_until_it_is_taken_out(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clerk: Actor,
    municipality: Organization,
    initiative: str,
    other_initiative: str,
) -> None:
    listing = await create_listing(session, at=OSLO, organization=municipality)
    assert (
        await client.put(path(initiative, "listings", listing.id), headers=clerk.headers)
    ).status_code == 200
    body = assert_problem(
        await client.put(path(other_initiative, "listings", listing.id), headers=clerk.headers),
        409,
        "tagged_with_another_initiative",
    )
    assert body["title"] == "Already tagged with another initiative"
    assert initiative in body["detail"]
    # Taking it out of an initiative it is not in leaves it as it is.
    elsewhere = await client.delete(
        path(other_initiative, "listings", listing.id), headers=clerk.headers
    )
    assert elsewhere.status_code == 204
    assert str(await tagged(session, Listing, listing.id)) == initiative
    out = await client.delete(path(initiative, "listings", listing.id), headers=clerk.headers)
    assert out.status_code == 204, out.text
    assert await tagged(session, Listing, listing.id) is None
    assert (await client.get(f"{BASE}/{initiative}")).json()["counts"]["listings"] == 0
    moved = await client.put(path(other_initiative, "listings", listing.id), headers=clerk.headers)
    assert moved.status_code == 200, moved.text
    # Taking it out again changes nothing.
    assert (
        await client.delete(path(initiative, "listings", listing.id), headers=clerk.headers)
    ).status_code == 204
    assert str(await tagged(session, Listing, listing.id)) == other_initiative


async def test_a_former_partner_still_takes_its_listings_out(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: Actor,
    repairer: Actor,
    clerk: Actor,
    shop: Organization,
    initiative: str,
) -> None:
    listing = await create_listing(session, at=OSLO, organization=shop)
    assert (
        await client.put(path(initiative, "listings", listing.id), headers=repairer.headers)
    ).status_code == 200
    assert (
        await client.delete(f"{BASE}/{initiative}/partners/{shop.id}", headers=admin.headers)
    ).status_code == 204
    # What it tagged stays tagged; it cannot tag more, but can take its own out.
    assert str(await tagged(session, Listing, listing.id)) == initiative
    more = await create_listing(session, at=OSLO, organization=shop)
    assert_problem(
        await client.put(path(initiative, "listings", more.id), headers=repairer.headers),
        403,
        "not_in_initiative",
    )
    assert_problem(
        await client.delete(path(initiative, "listings", listing.id), headers=clerk.headers),
        403,
        "not_a_member",
    )
    out = await client.delete(path(initiative, "listings", listing.id), headers=repairer.headers)
    assert out.status_code == 204
    assert await tagged(session, Listing, listing.id) is None


# --- transactions -------------------------------------------------------------------------------


async def test_tagging_a_completed_transaction_moves_its_counted_record(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clock: Clock,
    clerk: Actor,
    household: Actor,
    analyst: Actor,
    municipality: Organization,
    initiative: str,
) -> None:
    tx_id = await completed_reuse(
        client, session, giver=clerk, organization=municipality, receiver=household
    )
    [completed] = await records(session, transaction_id=tx_id)
    assert completed.initiative_id is None
    feed = (await client.get("/v1/evidence", headers=analyst.headers)).json()
    head = feed["head"]
    assert await level5(session, "", "reuse") == 1

    clock.now = NOW + timedelta(days=40)  # the next month: the pair is dated now
    response = await client.put(path(initiative, "transactions", tx_id), headers=clerk.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "initiative_id": initiative,
        "subject": "transaction",
        "id": tx_id,
        "retagged_records": 1,
    }
    assert str(await tagged(session, Transaction, tx_id)) == initiative

    # The ledger gained a compensating pair; the counted record itself is untouched.
    after = (
        await client.get(
            "/v1/evidence", params={"cursor": feed["next_cursor"]}, headers=analyst.headers
        )
    ).json()["records"]
    assert [(r["event"], r["count"], r["initiative"], r["compensates"]) for r in after] == [
        ("retagged", -1, None, completed.seq),
        ("retagged", 1, initiative, None),
    ]
    assert after[0]["prev_hash"] == head["hash"]
    for record in after:
        assert record["transaction_id"] == tx_id
        assert record["grade"] == "reported"
        assert record["v"] == 4
        assert record["matched"] is False
        assert datetime.fromisoformat(record["occurred_at"]) == clock.now
    assert after[0]["co2e_kg"] == -after[1]["co2e_kg"]
    assert after[1]["co2e_kg"] == float(completed.co2e_kg or 0)
    untouched = (await records(session, transaction_id=tx_id))[0]
    assert (untouched.seq, untouched.initiative_id, untouched.hash) == (
        completed.seq,
        None,
        completed.hash,
    )
    verdict = (await client.get("/v1/evidence/verify", headers=analyst.headers)).json()
    assert verdict["valid"] is True
    assert verdict["count"] == head["seq"] + 2
    # The rollups moved the count from the untagged cells to the initiative's.
    assert await level5(session, initiative, "reuse") == 1
    assert await level5(session, "", "reuse") == 0
    counted = (await client.get(f"{BASE}/{initiative}")).json()["counts"]
    assert counted["transactions"] == 1

    # Tagging it again changes nothing, in the ledger neither.
    before = await evidence_count(session)
    again = await client.put(path(initiative, "transactions", tx_id), headers=clerk.headers)
    assert again.status_code == 200
    assert again.json()["retagged_records"] == 0
    assert await evidence_count(session) == before


async def test_taking_a_transaction_out_moves_its_record_back_and_confirming_keeps_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clerk: Actor,
    household: Actor,
    analyst: Actor,
    municipality: Organization,
    initiative: str,
) -> None:
    tx_id = await completed_reuse(
        client, session, giver=clerk, organization=municipality, receiver=household
    )
    assert (
        await client.put(path(initiative, "transactions", tx_id), headers=clerk.headers)
    ).status_code == 200
    # The receiver's confirmation restates the counted record: under the initiative.
    assert (await act(client, household, tx_id, "confirm")).status_code == 200
    ledger = await records(session, transaction_id=tx_id)
    assert [(r.event, r.grade, r.record_count) for r in ledger][-2:] == [
        ("confirmed", "reported", -1),
        ("confirmed", "confirmed", 1),
    ]
    assert str(ledger[-1].initiative_id) == initiative

    out = await client.delete(path(initiative, "transactions", tx_id), headers=clerk.headers)
    assert out.status_code == 204, out.text
    assert await tagged(session, Transaction, tx_id) is None
    ledger = await records(session, transaction_id=tx_id)
    last = ledger[-2:]
    assert [(r.event, r.grade, r.record_count, r.initiative_id) for r in last] == [
        ("retagged", "confirmed", -1, uuid.UUID(initiative)),
        ("retagged", "confirmed", 1, None),
    ]
    assert last[0].compensates == ledger[-3].seq
    assert sum(r.record_count for r in ledger) == 1
    assert await level5(session, initiative, "reuse") == 0
    assert await level5(session, "", "reuse") == 1
    verdict = (await client.get("/v1/evidence/verify", headers=analyst.headers)).json()
    assert verdict["valid"] is True
    # Out of an initiative it is not in: nothing happens.
    before = await evidence_count(session)
    assert (
        await client.delete(path(initiative, "transactions", tx_id), headers=clerk.headers)
    ).status_code == 204
    assert await evidence_count(session) == before


async def test_a_transaction_tagged_before_it_completes_counts_toward_the_initiative(
    client: httpx.AsyncClient,
    session: AsyncSession,
    librarian: Actor,
    repairer: Actor,
    library: Organization,
    shop: Organization,
    initiative: str,
) -> None:
    """The partner (the shop) receives from an outsider (the library): the shop tags it."""
    listing = await create_listing(session, at=OSLO, organization=library)
    tx = (
        await client.post(
            "/v1/transactions",
            json={"listing_id": str(listing.id), "organization_id": str(shop.id)},
            headers=repairer.headers,
        )
    ).json()
    response = await client.put(
        path(initiative, "transactions", tx["id"]), headers=repairer.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["retagged_records"] == 0
    assert await records(session, transaction_id=tx["id"]) == []
    assert (await act(client, librarian, tx["id"], "accept")).status_code == 200
    assert (await act(client, librarian, tx["id"], "complete")).status_code == 200
    [completed] = await records(session, transaction_id=tx["id"])
    assert (completed.event, str(completed.initiative_id)) == ("completed", initiative)
    assert await level5(session, initiative, "reuse") == 1
    # The library is a party but takes no part in the initiative.
    assert_problem(
        await client.put(path(initiative, "transactions", tx["id"]), headers=librarian.headers),
        403,
        "not_in_initiative",
    )


async def test_only_parties_taking_part_tag_a_transaction(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clerk: Actor,
    librarian: Actor,
    household: Actor,
    library: Organization,
    municipality: Organization,
    initiative: str,
) -> None:
    ours = await completed_reuse(
        client, session, giver=clerk, organization=municipality, receiver=household
    )
    before = await evidence_count(session)
    # Not a party: the transaction does not exist for them.
    body = assert_problem(
        await client.put(path(initiative, "transactions", ours), headers=librarian.headers),
        404,
        "transaction_not_found",
    )
    assert body["title"] == "Transaction not found"
    # The household is a party, as a person.
    body = assert_problem(
        await client.put(path(initiative, "transactions", ours), headers=household.headers),
        403,
        "not_in_initiative",
    )
    assert "party" in body["detail"]
    forbidden = assert_problem(
        await client.delete(path(initiative, "transactions", ours), headers=household.headers),
        403,
        "forbidden",
    )
    assert "party" in forbidden["detail"]
    listings_key = await create_api_key(
        session, organization_id=municipality.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    assert_problem(
        await client.put(path(initiative, "transactions", ours), headers=listings_key),
        403,
        "insufficient_scope",
    )
    assert_problem(await client.put(path(initiative, "transactions", ours)), 401, "unauthorized")
    assert_problem(
        await client.put(path(initiative, "transactions", uuid.uuid4()), headers=clerk.headers),
        404,
        "transaction_not_found",
    )
    assert_problem(
        await client.put(path(str(uuid.uuid4()), "transactions", ours), headers=clerk.headers),
        404,
        "initiative_not_found",
    )
    # Between the library and the household: the municipality is no party.
    theirs = await completed_reuse(
        client, session, giver=librarian, organization=library, receiver=household
    )
    assert_problem(
        await client.put(path(initiative, "transactions", theirs), headers=librarian.headers),
        403,
        "not_in_initiative",
    )
    assert await tagged(session, Transaction, ours) is None
    assert await tagged(session, Transaction, theirs) is None
    assert await evidence_count(session) == before + 1  # the library's completion only
    transactions_key = await create_api_key(
        session, organization_id=municipality.id, scopes=[ApiKeyScope.TRANSACTIONS_WRITE]
    )
    by_key = await client.put(path(initiative, "transactions", ours), headers=transactions_key)
    assert by_key.status_code == 200, by_key.text
    assert by_key.json()["retagged_records"] == 1


async def test_a_transaction_carries_one_initiative_and_a_disputed_one_waits(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clerk: Actor,
    household: Actor,
    municipality: Organization,
    initiative: str,
    other_initiative: str,
) -> None:
    tx_id = await completed_reuse(
        client, session, giver=clerk, organization=municipality, receiver=household
    )
    assert (
        await client.put(path(other_initiative, "transactions", tx_id), headers=clerk.headers)
    ).status_code == 200
    before = await evidence_count(session)
    body = assert_problem(
        await client.put(path(initiative, "transactions", tx_id), headers=clerk.headers),
        409,
        "tagged_with_another_initiative",
    )
    assert other_initiative in body["detail"]
    assert await evidence_count(session) == before

    assert (await act(client, household, tx_id, "dispute")).status_code == 200
    body = assert_problem(
        await client.delete(path(other_initiative, "transactions", tx_id), headers=clerk.headers),
        409,
        "transaction_disputed",
    )
    assert body["title"] == "A disputed transaction keeps its initiative until a moderator decides"
    assert str(await tagged(session, Transaction, tx_id)) == other_initiative

    disputed = await completed_reuse(
        client, session, giver=clerk, organization=municipality, receiver=household
    )
    assert (await act(client, household, disputed, "dispute")).status_code == 200
    before = await evidence_count(session)
    assert_problem(
        await client.put(path(initiative, "transactions", disputed), headers=clerk.headers),
        409,
        "transaction_disputed",
    )
    assert await tagged(session, Transaction, disputed) is None
    assert await evidence_count(session) == before


# --- repair events ------------------------------------------------------------------------------


async def test_tagging_a_repair_event_moves_the_repairs_logged_at_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    repairer: Actor,
    analyst: Actor,
    shop: Organization,
    initiative: str,
) -> None:
    event = await create_event(client, repairer, shop)
    first = await log_repair(client, repairer, shop, event_id=event["id"])
    second = await log_repair(
        client, repairer, shop, event_id=event["id"], repair_status="Repairable"
    )
    elsewhere = await log_repair(client, repairer, shop)
    assert await level5(session, "", "repair") == 3

    response = await client.put(
        path(initiative, "repair-events", event["id"]), headers=repairer.headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "initiative_id": initiative,
        "subject": "repair_event",
        "id": event["id"],
        "retagged_records": 2,
    }
    assert str(await tagged(session, RepairEvent, event["id"])) == initiative
    for repair in (first, second):
        ledger = await records(session, repair_id=repair["id"])
        assert [(r.event, r.record_count, r.initiative_id) for r in ledger] == [
            ("logged", 1, None),
            ("retagged", -1, None),
            ("retagged", 1, uuid.UUID(initiative)),
        ]
        assert ledger[1].compensates == ledger[0].seq
    assert [r.event for r in await records(session, repair_id=elsewhere["id"])] == ["logged"]
    assert await level5(session, initiative, "repair") == 2
    assert await level5(session, "", "repair") == 1

    # A repair logged at the event from now on counts toward the initiative at once.
    third = await log_repair(client, repairer, shop, event_id=event["id"])
    [logged] = await records(session, repair_id=third["id"])
    assert str(logged.initiative_id) == initiative
    assert (await client.get(f"{BASE}/{initiative}")).json()["counts"]["repair_events"] == 1
    # Again: nothing to move.
    again = await client.put(
        path(initiative, "repair-events", event["id"]), headers=repairer.headers
    )
    assert again.json()["retagged_records"] == 0

    out = await client.delete(
        path(initiative, "repair-events", event["id"]), headers=repairer.headers
    )
    assert out.status_code == 204, out.text
    assert await tagged(session, RepairEvent, event["id"]) is None
    assert await level5(session, initiative, "repair") == 0
    assert await level5(session, "", "repair") == 4
    for repair in (first, second, third):
        ledger = await records(session, repair_id=repair["id"])
        assert ledger[-1].event == "retagged"
        assert ledger[-1].initiative_id is None
        assert sum(r.record_count for r in ledger) == 1
    verdict = (await client.get("/v1/evidence/verify", headers=analyst.headers)).json()
    assert verdict["valid"] is True


async def test_only_the_organisers_writers_tag_an_event_of_an_organization_taking_part(
    client: httpx.AsyncClient,
    session: AsyncSession,
    clerk: Actor,
    repairer: Actor,
    librarian: Actor,
    library: Organization,
    shop: Organization,
    initiative: str,
    other_initiative: str,
) -> None:
    libraries = await create_event(client, librarian, library)
    assert_problem(
        await client.put(
            path(initiative, "repair-events", libraries["id"]), headers=librarian.headers
        ),
        403,
        "not_in_initiative",
    )
    shops = await create_event(client, repairer, shop)
    assert_problem(
        await client.put(path(initiative, "repair-events", shops["id"]), headers=clerk.headers),
        403,
        "not_a_member",
    )
    assert_problem(
        await client.delete(path(initiative, "repair-events", shops["id"]), headers=clerk.headers),
        403,
        "not_a_member",
    )
    impact_key = await create_api_key(
        session, organization_id=shop.id, scopes=[ApiKeyScope.IMPACT_READ]
    )
    assert_problem(
        await client.put(path(initiative, "repair-events", shops["id"]), headers=impact_key),
        403,
        "insufficient_scope",
    )
    assert_problem(
        await client.put(path(initiative, "repair-events", shops["id"])), 401, "unauthorized"
    )
    body = assert_problem(
        await client.put(path(initiative, "repair-events", uuid.uuid4()), headers=repairer.headers),
        404,
        "repair_event_not_found",
    )
    assert body["title"] == "Repair event not found"
    assert_problem(
        await client.delete(
            path(str(uuid.uuid4()), "repair-events", shops["id"]), headers=repairer.headers
        ),
        404,
        "initiative_not_found",
    )
    # One initiative per event: the library's (the shop is not its partner) cannot have it,
    # and once tagged with ours, another is a conflict.
    assert (
        await client.put(path(initiative, "repair-events", shops["id"]), headers=repairer.headers)
    ).status_code == 200
    joined = await client.put(
        f"{BASE}/{other_initiative}/partners/{shop.id}", headers=librarian.headers
    )
    assert joined.status_code == 200
    assert_problem(
        await client.put(
            path(other_initiative, "repair-events", shops["id"]), headers=repairer.headers
        ),
        409,
        "tagged_with_another_initiative",
    )
    assert str(await tagged(session, RepairEvent, shops["id"])) == initiative
    assert await tagged(session, RepairEvent, libraries["id"]) is None
