"""Initiatives: starting, finding, reading and changing them, their partners, who may do what,
and every documented error (with nothing stored)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Initiative, InitiativeKommune, InitiativePartner, Organization
from app.models.organization import ApiKeyScope, MemberRole, OrganizationKind
from tests.clock import Clock, frozen
from tests.factories import Actor, create_api_key, create_organization, create_person
from tests.problems import assert_problem

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
BASE = "/v1/initiatives"


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


@pytest.fixture
async def admin(session: AsyncSession, settings: Settings) -> Actor:
    """Owner of the municipality that owns the initiatives."""
    return await create_person(session, settings, display_name="Kommuneadmin")


@pytest.fixture
async def member(session: AsyncSession, settings: Settings) -> Actor:
    """A plain member of the municipality."""
    return await create_person(session, settings)


@pytest.fixture
async def partner_admin(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Verkstedeier")


@pytest.fixture
async def partner_member(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def stranger(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def municipality(session: AsyncSession, admin: Actor, member: Actor) -> Organization:
    return await create_organization(
        session,
        owner=admin,
        name="Oslo kommune",
        kind=OrganizationKind.MUNICIPALITY,
        members={member.person_id: MemberRole.MEMBER},
    )


@pytest.fixture
async def shop(session: AsyncSession, partner_admin: Actor, partner_member: Actor) -> Organization:
    return await create_organization(
        session,
        owner=partner_admin,
        name="Fiksehuset",
        kind=OrganizationKind.REPAIR_SHOP,
        members={partner_member.person_id: MemberRole.MEMBER},
    )


@pytest.fixture
async def library(session: AsyncSession, stranger: Actor) -> Organization:
    return await create_organization(
        session, owner=stranger, name="Biblioteket", kind=OrganizationKind.LIBRARY_OF_THINGS
    )


def initiative_body(org: Organization, **changes: Any) -> dict[str, Any]:
    return {
        "organization_id": str(org.id),
        "name": "Ombruksstasjon Grünerløkka",
        "kind": "reuse_station",
        "description": "Lever og hent brukte ting.",
        "starts_on": "2027-01-01",
        "ends_on": "2027-12-31",
        "kommuner": ["0301"],
    } | changes


async def create_initiative(
    client: httpx.AsyncClient, who: Actor, org: Organization, **changes: Any
) -> dict[str, Any]:
    response = await client.post(BASE, json=initiative_body(org, **changes), headers=who.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def count(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def counts(session: AsyncSession) -> tuple[int, int, int]:
    """(initiatives, partners, kommuner of initiatives): a refused request changes none."""
    return (
        await count(session, Initiative),
        await count(session, InitiativePartner),
        await count(session, InitiativeKommune),
    )


# --- starting and reading ---------------------------------------------------------------------


async def test_an_admin_starts_an_initiative_that_anyone_reads(
    client: httpx.AsyncClient, admin: Actor, municipality: Organization
) -> None:
    response = await client.post(
        BASE,
        json=initiative_body(municipality, kommuner=["3201", "0301", "0301"]),
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{BASE}/{body['id']}"
    assert body["name"] == "Ombruksstasjon Grünerløkka"
    assert body["kind"] == "reuse_station"
    assert body["description"] == "Lever og hent brukte ting."
    assert body["owner"] == {
        "id": str(municipality.id),
        "name": "Oslo kommune",
        "sector": "public_sector",
    }
    assert body["partners"] == []
    assert body["kommuner"] == [
        {"kommunenummer": "0301", "name": "Oslo"},
        {"kommunenummer": "3201", "name": "Bærum"},
    ]
    assert (body["starts_on"], body["ends_on"]) == ("2027-01-01", "2027-12-31")
    assert body["counts"] == {"listings": 0, "transactions": 0, "repair_events": 0}
    assert datetime.fromisoformat(body["created_at"]) == NOW
    assert body["updated_at"] == body["created_at"]
    # Initiatives are public.
    public = await client.get(f"{BASE}/{body['id']}")
    assert public.status_code == 200, public.text
    assert public.json() == body


async def test_the_minimal_initiative_is_open_ended_and_placed_nowhere(
    client: httpx.AsyncClient, admin: Actor, municipality: Organization
) -> None:
    body = {
        "organization_id": str(municipality.id),
        "name": "Fiksekafé",
        "kind": "repair_cafe_series",
        "starts_on": "2026-12-01",
    }
    response = await client.post(BASE, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["ends_on"], made["kommuner"], made["description"]) == (None, [], "")


async def test_a_one_day_initiative_may_end_on_its_first_day(
    client: httpx.AsyncClient, admin: Actor, municipality: Organization
) -> None:
    made = await create_initiative(
        client, admin, municipality, starts_on="2027-05-01", ends_on="2027-05-01"
    )
    assert made["starts_on"] == made["ends_on"] == "2027-05-01"


async def test_an_api_key_with_organization_write_starts_one_for_its_organization(
    client: httpx.AsyncClient, session: AsyncSession, municipality: Organization
) -> None:
    headers = await create_api_key(
        session, organization_id=municipality.id, scopes=[ApiKeyScope.ORGANIZATION_WRITE]
    )
    response = await client.post(BASE, json=initiative_body(municipality), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["owner"]["id"] == str(municipality.id)


async def test_only_admins_of_the_owner_start_initiatives(
    client: httpx.AsyncClient,
    session: AsyncSession,
    member: Actor,
    stranger: Actor,
    municipality: Organization,
    library: Organization,
) -> None:
    before = await counts(session)
    body = initiative_body(municipality)
    assert_problem(
        await client.post(BASE, json=body, headers=member.headers), 403, "insufficient_role"
    )
    assert_problem(
        await client.post(BASE, json=body, headers=stranger.headers), 403, "not_a_member"
    )
    listings_key = await create_api_key(
        session, organization_id=municipality.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    assert_problem(
        await client.post(BASE, json=body, headers=listings_key), 403, "insufficient_scope"
    )
    other_key = await create_api_key(
        session, organization_id=library.id, scopes=[ApiKeyScope.ORGANIZATION_WRITE]
    )
    assert_problem(await client.post(BASE, json=body, headers=other_key), 403, "wrong_organization")
    problem = assert_problem(await client.post(BASE, json=body), 401, "unauthorized")
    assert problem["instance"] == BASE
    assert_problem(
        await client.post(
            BASE,
            json=initiative_body(municipality, organization_id=str(uuid.uuid4())),
            headers=stranger.headers,
        ),
        404,
        "organization_not_found",
    )
    assert await counts(session) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "ab"}, "name"),
        ({"name": "x" * 161}, "name"),
        ({"name": "<b>Stasjon</b>"}, "name"),
        ({"name": "To\nlinjer"}, "name"),
        ({"name": 42}, "name"),
        ({"name": None}, "name"),
        ({"kind": "festival"}, "kind"),
        ({"description": "x" * 5001}, "description"),
        ({"starts_on": "tomorrow"}, "starts_on"),
        ({"starts_on": None}, "starts_on"),
        ({"ends_on": "2027-13-01"}, "ends_on"),
        ({"ends_on": "2026-12-31"}, ""),  # before it starts
        ({"kommuner": "0301"}, "kommuner"),
        ({"kommuner": ["301"]}, "kommuner.0"),
        ({"kommuner": [301]}, "kommuner.0"),
        ({"organization_id": "nope"}, "organization_id"),
        ({"owner": "me"}, "owner"),
    ],
)
async def test_invalid_initiatives_are_422_and_store_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: Actor,
    municipality: Organization,
    changes: dict[str, Any],
    field: str,
) -> None:
    before = await counts(session)
    response = await client.post(
        BASE, json=initiative_body(municipality, **changes), headers=admin.headers
    )
    body = assert_problem(response, 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {field}
    assert await counts(session) == before


async def test_ending_before_it_starts_says_so(
    client: httpx.AsyncClient, admin: Actor, municipality: Organization
) -> None:
    response = await client.post(
        BASE,
        json=initiative_body(municipality, starts_on="2027-02-01", ends_on="2027-01-31"),
        headers=admin.headers,
    )
    body = assert_problem(response, 422, "validation_failed")
    assert "ends_on must be on or after starts_on" in body["detail"]


async def test_unknown_kommuner_are_422_unknown_kommune_naming_each(
    client: httpx.AsyncClient, session: AsyncSession, admin: Actor, municipality: Organization
) -> None:
    before = await counts(session)
    response = await client.post(
        BASE,
        json=initiative_body(municipality, kommuner=["0301", "9999", "0000"]),
        headers=admin.headers,
    )
    body = assert_problem(response, 422, "unknown_kommune")
    assert body["title"] == "Unknown kommune"
    assert "0000, 9999" in body["detail"]
    assert body["errors"] == [
        {
            "location": "body",
            "field": "kommuner.1",
            "message": "Unknown kommune",
            "type": "unknown_kommune",
        },
        {
            "location": "body",
            "field": "kommuner.2",
            "message": "Unknown kommune",
            "type": "unknown_kommune",
        },
    ]
    assert await counts(session) == before


async def test_malformed_json_is_a_problem(client: httpx.AsyncClient, admin: Actor) -> None:
    response = await client.post(
        BASE,
        content=b'{"name": "Stasjon",',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 422, "malformed_json")


async def test_a_retried_post_with_the_same_idempotency_key_starts_one_initiative(
    client: httpx.AsyncClient, session: AsyncSession, admin: Actor, municipality: Organization
) -> None:
    headers = {**admin.headers, "Idempotency-Key": "initiative-1"}
    first = await client.post(BASE, json=initiative_body(municipality), headers=headers)
    again = await client.post(BASE, json=initiative_body(municipality), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert await count(session, Initiative) == 1
    other = await client.post(
        BASE, json=initiative_body(municipality, name="Noe annet"), headers=headers
    )
    assert_problem(other, 422, "idempotency_key_reused")


async def test_unknown_initiatives_are_404_and_malformed_ids_422(
    client: httpx.AsyncClient, admin: Actor, shop: Organization
) -> None:
    missing = f"{BASE}/{uuid.uuid4()}"
    body = assert_problem(await client.get(missing), 404, "initiative_not_found")
    assert body["title"] == "Initiative not found"
    assert body["instance"] == missing
    assert_problem(
        await client.patch(missing, json={"name": "Nytt navn"}, headers=admin.headers),
        404,
        "initiative_not_found",
    )
    for method in ("PUT", "DELETE"):
        response = await client.request(
            method, f"{missing}/partners/{shop.id}", headers=admin.headers
        )
        assert_problem(response, 404, "initiative_not_found")
    malformed = assert_problem(await client.get(f"{BASE}/nope"), 422, "validation_failed")
    assert malformed["errors"][0]["location"] == "path"
    assert_problem(await client.post(f"{BASE}/{uuid.uuid4()}"), 405, "method_not_allowed")


# --- finding --------------------------------------------------------------------------------


async def test_finding_initiatives_by_kommune_organization_kind_and_day(
    client: httpx.AsyncClient,
    admin: Actor,
    partner_admin: Actor,
    municipality: Organization,
    shop: Organization,
    library: Organization,
) -> None:
    station = await create_initiative(
        client, admin, municipality, starts_on="2027-01-01", ends_on="2027-12-31"
    )
    cafe = await create_initiative(
        client,
        admin,
        municipality,
        name="Fiksekafé",
        kind="repair_cafe_series",
        starts_on="2026-06-01",
        ends_on=None,
        kommuner=["0301", "4601"],
    )
    pilot = await create_initiative(
        client,
        partner_admin,
        shop,
        name="Reparasjonspilot",
        kind="pilot",
        starts_on="2025-01-01",
        ends_on="2025-06-30",
        kommuner=["4601"],
    )
    joined = await client.put(f"{BASE}/{cafe['id']}/partners/{shop.id}", headers=admin.headers)
    assert joined.status_code == 200, joined.text

    async def found(**params: Any) -> list[str]:
        response = await client.get(BASE, params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    # The latest to start first.
    assert await found() == [station["id"], cafe["id"], pilot["id"]]
    assert await found(kommune="4601") == [cafe["id"], pilot["id"]]
    assert await found(kommune="1804") == []
    assert await found(organization_id=str(shop.id)) == [cafe["id"], pilot["id"]]
    assert await found(organization_id=str(municipality.id)) == [station["id"], cafe["id"]]
    assert await found(organization_id=str(library.id)) == []
    assert await found(organization_id=str(uuid.uuid4())) == []
    assert await found(kind="pilot") == [pilot["id"]]
    assert await found(active_on="2027-03-01") == [station["id"], cafe["id"]]
    assert await found(active_on="2025-06-30") == [pilot["id"]]
    assert await found(active_on="2025-07-01") == []
    assert await found(active_on="2030-01-01") == [cafe["id"]]
    assert await found(kommune="0301", kind="repair_cafe_series", active_on="2026-06-01") == [
        cafe["id"]
    ]
    # List items are the same as the initiative read alone.
    listed = (await client.get(BASE, params={"kind": "repair_cafe_series"})).json()["items"][0]
    assert listed == (await client.get(f"{BASE}/{cafe['id']}")).json()
    assert [p["name"] for p in listed["partners"]] == ["Fiksehuset"]


async def test_paging_returns_every_initiative_once(
    client: httpx.AsyncClient, admin: Actor, municipality: Organization
) -> None:
    made = [
        await create_initiative(
            client, admin, municipality, name=f"Pilot {n}", starts_on=day, ends_on=None
        )
        for n, day in enumerate(
            ["2027-01-01", "2027-01-01", "2027-01-01", "2026-01-01", "2028-01-01"]
        )
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(BASE, params=params)).json()
        pages += 1
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(m["id"] for m in made)
    assert len(seen) == len(set(seen))
    assert seen[0] == made[4]["id"]
    assert seen[-1] == made[3]["id"]


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"cursor": "nope"}, 422, "invalid_cursor", "cursor"),
        ({"cursor": "eyJzIjoiMjAyNyJ9"}, 422, "invalid_cursor", "cursor"),  # {"s":"2027"}
        ({"kommune": "9999"}, 422, "unknown_kommune", "kommune"),
        ({"kommune": "oslo"}, 422, "validation_failed", "kommune"),
        ({"kind": "festival"}, 422, "validation_failed", "kind"),
        ({"active_on": "i morgen"}, 422, "validation_failed", "active_on"),
        ({"organization_id": "nope"}, 422, "validation_failed", "organization_id"),
        ({"limit": 0}, 422, "validation_failed", "limit"),
        ({"limit": 101}, 422, "validation_failed", "limit"),
    ],
)
async def test_bad_queries_are_problems(
    client: httpx.AsyncClient, params: dict[str, Any], status: int, code: str, field: str
) -> None:
    body = assert_problem(await client.get(BASE, params=params), status, code)
    assert [(e["location"], e["field"]) for e in body["errors"]] == [("query", field)]


# --- changing -------------------------------------------------------------------------------


async def test_the_owners_admin_changes_the_fields_sent(
    client: httpx.AsyncClient, clock: Clock, admin: Actor, municipality: Organization
) -> None:
    made = await create_initiative(client, admin, municipality)
    clock.now = LATER
    response = await client.patch(
        f"{BASE}/{made['id']}",
        json={
            "name": "Ombruksstasjon Oslo",
            "kind": "pilot",
            "ends_on": "2028-06-30",
            "kommuner": ["3201", "0301"],
        },
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["kind"]) == ("Ombruksstasjon Oslo", "pilot")
    assert (body["starts_on"], body["ends_on"]) == ("2027-01-01", "2028-06-30")
    assert [k["kommunenummer"] for k in body["kommuner"]] == ["0301", "3201"]
    assert body["description"] == "Lever og hent brukte ting."  # not sent, kept
    assert datetime.fromisoformat(body["updated_at"]) == LATER
    assert datetime.fromisoformat(body["created_at"]) == NOW

    cleared = await client.patch(
        f"{BASE}/{made['id']}",
        json={"ends_on": None, "description": None, "kommuner": []},
        headers=admin.headers,
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["ends_on"], cleared.json()["description"]) == (None, "")
    assert cleared.json()["kommuner"] == []
    assert (await client.get(f"{BASE}/{made['id']}")).json() == cleared.json()


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"ends_on": "2026-12-31"}, "invalid_input", "ends_on"),
        ({"starts_on": "2028-01-01"}, "invalid_input", "starts_on"),
        ({"name": None}, "invalid_input", "name"),
        ({"kind": None}, "invalid_input", "kind"),
        ({"starts_on": None}, "invalid_input", "starts_on"),
        ({"kommuner": None}, "invalid_input", "kommuner"),
        ({"kommuner": ["0301", "9999"]}, "unknown_kommune", "kommuner.1"),
        ({"name": "ab"}, "validation_failed", "name"),
        ({"kind": "festival"}, "validation_failed", "kind"),
        ({"ends_on": 20270101.5}, "validation_failed", "ends_on"),
        ({"organization_id": str(uuid.uuid4())}, "validation_failed", "organization_id"),
    ],
)
async def test_invalid_changes_are_422_and_change_nothing(
    client: httpx.AsyncClient,
    admin: Actor,
    municipality: Organization,
    changes: dict[str, Any],
    code: str,
    field: str,
) -> None:
    made = await create_initiative(client, admin, municipality)
    response = await client.patch(f"{BASE}/{made['id']}", json=changes, headers=admin.headers)
    body = assert_problem(response, 422, code)
    assert [e["field"] for e in body["errors"]] == [field]
    assert (await client.get(f"{BASE}/{made['id']}")).json() == made


async def test_only_the_owners_admins_change_an_initiative(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: Actor,
    member: Actor,
    partner_admin: Actor,
    municipality: Organization,
    shop: Organization,
) -> None:
    made = await create_initiative(client, admin, municipality)
    await client.put(f"{BASE}/{made['id']}/partners/{shop.id}", headers=admin.headers)
    path = f"{BASE}/{made['id']}"
    change = {"name": "Kapret"}
    assert_problem(
        await client.patch(path, json=change, headers=member.headers), 403, "insufficient_role"
    )
    # A partner takes part, but does not run the initiative.
    assert_problem(
        await client.patch(path, json=change, headers=partner_admin.headers), 403, "not_a_member"
    )
    partner_key = await create_api_key(
        session, organization_id=shop.id, scopes=[ApiKeyScope.ORGANIZATION_WRITE]
    )
    assert_problem(
        await client.patch(path, json=change, headers=partner_key), 403, "wrong_organization"
    )
    assert_problem(await client.patch(path, json=change), 401, "unauthorized")
    assert (await client.get(path)).json()["name"] == made["name"]
    owner_key = await create_api_key(
        session, organization_id=municipality.id, scopes=[ApiKeyScope.ORGANIZATION_WRITE]
    )
    changed = await client.patch(path, json=change, headers=owner_key)
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Kapret"


# --- partners -------------------------------------------------------------------------------


async def test_the_owner_adds_partners_once_each(
    client: httpx.AsyncClient,
    clock: Clock,
    admin: Actor,
    municipality: Organization,
    shop: Organization,
    library: Organization,
) -> None:
    made = await create_initiative(client, admin, municipality)
    clock.now = LATER
    response = await client.put(f"{BASE}/{made['id']}/partners/{shop.id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["partners"] == [
        {
            "id": str(shop.id),
            "name": "Fiksehuset",
            "sector": "business",
            "added_at": body["partners"][0]["added_at"],
        }
    ]
    assert datetime.fromisoformat(body["partners"][0]["added_at"]) == LATER
    assert datetime.fromisoformat(body["updated_at"]) == LATER
    # Again: nothing changes.
    clock.now = LATER + timedelta(days=1)
    again = await client.put(f"{BASE}/{made['id']}/partners/{shop.id}", headers=admin.headers)
    assert again.status_code == 200, again.text
    assert again.json() == body
    both = await client.put(f"{BASE}/{made['id']}/partners/{library.id}", headers=admin.headers)
    assert [p["name"] for p in both.json()["partners"]] == ["Biblioteket", "Fiksehuset"]
    assert [p["sector"] for p in both.json()["partners"]] == ["civil_society", "business"]
    assert (await client.get(f"{BASE}/{made['id']}")).json() == both.json()


async def test_the_owner_is_not_its_own_partner(
    client: httpx.AsyncClient, session: AsyncSession, admin: Actor, municipality: Organization
) -> None:
    made = await create_initiative(client, admin, municipality)
    before = await counts(session)
    response = await client.put(
        f"{BASE}/{made['id']}/partners/{municipality.id}", headers=admin.headers
    )
    body = assert_problem(response, 422, "owner_cannot_be_partner")
    assert body["title"] == "The initiative's owner cannot also be its partner"
    assert "owns this initiative" in body["detail"]
    assert await counts(session) == before
    assert (await client.get(f"{BASE}/{made['id']}")).json()["partners"] == []


async def test_adding_partners_needs_the_owners_admin_and_a_real_organization(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: Actor,
    member: Actor,
    partner_admin: Actor,
    municipality: Organization,
    shop: Organization,
    library: Organization,
) -> None:
    made = await create_initiative(client, admin, municipality)
    await client.put(f"{BASE}/{made['id']}/partners/{shop.id}", headers=admin.headers)
    before = await counts(session)
    path = f"{BASE}/{made['id']}/partners/{library.id}"
    assert_problem(await client.put(path, headers=member.headers), 403, "insufficient_role")
    # Partners do not bring in partners.
    assert_problem(await client.put(path, headers=partner_admin.headers), 403, "not_a_member")
    assert_problem(await client.put(path), 401, "unauthorized")
    body = assert_problem(
        await client.put(f"{BASE}/{made['id']}/partners/{uuid.uuid4()}", headers=admin.headers),
        404,
        "organization_not_found",
    )
    assert body["title"] == "Organization not found"
    assert_problem(
        await client.put(f"{BASE}/{made['id']}/partners/nope", headers=admin.headers),
        422,
        "validation_failed",
    )
    assert await counts(session) == before


async def test_the_owner_removes_a_partner_and_a_partner_leaves(
    client: httpx.AsyncClient,
    admin: Actor,
    partner_admin: Actor,
    municipality: Organization,
    shop: Organization,
    library: Organization,
) -> None:
    made = await create_initiative(client, admin, municipality)
    for org in (shop, library):
        await client.put(f"{BASE}/{made['id']}/partners/{org.id}", headers=admin.headers)
    removed = await client.delete(
        f"{BASE}/{made['id']}/partners/{library.id}", headers=admin.headers
    )
    assert removed.status_code == 204, removed.text
    assert removed.content == b""
    left = await client.delete(
        f"{BASE}/{made['id']}/partners/{shop.id}", headers=partner_admin.headers
    )
    assert left.status_code == 204, left.text
    assert (await client.get(f"{BASE}/{made['id']}")).json()["partners"] == []
    # Removing an organization that is not a partner (any more) changes nothing.
    again = await client.delete(
        f"{BASE}/{made['id']}/partners/{shop.id}", headers=partner_admin.headers
    )
    assert again.status_code == 204
    owner = await client.delete(
        f"{BASE}/{made['id']}/partners/{municipality.id}", headers=admin.headers
    )
    assert owner.status_code == 204
    assert (await client.get(f"{BASE}/{made['id']}")).json()["owner"]["id"] == str(municipality.id)


async def test_removing_partners_needs_the_owners_or_the_partners_admin(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: Actor,
    partner_member: Actor,
    stranger: Actor,
    municipality: Organization,
    shop: Organization,
    library: Organization,
) -> None:
    made = await create_initiative(client, admin, municipality)
    for org in (shop, library):
        await client.put(f"{BASE}/{made['id']}/partners/{org.id}", headers=admin.headers)
    shop_path = f"{BASE}/{made['id']}/partners/{shop.id}"
    # A plain member of the partner cannot take it out.
    assert_problem(
        await client.delete(shop_path, headers=partner_member.headers), 403, "insufficient_role"
    )
    shop_key = await create_api_key(
        session, organization_id=shop.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    assert_problem(await client.delete(shop_path, headers=shop_key), 403, "insufficient_scope")
    # The library's owner speaks for the library, not for the shop nor the owner.
    assert_problem(await client.delete(shop_path, headers=stranger.headers), 403, "not_a_member")
    assert_problem(
        await client.delete(
            f"{BASE}/{made['id']}/partners/{municipality.id}", headers=stranger.headers
        ),
        403,
        "not_a_member",
    )
    assert_problem(await client.delete(shop_path), 401, "unauthorized")
    assert_problem(
        await client.delete(f"{BASE}/{made['id']}/partners/{uuid.uuid4()}", headers=admin.headers),
        404,
        "organization_not_found",
    )
    partners = (await client.get(f"{BASE}/{made['id']}")).json()["partners"]
    assert {p["id"] for p in partners} == {str(shop.id), str(library.id)}
    shop_admin_key = await create_api_key(
        session, organization_id=shop.id, scopes=[ApiKeyScope.ORGANIZATION_WRITE]
    )
    assert (await client.delete(shop_path, headers=shop_admin_key)).status_code == 204


async def test_openapi_documents_the_initiative_problems(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    partner = schema["paths"]["/v1/initiatives/{initiative_id}/partners/{organization_id}"]
    put = partner["put"]
    assert put["tags"] == ["initiatives"]
    examples = put["responses"]["422"]["content"]["application/problem+json"]["examples"]
    assert "owner_cannot_be_partner" in examples
    tag = schema["paths"]["/v1/initiatives/{initiative_id}/transactions/{transaction_id}"]["put"]
    conflicts = tag["responses"]["409"]["content"]["application/problem+json"]["examples"]
    assert {"tagged_with_another_initiative", "transaction_disputed"} <= set(conflicts)
    create = schema["paths"]["/v1/initiatives"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    assert "reuse_station" in create["requestBody"]["content"]["application/json"]["examples"]
    assert "initiatives" in {t["name"] for t in schema["tags"]}
