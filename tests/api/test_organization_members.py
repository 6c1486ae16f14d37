"""/v1/organizations/{id}/members: listing, adding, changing roles, removing and leaving,
and the rule that an organization always keeps an owner."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.errors import AppError, LastOwnerError
from app.models import Membership, Organization, Person
from app.models.organization import MemberRole
from app.repositories.organization import OrganizationRepository
from app.services import organization as service
from app.services.policy import Principal
from tests.api.test_organizations import Team, create_team, snapshot
from tests.factories import Actor, create_organization, create_person
from tests.problems import assert_problem


def _headers(team: Team, caller: str) -> dict[str, str]:
    value = getattr(team, caller)
    return value.headers if isinstance(value, Actor) else dict(value)


async def _roles(session: AsyncSession, org_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = (
        await session.execute(
            select(Membership.person_id, Membership.role).where(
                Membership.organization_id == org_id
            )
        )
    ).all()
    return {r.person_id: r.role for r in rows}


def _members_url(team: Team, person_id: uuid.UUID | None = None) -> str:
    base = f"/v1/organizations/{team.org_id}/members"
    return base if person_id is None else f"{base}/{person_id}"


async def _add(
    client: httpx.AsyncClient, team: Team, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return await client.post(_members_url(team), json=body, headers=headers)


async def _set_role(
    client: httpx.AsyncClient,
    team: Team,
    headers: dict[str, str],
    person_id: uuid.UUID,
    role: str,
) -> httpx.Response:
    return await client.patch(_members_url(team, person_id), json={"role": role}, headers=headers)


async def _remove(
    client: httpx.AsyncClient, team: Team, headers: dict[str, str], person_id: uuid.UUID
) -> httpx.Response:
    return await client.delete(_members_url(team, person_id), headers=headers)


# --- listing ---------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["owner", "admin", "member"])
async def test_members_see_each_other_owners_first_without_emails(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str
) -> None:
    team = await create_team(session, settings)
    response = await client.get(_members_url(team), headers=_headers(team, caller))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert [(m["display_name"], m["role"]) for m in body["items"]] == [
        ("Olga Owner", "owner"),
        ("Ada Admin", "admin"),
        ("Mats Member", "member"),
    ]
    assert set(body["items"][0]) == {"person_id", "display_name", "role", "joined_at"}
    assert body["items"][0]["person_id"] == str(team.owner.person_id)
    for actor in (team.owner, team.admin, team.member):
        assert actor.email not in response.text
    assert "@" not in response.text


async def test_members_page_through_every_role_without_gaps(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    extra = [await create_person(session, settings) for _ in range(4)]
    for n, actor in enumerate(extra):
        role = MemberRole.OWNER if n == 0 else MemberRole.MEMBER
        session.add(
            Membership(organization_id=team.org_id, person_id=actor.person_id, role=role.value)
        )
    await session.flush()
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(_members_url(team), params=params, headers=team.admin.headers)
        body = response.json()
        seen += [(m["role"], m["person_id"]) for m in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7
    assert len(set(seen)) == 7
    assert [role for role, _ in seen] == ["owner"] * 2 + ["admin"] + ["member"] * 4


async def test_members_list_with_a_foreign_cursor_is_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await client.get(
        _members_url(team), params={"cursor": "bm9wZQ"}, headers=team.member.headers
    )
    assert_problem(response, 422, "invalid_cursor")


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("stranger", "not_a_member"),
        ("key_all_scopes", "person_required"),
        ("key_of_other_org", "person_required"),
    ],
)
async def test_members_list_is_403_for_outsiders_and_keys(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, code: str
) -> None:
    team = await create_team(session, settings)
    assert_problem(await client.get(_members_url(team), headers=_headers(team, caller)), 403, code)


async def test_members_list_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    assert_problem(await client.get(_members_url(team)), 401, "unauthorized")


async def test_members_of_unknown_organization_is_404(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await client.get(f"/v1/organizations/{uuid.uuid4()}/members", headers=actor.headers)
    assert_problem(response, 404, "organization_not_found")


# --- adding ----------------------------------------------------------------------------


async def test_admin_adds_a_person_by_normalised_email(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    newcomer = await create_person(
        session, settings, email="kari.nordmann@example.no", display_name="Kari"
    )
    response = await _add(client, team, team.admin.headers, email="  Kari.Nordmann@EXAMPLE.no ")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["person_id"] == str(newcomer.person_id)
    assert body["display_name"] == "Kari"
    assert body["role"] == "member"
    assert "email" not in body
    assert (await _roles(session, team.org_id))[newcomer.person_id] == "member"


@pytest.mark.parametrize(("caller", "role"), [("admin", "admin"), ("owner", "owner")])
async def test_adding_with_a_role_the_caller_may_grant(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, role: str
) -> None:
    team = await create_team(session, settings)
    newcomer = await create_person(session, settings)
    response = await _add(client, team, _headers(team, caller), email=newcomer.email, role=role)
    assert response.status_code == 201, response.text
    assert (await _roles(session, team.org_id))[newcomer.person_id] == role


async def test_admin_cannot_add_an_owner(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    newcomer = await create_person(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _add(client, team, team.admin.headers, email=newcomer.email, role="owner")
    assert_problem(response, 403, "insufficient_role")
    assert await snapshot(session, team.org_id) == before


async def test_adding_an_unknown_email_is_404_person_not_found(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _add(client, team, team.admin.headers, email="ingen@example.no")
    assert_problem(response, 404, "person_not_found")
    assert await snapshot(session, team.org_id) == before


async def test_adding_an_erased_person_is_404_person_not_found(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    gone = await create_person(session, settings)
    await session.execute(
        update(Person)
        .where(Person.id == gone.person_id)
        .values(email=None, display_name=None, password_hash=None, erased_at=datetime.now(UTC))
    )
    response = await _add(client, team, team.admin.headers, email=gone.email)
    assert_problem(response, 404, "person_not_found")


async def test_adding_a_member_again_is_409_already_member(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _add(client, team, team.owner.headers, email=team.member.email, role="admin")
    assert_problem(response, 409, "already_member")
    assert await snapshot(session, team.org_id) == before


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-address"},
        {"email": "a@b.no", "role": "boss"},
        {"email": "a" * 320 + "@b.no"},
        {"email": "a@b.no", "display_name": "Snik"},
        {"role": "member"},
    ],
)
async def test_bad_member_bodies_are_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, body: dict[str, str]
) -> None:
    team = await create_team(session, settings)
    response = await client.post(_members_url(team), json=body, headers=team.owner.headers)
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
async def test_adding_by_the_wrong_caller_is_403_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, code: str
) -> None:
    team = await create_team(session, settings)
    newcomer = await create_person(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _add(client, team, _headers(team, caller), email=newcomer.email)
    assert_problem(response, 403, code)
    assert await snapshot(session, team.org_id) == before


async def test_adding_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    newcomer = await create_person(session, settings)
    before = await snapshot(session, team.org_id)
    assert_problem(await _add(client, team, {}, email=newcomer.email), 401, "unauthorized")
    assert await snapshot(session, team.org_id) == before


async def test_adding_to_unknown_organization_is_404(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await client.post(
        f"/v1/organizations/{uuid.uuid4()}/members",
        json={"email": actor.email},
        headers=actor.headers,
    )
    assert_problem(response, 404, "organization_not_found")


# --- changing roles --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "role"), [("member", "admin"), ("admin", "member"), ("admin", "admin")]
)
async def test_admin_changes_roles_below_owner(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, target: str, role: str
) -> None:
    team = await create_team(session, settings)
    person_id = getattr(team, target).person_id
    response = await _set_role(client, team, team.admin.headers, person_id, role)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == role
    assert (await _roles(session, team.org_id))[person_id] == role


@pytest.mark.parametrize(("target", "role"), [("member", "owner"), ("owner", "admin")])
async def test_only_an_owner_grants_or_takes_away_ownership(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, target: str, role: str
) -> None:
    team = await create_team(session, settings)
    # A second owner, so that demoting the first one is not blocked by the last-owner rule.
    await _set_role(client, team, team.owner.headers, team.admin.person_id, "owner")
    second = await create_person(session, settings)
    await _add(client, team, team.owner.headers, email=second.email, role="admin")
    person_id = getattr(team, target).person_id
    before = await snapshot(session, team.org_id)
    response = await _set_role(client, team, second.headers, person_id, role)
    assert_problem(response, 403, "insufficient_role")
    assert await snapshot(session, team.org_id) == before
    response = await _set_role(client, team, team.admin.headers, person_id, role)
    assert response.status_code == 200, response.text
    assert (await _roles(session, team.org_id))[person_id] == role


async def test_owner_hands_over_ownership_and_steps_down(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    promote = await _set_role(client, team, team.owner.headers, team.admin.person_id, "owner")
    assert promote.status_code == 200
    step_down = await _set_role(client, team, team.owner.headers, team.owner.person_id, "member")
    assert step_down.status_code == 200, step_down.text
    roles = await _roles(session, team.org_id)
    assert roles[team.admin.person_id] == "owner"
    assert roles[team.owner.person_id] == "member"


async def test_last_owner_cannot_be_demoted(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _set_role(client, team, team.owner.headers, team.owner.person_id, "admin")
    assert_problem(response, 409, "last_owner")
    assert await snapshot(session, team.org_id) == before


async def test_changing_role_of_a_non_member_is_404_member_not_found(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await _set_role(client, team, team.admin.headers, team.stranger.person_id, "admin")
    assert_problem(response, 404, "member_not_found")


@pytest.mark.parametrize("body", [{"role": "boss"}, {}, {"role": "admin", "title": "Sjef"}])
async def test_bad_role_bodies_are_422(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, body: dict[str, str]
) -> None:
    team = await create_team(session, settings)
    response = await client.patch(
        _members_url(team, team.member.person_id), json=body, headers=team.owner.headers
    )
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
async def test_changing_roles_by_the_wrong_caller_is_403_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, code: str
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _set_role(client, team, _headers(team, caller), team.member.person_id, "admin")
    assert_problem(response, 403, code)
    assert await snapshot(session, team.org_id) == before


async def test_member_cannot_promote_themselves(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await _set_role(client, team, team.member.headers, team.member.person_id, "owner")
    assert_problem(response, 403, "insufficient_role")


async def test_changing_roles_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _set_role(client, team, {}, team.member.person_id, "admin")
    assert_problem(response, 401, "unauthorized")
    assert await snapshot(session, team.org_id) == before


# --- removing and leaving --------------------------------------------------------------


@pytest.mark.parametrize(("caller", "target"), [("admin", "member"), ("owner", "admin")])
async def test_admins_and_owners_remove_members(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, target: str
) -> None:
    team = await create_team(session, settings)
    person_id = getattr(team, target).person_id
    response = await _remove(client, team, _headers(team, caller), person_id)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert person_id not in await _roles(session, team.org_id)


async def test_admin_removes_another_admin(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    await _set_role(client, team, team.owner.headers, team.member.person_id, "admin")
    response = await _remove(client, team, team.admin.headers, team.member.person_id)
    assert response.status_code == 204
    assert team.member.person_id not in await _roles(session, team.org_id)


@pytest.mark.parametrize("caller", ["member", "admin"])
async def test_anyone_may_leave(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str
) -> None:
    team = await create_team(session, settings)
    actor: Actor = getattr(team, caller)
    response = await _remove(client, team, actor.headers, actor.person_id)
    assert response.status_code == 204
    assert actor.person_id not in await _roles(session, team.org_id)


async def test_an_owner_may_leave_when_another_owner_stays(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    await _set_role(client, team, team.owner.headers, team.admin.person_id, "owner")
    response = await _remove(client, team, team.owner.headers, team.owner.person_id)
    assert response.status_code == 204
    assert await _roles(session, team.org_id) == {
        team.admin.person_id: "owner",
        team.member.person_id: "member",
    }


async def test_an_owner_removes_another_owner(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    await _set_role(client, team, team.owner.headers, team.admin.person_id, "owner")
    response = await _remove(client, team, team.admin.headers, team.owner.person_id)
    assert response.status_code == 204
    assert team.owner.person_id not in await _roles(session, team.org_id)


async def test_last_owner_cannot_leave(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _remove(client, team, team.owner.headers, team.owner.person_id)
    body = assert_problem(response, 409, "last_owner")
    assert "owner" in body["detail"]
    assert await snapshot(session, team.org_id) == before


async def test_admin_cannot_remove_an_owner(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    response = await _remove(client, team, team.admin.headers, team.owner.person_id)
    assert_problem(response, 403, "insufficient_role")
    assert await snapshot(session, team.org_id) == before


async def test_removing_a_non_member_is_404_member_not_found(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await _remove(client, team, team.admin.headers, team.stranger.person_id)
    assert_problem(response, 404, "member_not_found")


async def test_a_stranger_cannot_leave_what_they_never_joined(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    response = await _remove(client, team, team.stranger.headers, team.stranger.person_id)
    assert_problem(response, 403, "not_a_member")


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("stranger", "not_a_member"),
        ("member", "insufficient_role"),
        ("key_all_scopes", "person_required"),
        ("key_of_other_org", "person_required"),
    ],
)
async def test_removing_by_the_wrong_caller_is_403_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, caller: str, code: str
) -> None:
    team = await create_team(session, settings)
    colleague = await create_person(session, settings)
    session.add(
        Membership(organization_id=team.org_id, person_id=colleague.person_id, role="member")
    )
    await session.flush()
    before = await snapshot(session, team.org_id)
    response = await _remove(client, team, _headers(team, caller), colleague.person_id)
    assert_problem(response, 403, code)
    assert await snapshot(session, team.org_id) == before


async def test_removing_without_credentials_is_401(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    team = await create_team(session, settings)
    before = await snapshot(session, team.org_id)
    assert_problem(await _remove(client, team, {}, team.member.person_id), 401, "unauthorized")
    assert await snapshot(session, team.org_id) == before


async def test_removing_from_unknown_organization_is_404(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await client.delete(
        f"/v1/organizations/{uuid.uuid4()}/members/{actor.person_id}", headers=actor.headers
    )
    assert_problem(response, 404, "organization_not_found")


# --- the database's own guard, and races -----------------------------------------------


async def test_repository_translates_the_trigger_when_the_last_owner_is_demoted(
    session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner)
    repo = OrganizationRepository(session)
    with pytest.raises(LastOwnerError):
        await repo.set_member_role(org.id, person_id=owner.person_id, role=MemberRole.ADMIN)
    # The savepoint absorbed the violation: the transaction goes on.
    assert await repo.member_role(org.id, owner.person_id) == MemberRole.OWNER


async def test_repository_translates_the_trigger_when_the_last_owner_is_removed(
    session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    org = await create_organization(session, owner=owner)
    repo = OrganizationRepository(session)
    with pytest.raises(LastOwnerError):
        await repo.remove_member(org.id, person_id=owner.person_id)
    assert await repo.member_role(org.id, owner.person_id) == MemberRole.OWNER


async def test_two_owners_leaving_at_once_leave_one_owner(
    committed_engine: AsyncEngine, settings: Settings
) -> None:
    """Real parallel transactions: the organization's row lock serialises them, and the
    second sees that it is now the last owner."""
    sessionmaker = async_sessionmaker(committed_engine, expire_on_commit=False)
    async with sessionmaker() as setup:
        first = await create_person(setup, settings)
        second = await create_person(setup, settings)
        org = await create_organization(
            setup, owner=first, members={second.person_id: MemberRole.OWNER}
        )
        await setup.commit()
    try:

        async def leave(actor: Actor) -> str:
            async with sessionmaker() as s:
                try:
                    await service.remove_member(
                        s,
                        principal=Principal(person_id=actor.person_id),
                        organization_id=org.id,
                        person_id=actor.person_id,
                    )
                    # Hold the lock a moment, so that the other transaction must wait for it.
                    await asyncio.sleep(0.2)
                    await s.commit()
                    return "left"
                except AppError as exc:
                    await s.rollback()
                    return exc.code

        outcomes = await asyncio.gather(leave(first), leave(second))
        assert sorted(outcomes) == ["last_owner", "left"]
        async with sessionmaker() as check:
            owners = (
                await check.execute(
                    select(Membership.person_id).where(
                        Membership.organization_id == org.id, Membership.role == "owner"
                    )
                )
            ).all()
            assert len(owners) == 1
    finally:
        async with sessionmaker() as cleanup:
            await cleanup.execute(delete(Organization).where(Organization.id == org.id))
            await cleanup.execute(
                delete(Person).where(Person.id.in_([first.person_id, second.person_id]))
            )
            await cleanup.commit()
