"""Library members (``/v1/organizations/{id}/memberships``) and members-only lending: a person
joins by accepting the terms, the staff change or end memberships, and a listing whose booking
rules say ``members_only`` lends and queues only for members valid through the loan — in the
service and, whatever writes the booking, in the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import LibraryMember, Listing, Organization
from app.models.organization import OrganizationKind
from tests.clock import Clock, frozen
from tests.factories import (
    Actor,
    create_listing,
    create_organization,
    create_person,
    refused_raw_loan,
)
from tests.places import PLACES
from tests.problems import assert_problem

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


@pytest.fixture
async def staff(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def library(session: AsyncSession, staff: Actor) -> Organization:
    return await create_organization(
        session, owner=staff, name="Medlemsbua", kind=OrganizationKind.LIBRARY_OF_THINGS
    )


async def members_only(session: AsyncSession, library: Organization) -> Listing:
    return await create_listing(
        session,
        at=OSLO,
        organization=library,
        mode="lend",
        title="Tilhenger",
        category="power-tools",
        details={"booking": {"members_only": True}},
    )


def path(library: Organization, tail: str = "") -> str:
    return f"/v1/organizations/{library.id}/memberships{tail}"


async def join(client: httpx.AsyncClient, who: Actor, library: Organization) -> httpx.Response:
    return await client.post(path(library), json={"accept_terms": True}, headers=who.headers)


async def book(
    client: httpx.AsyncClient, who: Actor, listing: Listing, days: float
) -> httpx.Response:
    body: dict[str, Any] = {
        "listing_id": str(listing.id),
        "period": {
            "start": (NOW + timedelta(hours=1)).isoformat(),
            "end": (NOW + timedelta(days=days)).isoformat(),
        },
    }
    return await client.post("/v1/transactions", json=body, headers=who.headers)


async def test_a_person_joins_and_the_staff_manage_the_membership(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    kari = await create_person(session, settings)
    joined = await join(client, kari, library)
    assert joined.status_code == 201, joined.text
    assert (joined.json()["valid_until"], joined.json()["valid"]) == ("2027-11-22", True)
    assert_problem(await join(client, kari, library), 409, "already_library_member")
    mine = await client.get(path(library, "/me"), headers=kari.headers)
    assert mine.json()["person_id"] == str(kari.person_id)
    listed = await client.get(path(library), headers=staff.headers)
    assert [m["person_id"] for m in listed.json()["items"]] == [str(kari.person_id)]
    ended = await client.put(
        path(library, f"/{kari.person_id}"),
        json={"valid_until": "2026-11-21"},
        headers=staff.headers,
    )
    assert (ended.json()["valid_until"], ended.json()["valid"]) == ("2026-11-21", False)
    # Joining again after it ran out renews it.
    again = await join(client, kari, library)
    assert (again.status_code, again.json()["valid_until"]) == (201, "2027-11-22")
    assert (
        await client.delete(path(library, f"/{kari.person_id}"), headers=kari.headers)
    ).status_code == 204
    assert_problem(
        await client.get(path(library, "/me"), headers=kari.headers),
        404,
        "library_member_not_found",
    )
    assert_problem(
        await client.delete(path(library, f"/{kari.person_id}"), headers=staff.headers),
        404,
        "library_member_not_found",
    )


async def test_members_only_listings_lend_and_queue_for_valid_members_only(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    listing = await members_only(session, library)
    outsider, member, short = [await create_person(session, settings) for _ in range(3)]
    assert_problem(await book(client, outsider, listing, 3), 403, "members_only")
    assert_problem(
        await client.post(f"/v1/listings/{listing.id}/holds", headers=outsider.headers),
        403,
        "members_only",
    )
    for person in (member, short):
        assert (await join(client, person, library)).status_code == 201
    # A membership that ends before the loan does not cover it.
    await client.put(
        path(library, f"/{short.person_id}"),
        json={"valid_until": (date(2026, 11, 23)).isoformat()},
        headers=staff.headers,
    )
    assert_problem(await book(client, short, listing, 3), 403, "members_only")
    booked = await book(client, member, listing, 3)
    assert booked.status_code == 201, booked.text


async def test_refusals(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    kari, stranger = [await create_person(session, settings) for _ in range(2)]
    shop = await create_organization(session, owner=staff, name="Verkstedet")
    assert_problem(
        await client.post(
            f"/v1/organizations/{shop.id}/memberships",
            json={"accept_terms": True},
            headers=kari.headers,
        ),
        409,
        "not_a_library",
    )
    assert_problem(
        await client.post(path(library), json={"accept_terms": False}, headers=kari.headers),
        422,
        "validation_failed",
    )
    assert_problem(
        await client.post(path(library), json={"accept_terms": True}), 401, "unauthorized"
    )
    await join(client, kari, library)
    assert_problem(await client.get(path(library), headers=stranger.headers), 403, "not_a_member")
    assert_problem(
        await client.delete(path(library, f"/{kari.person_id}"), headers=stranger.headers),
        403,
        "not_a_member",
    )
    assert_problem(
        await client.put(
            path(library, f"/{kari.person_id}"),
            json={"valid_until": "2030-01-01"},
            headers=kari.headers,
        ),
        403,
        "not_a_member",
    )
    assert_problem(
        await client.get(path(library), params={"cursor": "x"}, headers=staff.headers),
        422,
        "invalid_cursor",
    )
    mine = await client.get(path(library, "/me"), headers=kari.headers)
    assert mine.json()["valid_until"] == "2027-11-22"


async def test_the_database_refuses_a_non_members_booking(
    session: AsyncSession, settings: Settings, library: Organization
) -> None:
    listing = await members_only(session, library)
    outsider = await create_person(session, settings)
    refusal = await refused_raw_loan(
        session,
        listing_id=listing.id,
        organization_id=library.id,
        person_id=outsider.person_id,
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=2),
    )
    assert refusal == "transactions_members_only"


async def test_export_lists_memberships_and_erasure_deletes_them(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, library: Organization
) -> None:
    kari = await create_person(session, settings)
    await join(client, kari, library)
    export = await client.get("/v1/me/export", headers=kari.headers)
    assert [m["valid_until"] for m in export.json()["library_memberships"]] == ["2027-11-22"]
    assert (await client.delete("/v1/me", headers=kari.headers)).status_code == 204
    assert await session.get(LibraryMember, (library.id, kari.person_id)) is None
