"""/v1/me: the caller, profile updates, personal-data export and erasure."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import AuthSession, Membership, Person
from app.models.organization import ApiKeyScope, MemberRole
from tests.dbscan import tables_containing
from tests.factories import DEFAULT_PASSWORD, create_api_key, create_organization, create_person
from tests.problems import assert_problem


async def test_me_for_a_person_lists_memberships(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings, display_name="Astrid")
    org = await create_organization(session, owner=actor, name="Fiksehuset")
    response = await client.get("/v1/me", headers=actor.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "person"
    assert body["display_name"] == "Astrid"
    assert body["memberships"] == [
        {
            "organization_id": str(org.id),
            "organization_name": "Fiksehuset",
            "kind": "repair_shop",
            "role": "owner",
        }
    ]


async def test_me_for_an_api_key_is_its_organization(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner, name="Gjenbruk AS")
    headers = await create_api_key(
        session, organization_id=org.id, scopes=[ApiKeyScope.IMPACT_READ]
    )
    body = (await client.get("/v1/me", headers=headers)).json()
    assert body["type"] == "api_key"
    assert body["organization_id"] == str(org.id)
    assert body["organization_name"] == "Gjenbruk AS"
    assert body["scopes"] == ["impact:read"]


async def test_me_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/me"), 401, "unauthorized")


async def test_update_me(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings, home_kommune="0301")
    response = await client.patch(
        "/v1/me",
        headers=actor.headers,
        json={"display_name": "  Ny Navn ", "language": "en", "home_kommune": "5001"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["display_name"], body["language"], body["home_kommune"]) == (
        "Ny Navn",
        "en",
        "5001",
    )
    cleared = await client.patch("/v1/me", headers=actor.headers, json={"home_kommune": None})
    assert cleared.json()["home_kommune"] is None
    assert cleared.json()["display_name"] == "Ny Navn"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"home_kommune": "9999"}, 422, "unknown_kommune"),
        ({"email": "new@example.no"}, 422, "validation_failed"),
        ({"roles": ["moderator"]}, 422, "validation_failed"),
        ({"language": "de"}, 422, "validation_failed"),
        ({"display_name": "x" * 101}, 422, "validation_failed"),
    ],
)
async def test_update_me_rejects_bad_input_and_changes_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    actor = await create_person(session, settings, display_name="Uendret")
    assert_problem(await client.patch("/v1/me", headers=actor.headers, json=body), status, code)
    person = await session.get(Person, actor.person_id, populate_existing=True)
    assert person is not None
    assert (person.display_name, person.roles, person.language) == ("Uendret", [], "nb")


async def test_api_keys_cannot_use_person_endpoints(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner)
    headers = await create_api_key(session, organization_id=org.id, scopes=list(ApiKeyScope))
    for method, path in (("PATCH", "/v1/me"), ("GET", "/v1/me/export"), ("DELETE", "/v1/me")):
        kwargs = {"json": {"language": "en"}} if method == "PATCH" else {}
        response = await client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        assert_problem(response, 403, "person_required")


async def test_export_holds_every_piece_of_personal_data(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings, display_name="Siri", home_kommune="1103")
    org = await create_organization(session, owner=actor, name="Delelageret")
    await create_api_key(
        session,
        organization_id=org.id,
        scopes=[ApiKeyScope.LISTINGS_WRITE],
        created_by=actor.person_id,
        name="kassasystem",
    )
    response = await client.get("/v1/me/export", headers=actor.headers)
    assert response.status_code == 200
    export = response.json()
    assert export["profile"]["email"] == actor.email
    assert export["profile"]["display_name"] == "Siri"
    assert export["profile"]["home_kommune"] == "1103"
    assert export["profile"]["memberships"][0]["organization_name"] == "Delelageret"
    assert export["pseudonym"].startswith("p_")
    assert len(export["sessions"]) == 1
    assert export["api_keys_created"][0]["name"] == "kassasystem"
    assert "key_hash" not in response.text
    assert "password" not in response.text


async def test_erasure_leaves_no_email_or_name_anywhere(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(
        session, settings, email="erase.me@example.no", display_name="Gunnhild Slettemark"
    )
    owner = await create_person(session, settings)
    await create_organization(session, owner=owner, members={actor.person_id: MemberRole.ADMIN})
    # A failed login leaves a throttle record for the account.
    failed = await client.post(
        "/v1/auth/token", data={"username": actor.email, "password": "feil feil feil"}
    )
    assert failed.status_code == 401
    assert await tables_containing(session, "erase.me@example.no") == ["persons.email"]

    response = await client.delete("/v1/me", headers=actor.headers)
    assert response.status_code == 204
    assert response.content == b""

    assert await tables_containing(session, "erase.me@example.no") == []
    assert await tables_containing(session, "Gunnhild") == []
    assert await tables_containing(session, "Slettemark") == []
    person = await session.get(Person, actor.person_id, populate_existing=True)
    assert person is not None
    assert person.erased_at is not None
    assert person.pseudonym.startswith("p_")
    assert (
        await session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.person_id == actor.person_id)
        )
        == 0
    )
    open_sessions = await session.scalar(
        select(func.count())
        .select_from(AuthSession)
        .where(AuthSession.person_id == actor.person_id, AuthSession.revoked_at.is_(None))
    )
    assert open_sessions == 0


async def test_erasure_is_idempotent_and_ends_the_account(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    assert (await client.delete("/v1/me", headers=actor.headers)).status_code == 204
    assert (await client.delete("/v1/me", headers=actor.headers)).status_code == 204
    assert_problem(await client.get("/v1/me", headers=actor.headers), 401, "invalid_token")
    login = await client.post(
        "/v1/auth/token", data={"username": actor.email, "password": DEFAULT_PASSWORD}
    )
    assert_problem(login, 401, "invalid_credentials")
    # The address is free again.
    again = await client.post(
        "/v1/auth/register",
        json={"email": actor.email, "password": DEFAULT_PASSWORD, "display_name": "Ny"},
    )
    assert again.status_code == 201


async def test_sole_owner_cannot_erase_before_handing_over(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings, display_name="Eier")
    org = await create_organization(session, owner=actor)
    body = assert_problem(await client.delete("/v1/me", headers=actor.headers), 409, "last_owner")
    assert str(org.id) in str(body["detail"])
    person = await session.get(Person, actor.person_id, populate_existing=True)
    assert person is not None
    assert person.erased_at is None
    assert person.display_name == "Eier"
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 200
