"""/v1/organizations: registration, the public directory, updates and verification.

Also home of the helpers the members and API-key tests share: ``assert_problem``, a
``Team`` (an organization with a person in every role, a stranger, a moderator and API keys)
and ``snapshot`` (everything about an organization, to show that a refused write changed
nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import utcnow
from app.config import Settings
from app.models import ApiKey, Membership, Organization
from app.models.organization import SECTOR_OF_KIND, ApiKeyScope, MemberRole, OrganizationKind
from app.models.person import PlatformRole
from app.pagination import encode_cursor
from tests.factories import Actor, create_api_key, create_organization, create_person
from tests.problems import assert_problem

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ALL_SCOPES = list(ApiKeyScope)


def error_fields(response: httpx.Response) -> list[str]:
    return [e["field"] for e in assert_problem(response, 422, "validation_failed")["errors"]]


@dataclass(frozen=True)
class Team:
    """An organization with one person in each role, plus outsiders and API keys."""

    org_id: uuid.UUID
    other_org_id: uuid.UUID
    owner: Actor
    admin: Actor
    member: Actor
    stranger: Actor
    moderator: Actor
    key_all_scopes: dict[str, str]
    key_without_write: dict[str, str]
    key_of_other_org: dict[str, str]


async def create_team(
    session: AsyncSession,
    settings: Settings,
    *,
    name: str = "Fiksehuset",
    kind: OrganizationKind = OrganizationKind.REPAIR_SHOP,
    kommunenummer: str | None = "0301",
) -> Team:
    owner = await create_person(session, settings, display_name="Olga Owner")
    admin = await create_person(session, settings, display_name="Ada Admin")
    member = await create_person(session, settings, display_name="Mats Member")
    stranger = await create_person(session, settings, display_name="Stina Stranger")
    moderator = await create_person(
        session, settings, display_name="Mona Moderator", roles=[PlatformRole.MODERATOR.value]
    )
    org = await create_organization(
        session,
        owner=owner,
        name=name,
        kind=kind,
        kommunenummer=kommunenummer,
        members={admin.person_id: MemberRole.ADMIN, member.person_id: MemberRole.MEMBER},
    )
    other = await create_organization(session, owner=stranger, name="Annen organisasjon")
    return Team(
        org_id=org.id,
        other_org_id=other.id,
        owner=owner,
        admin=admin,
        member=member,
        stranger=stranger,
        moderator=moderator,
        key_all_scopes=await create_api_key(session, organization_id=org.id, scopes=ALL_SCOPES),
        key_without_write=await create_api_key(
            session,
            organization_id=org.id,
            scopes=[s for s in ALL_SCOPES if s != ApiKeyScope.ORGANIZATION_WRITE],
        ),
        key_of_other_org=await create_api_key(session, organization_id=other.id, scopes=ALL_SCOPES),
    )


async def snapshot(session: AsyncSession, organization_id: uuid.UUID) -> tuple[Any, ...]:
    """The organization's row, its memberships and its API keys, read fresh."""
    org = (
        await session.execute(
            select(Organization.__table__).where(Organization.id == organization_id)
        )
    ).one_or_none()
    members = (
        await session.execute(
            select(Membership.person_id, Membership.role)
            .where(Membership.organization_id == organization_id)
            .order_by(Membership.person_id)
        )
    ).all()
    keys = (
        await session.execute(
            select(ApiKey.id, ApiKey.name, ApiKey.scopes, ApiKey.revoked_at)
            .where(ApiKey.organization_id == organization_id)
            .order_by(ApiKey.id)
        )
    ).all()
    return (
        tuple(org) if org else None,
        [tuple(m) for m in members],
        [(k.id, k.name, tuple(k.scopes), k.revoked_at) for k in keys],
    )


@pytest.fixture
def clock(app: FastAPI) -> Iterator[datetime]:
    app.dependency_overrides[utcnow] = lambda: NOW
    yield NOW
    app.dependency_overrides.pop(utcnow, None)


async def create(client: httpx.AsyncClient, actor: Actor, **fields: Any) -> httpx.Response:
    body = {"name": "Fiksehuset", "kind": "repair_shop", "kommunenummer": "0301", **fields}
    return await client.post("/v1/organizations", json=body, headers=actor.headers)


# --- registration ----------------------------------------------------------------------


async def test_create_organization_makes_the_creator_its_owner(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await client.post(
        "/v1/organizations",
        headers=actor.headers,
        json={
            "name": "  Fiksehuset Grünerløkka ",
            "kind": "repair_shop",
            "organisasjonsnummer": "974760673",
            "kommunenummer": "0301",
            "description": "Vi reparerer sykler.",
            "contact_email": "post@fiksehuset.no",
            "contact_phone": "+47 22 33 44 55",
            "website": "https://fiksehuset.no",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    org_id = uuid.UUID(body.pop("id"))
    assert datetime.fromisoformat(body.pop("created_at"))
    assert body == {
        "name": "Fiksehuset Grünerløkka",
        "kind": "repair_shop",
        "sector": "business",
        "organisasjonsnummer": "974760673",
        "kommunenummer": "0301",
        "description": "Vi reparerer sykler.",
        "contact_email": "post@fiksehuset.no",
        "contact_phone": "+47 22 33 44 55",
        "website": "https://fiksehuset.no",
        "verified": False,
        "verified_at": None,
        "waste_permit": None,
    }
    members = (
        await session.execute(
            select(Membership.person_id, Membership.role).where(
                Membership.organization_id == org_id
            )
        )
    ).all()
    assert [tuple(m) for m in members] == [(actor.person_id, "owner")]


async def test_created_organization_passes_the_deferred_owner_check(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    assert (await create(client, actor)).status_code == 201
    # The trigger organizations_have_an_owner runs at commit; make it run now.
    await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


async def test_organization_without_owner_is_refused_by_the_database(
    session: AsyncSession,
) -> None:
    session.add(Organization(name="Foreldreløs", kind="company"))
    await session.flush()
    with pytest.raises(IntegrityError, match="has no owner"):
        await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


async def test_minimal_organization_needs_only_name_and_kind(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await client.post(
        "/v1/organizations",
        headers=actor.headers,
        json={"name": "Byttering", "kind": "civil_society"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kommunenummer"] is None
    assert body["organisasjonsnummer"] is None
    assert body["website"] is None


@pytest.mark.parametrize("kind", list(OrganizationKind))
async def test_sector_is_derived_from_the_kind(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, kind: OrganizationKind
) -> None:
    actor = await create_person(session, settings)
    response = await create(client, actor, kind=kind.value)
    assert response.status_code == 201, response.text
    assert response.json()["sector"] == SECTOR_OF_KIND[kind].value
    stored = (
        await session.execute(
            select(Organization.sector).where(Organization.id == uuid.UUID(response.json()["id"]))
        )
    ).scalar_one()
    assert stored == SECTOR_OF_KIND[kind].value


@pytest.mark.parametrize(
    "orgnr",
    [
        "923609016",  # Equinor ASA
        "974760673",  # Brønnøysundregistrene
        "985399077",
        "100000040",  # 11 - (sum mod 11) = 11: the check digit is 0
    ],
)
async def test_valid_organisasjonsnummer_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, orgnr: str
) -> None:
    actor = await create_person(session, settings)
    response = await create(client, actor, organisasjonsnummer=orgnr)
    assert response.status_code == 201, response.text
    assert response.json()["organisasjonsnummer"] == orgnr


@pytest.mark.parametrize(
    "orgnr",
    [
        "923609017",  # Equinor with the last digit off by one
        "974760670",
        "985399070",
        "100000130",  # 11 - (sum mod 11) = 10: no valid number starts with these digits
        "100000139",
        "12345678",
        "1234567890",
        "97476067A",
        "".join(chr(0xFF10 + int(d)) for d in "974760673"),  # full-width digits
    ],
)
async def test_invalid_organisasjonsnummer_is_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, orgnr: str
) -> None:
    actor = await create_person(session, settings)
    response = await create(client, actor, organisasjonsnummer=orgnr)
    assert error_fields(response) == ["organisasjonsnummer"]


async def test_taken_organisasjonsnummer_is_409(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    assert (await create(client, actor, organisasjonsnummer="974760673")).status_code == 201
    response = await create(client, actor, name="Kopi", organisasjonsnummer="974760673")
    body = assert_problem(response, 409, "organisasjonsnummer_taken")
    assert "974760673" in body["detail"]
    count = (
        await session.execute(
            select(Organization.id).where(Organization.organisasjonsnummer == "974760673")
        )
    ).all()
    assert len(count) == 1


async def test_unknown_kommune_is_422_unknown_kommune(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    body = assert_problem(await create(client, actor, kommunenummer="9999"), 422, "unknown_kommune")
    assert [e["field"] for e in body["errors"]] == ["kommunenummer"]


async def test_municipality_without_kommune_is_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await create(client, actor, kind="municipality", kommunenummer=None)
    body = assert_problem(response, 422, "invalid_input")
    assert [e["field"] for e in body["errors"]] == ["kommunenummer"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "x" * 201}, "name"),
        ({"name": "   "}, "name"),
        ({"description": "x" * 2001}, "description"),
        ({"contact_phone": "1" * 41}, "contact_phone"),
        ({"contact_phone": "22-33-44-55"}, "contact_phone"),
        ({"contact_email": "not an address"}, "contact_email"),
        ({"contact_email": "a" * 250 + "@example.no"}, "contact_email"),
        ({"website": "https://example.no/" + "x" * 290}, "website"),
        ({"website": "ftp://example.no"}, "website"),
        ({"website": "javascript:alert(1)"}, "website"),
        ({"kommunenummer": "301"}, "kommunenummer"),
        ({"kind": "pub"}, "kind"),
    ],
)
async def test_bad_fields_are_422(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    fields: dict[str, Any],
    field: str,
) -> None:
    actor = await create_person(session, settings)
    assert error_fields(await create(client, actor, **fields)) == [field]


@pytest.mark.parametrize("field", ["verified", "sector", "verified_by", "owner_id"])
async def test_unknown_or_read_only_fields_are_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, field: str
) -> None:
    actor = await create_person(session, settings)
    assert error_fields(await create(client, actor, **{field: True})) == [field]


async def test_create_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/v1/organizations", json={"name": "X", "kind": "company"})
    assert_problem(response, 401, "unauthorized")
    assert (await session.execute(select(Organization.id))).first() is None


async def test_create_with_an_api_key_is_403_person_required(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await client.post(
        "/v1/organizations",
        json={"name": "Datter AS", "kind": "company"},
        headers=team.key_all_scopes,
    )
    assert_problem(response, 403, "person_required")
    assert (
        await session.execute(select(Organization.id).where(Organization.name == "Datter AS"))
    ).first() is None


# --- the public directory --------------------------------------------------------------


async def test_directory_is_public_and_holds_no_personal_data(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await client.get("/v1/organizations")
    assert response.status_code == 200
    body = response.json()
    assert [o["name"] for o in body["items"]] == ["Annen organisasjon", "Fiksehuset"]
    assert body["next_cursor"] is None
    assert set(body["items"][1]) == {
        "id",
        "name",
        "kind",
        "sector",
        "organisasjonsnummer",
        "kommunenummer",
        "description",
        "contact_email",
        "contact_phone",
        "website",
        "verified",
        "verified_at",
        "waste_permit",
        "created_at",
    }
    for actor in (team.owner, team.admin, team.member):
        assert str(actor.person_id) not in response.text
        assert actor.email not in response.text
        assert actor.display_name not in response.text


async def test_directory_filters_by_kind(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    await create_organization(
        session, owner=owner, name="Verksted", kind=OrganizationKind.REPAIR_SHOP
    )
    await create_organization(
        session, owner=owner, name="Utlånssentral", kind=OrganizationKind.LIBRARY_OF_THINGS
    )
    body = (await client.get("/v1/organizations", params={"kind": "library_of_things"})).json()
    assert [o["name"] for o in body["items"]] == ["Utlånssentral"]


async def test_directory_filters_by_kommune(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    await create_organization(session, owner=owner, name="Oslo-butikken", kommunenummer="0301")
    await create_organization(session, owner=owner, name="Trondheim-butikken", kommunenummer="5001")
    await create_organization(session, owner=owner, name="Uten kommune", kommunenummer=None)
    body = (await client.get("/v1/organizations", params={"kommune": "5001"})).json()
    assert [o["name"] for o in body["items"]] == ["Trondheim-butikken"]


async def test_directory_search_matches_part_of_the_name_case_insensitively(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    for name in ("Fiksehuset Grünerløkka", "Sykkelfiks Bergen", "Gjenbruksbutikken"):
        await create_organization(session, owner=owner, name=name)
    body = (await client.get("/v1/organizations", params={"q": "FIKS"})).json()
    assert [o["name"] for o in body["items"]] == ["Fiksehuset Grünerløkka", "Sykkelfiks Bergen"]
    body = (await client.get("/v1/organizations", params={"q": "grünerLØKKA"})).json()
    assert [o["name"] for o in body["items"]] == ["Fiksehuset Grünerløkka"]


@pytest.mark.parametrize(("q", "expected"), [("%", ["100% gjenbruk"]), ("_", ["Fiks_it"])])
async def test_directory_search_treats_wildcards_literally(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    q: str,
    expected: list[str],
) -> None:
    owner = await create_person(session, settings)
    for name in ("100% gjenbruk", "Fiks_it", "Fiksit"):
        await create_organization(session, owner=owner, name=name)
    body = (await client.get("/v1/organizations", params={"q": q})).json()
    assert [o["name"] for o in body["items"]] == expected


async def test_directory_filters_combine(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    await create_organization(session, owner=owner, name="Fiks Oslo", kommunenummer="0301")
    await create_organization(session, owner=owner, name="Fiks Trondheim", kommunenummer="5001")
    await create_organization(
        session, owner=owner, name="Fiks AS", kind=OrganizationKind.COMPANY, kommunenummer="0301"
    )
    params = {"q": "fiks", "kommune": "0301", "kind": "repair_shop"}
    body = (await client.get("/v1/organizations", params=params)).json()
    assert [o["name"] for o in body["items"]] == ["Fiks Oslo"]


async def test_directory_pages_by_name_then_id_without_gaps_or_repeats(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    # Two organizations share a name, so a page boundary falls between equal names.
    names = ["Alfa", "Bravo", "Bravo", "Charlie", "Delta"]
    ids = [(await create_organization(session, owner=owner, name=n)).id for n in names]
    expected = [str(i) for _, i in sorted(zip(names, ids, strict=True))]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/v1/organizations", params=params)).json()
        seen += [o["id"] for o in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3


async def test_directory_last_full_page_has_no_next_cursor(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    for name in ("Alfa", "Bravo"):
        await create_organization(session, owner=owner, name=name)
    body = (await client.get("/v1/organizations", params={"limit": 2})).json()
    assert len(body["items"]) == 2
    assert body["next_cursor"] is None


async def test_directory_default_page_is_20(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    for n in range(21):
        await create_organization(session, owner=owner, name=f"Org {n:02d}")
    body = (await client.get("/v1/organizations")).json()
    assert len(body["items"]) == 20
    assert body["next_cursor"] is not None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"kind": "pub"}, "kind"),
        ({"kommune": "301"}, "kommune"),
        ({"q": ""}, "q"),
        ({"q": "x" * 101}, "q"),
    ],
)
async def test_bad_directory_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, str | int], field: str
) -> None:
    assert error_fields(await client.get("/v1/organizations", params=params)) == [field]


async def test_directory_with_unknown_kommune_is_422_unknown_kommune(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/organizations", params={"kommune": "9999"})
    body = assert_problem(response, 422, "unknown_kommune")
    assert body["errors"][0]["location"] == "query"
    assert body["errors"][0]["field"] == "kommune"


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        encode_cursor({"k": "0301"}),
        encode_cursor({"n": "Alfa", "i": "not-a-uuid"}),
        encode_cursor({"n": 5, "i": "00000000-0000-4000-8000-000000000000"}),
    ],
)
async def test_directory_with_a_foreign_cursor_is_422_invalid_cursor(
    client: httpx.AsyncClient, cursor: str
) -> None:
    response = await client.get("/v1/organizations", params={"cursor": cursor})
    assert_problem(response, 422, "invalid_cursor")


# --- one organization ------------------------------------------------------------------


async def test_get_organization_is_public(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    org = await create_organization(
        session, owner=owner, name="Biblioteket for ting", kind=OrganizationKind.LIBRARY_OF_THINGS
    )
    response = await client.get(f"/v1/organizations/{org.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(org.id)
    assert body["name"] == "Biblioteket for ting"
    assert body["sector"] == "civil_society"
    assert str(owner.person_id) not in response.text


async def test_unknown_organization_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/organizations/{uuid.uuid4()}")
    assert_problem(response, 404, "organization_not_found")


async def test_malformed_organization_id_is_422(client: httpx.AsyncClient) -> None:
    assert error_fields(await client.get("/v1/organizations/not-a-uuid")) == ["organization_id"]


# --- updates ---------------------------------------------------------------------------


async def _patch(
    client: httpx.AsyncClient, org_id: uuid.UUID, headers: dict[str, str], **fields: Any
) -> httpx.Response:
    return await client.patch(f"/v1/organizations/{org_id}", json=fields, headers=headers)


async def test_admin_updates_only_the_fields_sent(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, clock: datetime
) -> None:
    team = await create_team(session, settings)
    await _patch(
        client, team.org_id, team.owner.headers, description="Gammel", website="https://a.no"
    )
    response = await _patch(
        client,
        team.org_id,
        team.admin.headers,
        name="Fiksehuset Oslo",
        contact_phone="22 33 44 55",
        website=None,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Fiksehuset Oslo"
    assert body["contact_phone"] == "22 33 44 55"
    assert body["website"] is None
    assert body["description"] == "Gammel"
    assert body["kind"] == "repair_shop"
    row = (
        await session.execute(
            select(Organization.name, Organization.website, Organization.updated_at).where(
                Organization.id == team.org_id
            )
        )
    ).one()
    assert (row.name, row.website, row.updated_at) == ("Fiksehuset Oslo", None, clock)


async def test_owner_moves_the_organization_to_another_kommune(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await _patch(client, team.org_id, team.owner.headers, kommunenummer="5001")
    assert response.status_code == 200, response.text
    assert response.json()["kommunenummer"] == "5001"


async def test_empty_update_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _patch(client, team.org_id, team.admin.headers)
    assert response.status_code == 200
    assert response.json()["name"] == "Fiksehuset"
    assert await snapshot(session, team.org_id) == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"description": "x" * 2001}, "description"),
        ({"website": "http://" + "x" * 300 + ".no"}, "website"),
        ({"kind": "company"}, "kind"),
        ({"organisasjonsnummer": "974760673"}, "organisasjonsnummer"),
        ({"verified_at": "2026-01-01T00:00:00Z"}, "verified_at"),
    ],
)
async def test_bad_updates_are_422(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    fields: dict[str, Any],
    field: str,
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    assert error_fields(await _patch(client, team.org_id, team.owner.headers, **fields)) == [field]
    assert await snapshot(session, team.org_id) == before


async def test_update_to_unknown_kommune_is_422_unknown_kommune(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await _patch(client, team.org_id, team.owner.headers, kommunenummer="9999")
    assert_problem(response, 422, "unknown_kommune")


async def test_unverified_municipality_may_change_kommune_but_not_drop_it(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(
        session, settings, name="Trondheim kommune", kind=OrganizationKind.MUNICIPALITY
    )
    response = await _patch(client, team.org_id, team.owner.headers, kommunenummer="5001")
    assert response.status_code == 200, response.text
    response = await _patch(client, team.org_id, team.owner.headers, kommunenummer=None)
    body = assert_problem(response, 422, "invalid_input")
    assert [e["field"] for e in body["errors"]] == ["kommunenummer"]


async def test_verified_municipality_cannot_change_kommune(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(
        session, settings, name="Oslo kommune", kind=OrganizationKind.MUNICIPALITY
    )
    verify = await client.post(
        f"/v1/organizations/{team.org_id}/verify", headers=team.moderator.headers
    )
    assert verify.status_code == 200
    before = await snapshot(session, team.org_id)
    response = await _patch(client, team.org_id, team.owner.headers, kommunenummer="5001")
    body = assert_problem(response, 409, "conflict")
    assert "0301" in body["detail"]
    assert await snapshot(session, team.org_id) == before
    # Other fields, and the same kommune, are fine.
    response = await _patch(
        client, team.org_id, team.owner.headers, kommunenummer="0301", description="Velkommen"
    )
    assert response.status_code == 200, response.text


async def test_update_of_unknown_organization_is_404(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await _patch(client, uuid.uuid4(), actor.headers, name="Ny")
    assert_problem(response, 404, "organization_not_found")


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("stranger", "not_a_member"),
        ("member", "insufficient_role"),
        ("key_without_write", "insufficient_scope"),
        ("key_of_other_org", "wrong_organization"),
    ],
)
async def test_update_by_the_wrong_caller_is_403_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, code: str
) -> None:
    team = await create_team(session, settings)
    headers = getattr(team, caller)
    headers = headers.headers if isinstance(headers, Actor) else headers
    before = await snapshot(session, team.org_id)
    assert_problem(await _patch(client, team.org_id, headers, name="Kapret"), 403, code)
    assert await snapshot(session, team.org_id) == before


async def test_update_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    assert_problem(await _patch(client, team.org_id, {}, name="Kapret"), 401, "unauthorized")
    assert await snapshot(session, team.org_id) == before


async def test_update_with_an_organization_write_key(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await _patch(client, team.org_id, team.key_all_scopes, description="Fra kassa")
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "Fra kassa"


# --- verification ----------------------------------------------------------------------


async def _verify(
    client: httpx.AsyncClient, org_id: uuid.UUID, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(f"/v1/organizations/{org_id}/verify", headers=headers)


async def test_moderator_verifies_an_organization(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, clock: datetime
) -> None:
    team = await create_team(session, settings)
    response = await _verify(client, team.org_id, team.moderator.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True
    assert datetime.fromisoformat(body["verified_at"]) == clock
    row = (
        await session.execute(
            select(Organization.verified_at, Organization.verified_by).where(
                Organization.id == team.org_id
            )
        )
    ).one()
    assert tuple(row) == (clock, team.moderator.person_id)
    listed = (await client.get("/v1/organizations", params={"q": "Fiksehuset"})).json()
    assert listed["items"][0]["verified"] is True


async def test_verifying_twice_keeps_the_first_verification(
    client: httpx.AsyncClient, app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    app.dependency_overrides[utcnow] = lambda: NOW
    assert (await _verify(client, team.org_id, team.moderator.headers)).status_code == 200
    second_moderator = await create_person(session, settings, roles=[PlatformRole.MODERATOR.value])
    app.dependency_overrides[utcnow] = lambda: datetime(2027, 1, 1, tzinfo=UTC)
    response = await _verify(client, team.org_id, second_moderator.headers)
    app.dependency_overrides.pop(utcnow)
    assert response.status_code == 200
    assert datetime.fromisoformat(response.json()["verified_at"]) == NOW
    verified_by = (
        await session.execute(
            select(Organization.verified_by).where(Organization.id == team.org_id)
        )
    ).scalar_one()
    assert verified_by == team.moderator.person_id


async def test_second_verified_municipality_in_a_kommune_is_409_municipality_taken(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(
        session, settings, name="Oslo kommune", kind=OrganizationKind.MUNICIPALITY
    )
    impostor = await create_organization(
        session,
        owner=team.stranger,
        name="Oslo kommune (ekte!)",
        kind=OrganizationKind.MUNICIPALITY,
        kommunenummer="0301",
    )
    assert (await _verify(client, team.org_id, team.moderator.headers)).status_code == 200
    response = await _verify(client, impostor.id, team.moderator.headers)
    body = assert_problem(response, 409, "municipality_taken")
    assert "0301" in body["detail"]
    verified_at = (
        await session.execute(
            select(Organization.verified_at).where(Organization.id == impostor.id)
        )
    ).scalar_one()
    assert verified_at is None


async def test_municipalities_of_different_kommuner_are_both_verified(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(
        session, settings, name="Oslo kommune", kind=OrganizationKind.MUNICIPALITY
    )
    trondheim = await create_organization(
        session,
        owner=team.stranger,
        name="Trondheim kommune",
        kind=OrganizationKind.MUNICIPALITY,
        kommunenummer="5001",
    )
    assert (await _verify(client, team.org_id, team.moderator.headers)).status_code == 200
    assert (await _verify(client, trondheim.id, team.moderator.headers)).status_code == 200


async def test_other_kinds_in_one_kommune_are_all_verified(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings, kind=OrganizationKind.PUBLIC_AGENCY)
    second = await create_organization(
        session, owner=team.stranger, kind=OrganizationKind.PUBLIC_AGENCY, kommunenummer="0301"
    )
    assert (await _verify(client, team.org_id, team.moderator.headers)).status_code == 200
    assert (await _verify(client, second.id, team.moderator.headers)).status_code == 200


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("stranger", "role_required"),
        ("owner", "role_required"),
        ("key_all_scopes", "person_required"),
        ("key_of_other_org", "person_required"),
    ],
)
async def test_verify_by_a_non_moderator_is_403_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, code: str
) -> None:
    team = await create_team(session, settings)
    headers = getattr(team, caller)
    headers = headers.headers if isinstance(headers, Actor) else headers
    before = await snapshot(session, team.org_id)
    assert_problem(await _verify(client, team.org_id, headers), 403, code)
    assert await snapshot(session, team.org_id) == before


async def test_verify_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    assert_problem(await _verify(client, team.org_id, {}), 401, "unauthorized")
    assert await snapshot(session, team.org_id) == before


async def test_verify_unknown_organization_is_404(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    moderator = await create_person(session, settings, roles=[PlatformRole.MODERATOR.value])
    response = await _verify(client, uuid.uuid4(), moderator.headers)
    assert_problem(response, 404, "organization_not_found")


async def test_openapi_documents_the_organization_routes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    patch = schema["paths"]["/v1/organizations/{organization_id}"]["patch"]
    assert patch["tags"] == ["organizations"]
    documented = patch["responses"]["403"]["content"]["application/problem+json"]["examples"]
    assert {"not_a_member", "insufficient_role", "insufficient_scope", "wrong_organization"} <= set(
        documented
    )
    assert "organizations" in [t["name"] for t in schema["tags"]]
