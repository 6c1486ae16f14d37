"""/v1/organizations/{id}/api-keys: a key is shown once, stored as a hash, listed without
secrets, authenticates within its scopes and stops at once when revoked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import utcnow
from app.config import Settings
from app.models import ApiKey
from app.models.organization import ApiKeyScope
from app.security import sha256_hex
from tests.api.test_organizations import NOW, Team, create_team, snapshot
from tests.factories import Actor, create_api_key, create_person
from tests.problems import assert_problem


def _headers(team: Team, caller: str) -> dict[str, str]:
    value = getattr(team, caller)
    return value.headers if isinstance(value, Actor) else dict(value)


def _keys_url(org_id: uuid.UUID, key_id: uuid.UUID | str | None = None) -> str:
    base = f"/v1/organizations/{org_id}/api-keys"
    return base if key_id is None else f"{base}/{key_id}"


async def _create(
    client: httpx.AsyncClient, org_id: uuid.UUID, headers: dict[str, str], **body: Any
) -> httpx.Response:
    payload = {"name": "Kassasystem", "scopes": ["organization:write"], **body}
    return await client.post(_keys_url(org_id), json=payload, headers=headers)


@pytest.fixture
def frozen_clock(app: FastAPI) -> datetime:
    app.dependency_overrides[utcnow] = lambda: NOW
    return NOW


# --- creating --------------------------------------------------------------------------


async def test_admin_creates_a_key_that_is_shown_once_and_stored_as_a_hash(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await _create(
        client,
        team.org_id,
        team.admin.headers,
        name="  Kassasystem ",
        scopes=["listings:write", "transactions:write"],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    key = body["key"]
    assert key.startswith("sk_")
    assert len(key) > 40
    assert body["prefix"] == key[:11]
    assert body["name"] == "Kassasystem"
    assert body["scopes"] == ["listings:write", "transactions:write"]
    assert set(body) == {"id", "name", "prefix", "scopes", "created_at", "key"}
    row = (
        await session.execute(select(ApiKey).where(ApiKey.id == uuid.UUID(body["id"])))
    ).scalar_one()
    assert row.key_hash == sha256_hex(key)
    assert row.created_by == team.admin.person_id
    assert row.organization_id == team.org_id
    assert row.revoked_at is None
    assert key not in (row.name, row.prefix, row.key_hash)


async def test_two_keys_never_share_a_secret(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    first = (await _create(client, team.org_id, team.owner.headers)).json()
    second = (await _create(client, team.org_id, team.owner.headers)).json()
    assert first["key"] != second["key"]
    assert first["id"] != second["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["listings:write", "listings:write"]}, "scopes"),
        ({"scopes": ["admin:everything"]}, "scopes.0"),
        ({"scopes": "listings:write"}, "scopes"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"key_hash": "0" * 64}, "key_hash"),
        ({"organization_id": "00000000-0000-4000-8000-000000000000"}, "organization_id"),
    ],
)
async def test_bad_key_requests_are_422(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    body: dict[str, Any],
    field: str,
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _create(client, team.org_id, team.owner.headers, **body)
    problem = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert await snapshot(session, team.org_id) == before


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("stranger", "not_a_member"),
        ("member", "insufficient_role"),
        ("key_all_scopes", "person_required"),
        ("key_of_other_org", "person_required"),
    ],
)
async def test_creating_by_the_wrong_caller_is_403_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, code: str
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    assert_problem(await _create(client, team.org_id, _headers(team, caller)), 403, code)
    assert await snapshot(session, team.org_id) == before


async def test_creating_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    assert_problem(await _create(client, team.org_id, {}), 401, "unauthorized")
    assert await snapshot(session, team.org_id) == before


async def test_creating_for_unknown_organization_is_404(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await _create(client, uuid.uuid4(), actor.headers)
    assert_problem(response, 404, "organization_not_found")


# --- using -----------------------------------------------------------------------------


async def test_a_new_key_with_organization_write_updates_the_organization(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, frozen_clock: datetime
) -> None:
    team = await create_team(session, settings)
    created = (await _create(client, team.org_id, team.owner.headers)).json()
    response = await client.patch(
        f"/v1/organizations/{team.org_id}",
        json={"description": "Oppdatert av kassa"},
        headers={"X-API-Key": created["key"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "Oppdatert av kassa"
    last_used = (
        await session.execute(
            select(ApiKey.last_used_at).where(ApiKey.id == uuid.UUID(created["id"]))
        )
    ).scalar_one()
    assert last_used == frozen_clock


async def test_a_key_without_the_scope_cannot_update(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    created = (
        await _create(client, team.org_id, team.owner.headers, scopes=["impact:read"])
    ).json()
    before = await snapshot(session, team.org_id)
    response = await client.patch(
        f"/v1/organizations/{team.org_id}",
        json={"description": "Nei"},
        headers={"X-API-Key": created["key"]},
    )
    assert_problem(response, 403, "insufficient_scope")
    assert await snapshot(session, team.org_id) == before


# --- listing ---------------------------------------------------------------------------


async def test_listing_shows_every_key_without_secrets(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, frozen_clock: datetime
) -> None:
    team = await create_team(session, settings)
    created = (await _create(client, team.org_id, team.owner.headers, name="Nettbutikk")).json()
    revoked = (await _create(client, team.org_id, team.owner.headers, name="Gammel")).json()
    await client.delete(_keys_url(team.org_id, revoked["id"]), headers=team.owner.headers)

    response = await client.get(
        _keys_url(team.org_id), params={"limit": 100}, headers=team.admin.headers
    )
    assert response.status_code == 200, response.text
    items = {item["id"]: item for item in response.json()["items"]}
    # create_team made two keys as well.
    assert len(items) == 4
    assert set(items[created["id"]]) == {
        "id",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    assert items[created["id"]]["prefix"] == created["prefix"]
    assert items[created["id"]]["revoked_at"] is None
    assert datetime.fromisoformat(items[revoked["id"]]["revoked_at"]) == frozen_clock
    assert created["key"] not in response.text
    assert revoked["key"] not in response.text
    assert sha256_hex(created["key"]) not in response.text


async def test_listing_shows_when_a_key_was_last_used(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, frozen_clock: datetime
) -> None:
    team = await create_team(session, settings)
    created = (await _create(client, team.org_id, team.owner.headers)).json()
    used_by_key = await client.patch(
        f"/v1/organizations/{team.org_id}", json={}, headers={"X-API-Key": created["key"]}
    )
    assert used_by_key.status_code == 200
    items = (await client.get(_keys_url(team.org_id), headers=team.owner.headers)).json()["items"]
    used = next(i for i in items if i["id"] == created["id"])
    assert datetime.fromisoformat(used["last_used_at"]) == frozen_clock


async def test_listing_pages_oldest_first(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    team = await create_team(session, settings)
    for n in range(3):
        await create_api_key(
            session,
            organization_id=team.org_id,
            scopes=[ApiKeyScope.IMPACT_READ],
            created_by=owner.person_id,
            name=f"key {n}",
        )
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (
            await client.get(_keys_url(team.org_id), params=params, headers=team.owner.headers)
        ).json()
        seen += [k["id"] for k in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    stored = (
        await session.execute(
            select(ApiKey.id)
            .where(ApiKey.organization_id == team.org_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        )
    ).scalars()
    assert seen == [str(i) for i in stored]
    assert len(seen) == 5


async def test_listing_with_a_foreign_cursor_is_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await client.get(
        _keys_url(team.org_id), params={"cursor": "bm9wZQ"}, headers=team.owner.headers
    )
    assert_problem(response, 422, "invalid_cursor")


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("stranger", "not_a_member"),
        ("member", "insufficient_role"),
        ("key_all_scopes", "person_required"),
        ("key_of_other_org", "person_required"),
    ],
)
async def test_listing_by_the_wrong_caller_is_403(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, code: str
) -> None:
    team = await create_team(session, settings)
    response = await client.get(_keys_url(team.org_id), headers=_headers(team, caller))
    assert_problem(response, 403, code)


async def test_listing_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    assert_problem(await client.get(_keys_url(team.org_id)), 401, "unauthorized")


# --- revoking --------------------------------------------------------------------------


async def test_revoked_key_is_401_invalid_api_key_at_once(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, frozen_clock: datetime
) -> None:
    team = await create_team(session, settings)
    created = (await _create(client, team.org_id, team.owner.headers)).json()
    key_headers = {"X-API-Key": created["key"]}
    patch_url = f"/v1/organizations/{team.org_id}"
    assert (await client.patch(patch_url, json={}, headers=key_headers)).status_code == 200

    response = await client.delete(
        _keys_url(team.org_id, created["id"]), headers=team.admin.headers
    )
    assert response.status_code == 204
    assert response.content == b""
    revoked_at = (
        await session.execute(
            select(ApiKey.revoked_at).where(ApiKey.id == uuid.UUID(created["id"]))
        )
    ).scalar_one()
    assert revoked_at == frozen_clock

    response = await client.patch(patch_url, json={"name": "Etter"}, headers=key_headers)
    assert_problem(response, 401, "invalid_api_key")
    # Before any authorization: a route keys may not use at all answers 401 too.
    response = await client.get(_keys_url(team.org_id), headers=key_headers)
    assert_problem(response, 401, "invalid_api_key")


async def test_revoking_twice_keeps_the_first_time(
    client: httpx.AsyncClient, app: FastAPI, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    created = (await _create(client, team.org_id, team.owner.headers)).json()
    url = _keys_url(team.org_id, created["id"])
    app.dependency_overrides[utcnow] = lambda: NOW
    assert (await client.delete(url, headers=team.owner.headers)).status_code == 204
    app.dependency_overrides[utcnow] = lambda: datetime(2027, 1, 1, tzinfo=UTC)
    assert (await client.delete(url, headers=team.owner.headers)).status_code == 204
    revoked_at = (
        await session.execute(
            select(ApiKey.revoked_at).where(ApiKey.id == uuid.UUID(created["id"]))
        )
    ).scalar_one()
    assert revoked_at == NOW


async def test_revoking_another_organizations_key_is_404_api_key_not_found(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    theirs = (await _create(client, team.other_org_id, team.stranger.headers)).json()
    before = await snapshot(session, team.other_org_id)
    # The owner of one organization names the other organization's key under their own.
    response = await client.delete(_keys_url(team.org_id, theirs["id"]), headers=team.owner.headers)
    assert_problem(response, 404, "api_key_not_found")
    assert await snapshot(session, team.other_org_id) == before
    patch = await client.patch(
        f"/v1/organizations/{team.other_org_id}",
        json={"description": "Fortsatt i bruk"},
        headers={"X-API-Key": theirs["key"]},
    )
    assert patch.status_code == 200


async def test_revoking_an_unknown_key_is_404_api_key_not_found(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await client.delete(_keys_url(team.org_id, uuid.uuid4()), headers=team.owner.headers)
    assert_problem(response, 404, "api_key_not_found")


async def test_revoking_with_a_malformed_key_id_is_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await client.delete(_keys_url(team.org_id, "nope"), headers=team.owner.headers)
    assert_problem(response, 422, "validation_failed")


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("stranger", "not_a_member"),
        ("member", "insufficient_role"),
        ("key_all_scopes", "person_required"),
        ("key_of_other_org", "person_required"),
    ],
)
async def test_revoking_by_the_wrong_caller_is_403_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, code: str
) -> None:
    team = await create_team(session, settings)
    created = (await _create(client, team.org_id, team.owner.headers)).json()
    before = await snapshot(session, team.org_id)
    response = await client.delete(
        _keys_url(team.org_id, created["id"]), headers=_headers(team, caller)
    )
    assert_problem(response, 403, code)
    assert await snapshot(session, team.org_id) == before


async def test_a_key_cannot_revoke_itself(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    created = (await _create(client, team.org_id, team.owner.headers)).json()
    before = await snapshot(session, team.org_id)
    response = await client.delete(
        _keys_url(team.org_id, created["id"]), headers={"X-API-Key": created["key"]}
    )
    assert_problem(response, 403, "person_required")
    assert await snapshot(session, team.org_id) == before


async def test_revoking_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    created = (await _create(client, team.org_id, team.owner.headers)).json()
    before = await snapshot(session, team.org_id)
    response = await client.delete(_keys_url(team.org_id, created["id"]))
    assert_problem(response, 401, "unauthorized")
    assert await snapshot(session, team.org_id) == before


async def test_revoking_in_unknown_organization_is_404(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await client.delete(_keys_url(uuid.uuid4(), uuid.uuid4()), headers=actor.headers)
    assert_problem(response, 404, "organization_not_found")
