"""A library imports its catalogue from CSV (``POST /v1/organizations/{id}/catalogue``): all or
nothing, row errors with their line and column, refs that make a second run skip what is
there, and a database that keeps refs unique when two imports race."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Listing, Organization
from app.models.organization import OrganizationKind
from tests.factories import Actor, create_organization, create_person
from tests.problems import assert_problem

CSV = {"Content-Type": "text/csv"}
HEADER = "ref,title,category,description,units,lat,lon,mode,price_nok,price_period,condition\n"
ROWS = (
    "BUA-1,Slagdrill,power-tools,Bosch 18 V,2,59.9127,10.7461,lend,,,good\n"
    "BUA-2,Telt for fire,tents,,,59.9127,10.7461,,,,as_new\n"
    "BUA-3,Tilhenger,power-tools,Boggi,1,59.9127,10.7461,rent,150,day,fair\n"
)


@pytest.fixture
async def staff(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


@pytest.fixture
async def library(session: AsyncSession, staff: Actor) -> Organization:
    return await create_organization(
        session, owner=staff, name="BUA Grünerløkka", kind=OrganizationKind.LIBRARY_OF_THINGS
    )


def path(library: Organization) -> str:
    return f"/v1/organizations/{library.id}/catalogue"


async def items(session: AsyncSession, library: Organization) -> list[Listing]:
    rows = await session.scalars(
        select(Listing)
        .where(Listing.owner_organization_id == library.id)
        .order_by(Listing.created_at, Listing.title)
    )
    return list(rows)


async def test_a_catalogue_becomes_drafts_and_a_second_run_adds_only_the_new(
    client: httpx.AsyncClient, session: AsyncSession, staff: Actor, library: Organization
) -> None:
    first = await client.post(
        path(library), content=HEADER + ROWS, headers={**CSV, **staff.headers}
    )
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["duplicates"]) == (3, 0)
    stored = {
        listing.details["catalogue_ref"]: listing for listing in await items(session, library)
    }
    assert sorted(stored) == ["BUA-1", "BUA-2", "BUA-3"]
    assert [str(stored[r].id) for r in ("BUA-1", "BUA-2", "BUA-3")] == first.json()["listing_ids"]
    drill, tent, trailer = stored["BUA-1"], stored["BUA-2"], stored["BUA-3"]
    assert (drill.status, drill.kind, drill.mode, drill.quantity) == (
        "draft",
        "item",
        "lend",
        Decimal(2),
    )
    assert (drill.description, drill.details["condition"]) == ("Bosch 18 V", "good")
    assert (tent.mode, tent.quantity, tent.category_slug) == ("lend", Decimal(1), "tents")
    assert (trailer.mode, trailer.price_nok, trailer.details["price_period"]) == (
        "rent",
        Decimal(150),
        "day",
    )
    assert drill.kommunenummer == "0301"
    again = await client.post(
        path(library),
        content=HEADER + ROWS + "BUA-4,Stige,power-tools,,,59.9127,10.7461,,,,\n",
        headers={**CSV, **staff.headers},
    )
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["duplicates"]) == (1, 3)
    assert len(await items(session, library)) == 4


async def test_publish_makes_them_active(
    client: httpx.AsyncClient, session: AsyncSession, staff: Actor, library: Organization
) -> None:
    done = await client.post(
        path(library),
        params={"publish": "true"},
        content=HEADER + ROWS,
        headers={**CSV, **staff.headers},
    )
    assert done.status_code == 200, done.text
    assert {listing.status for listing in await items(session, library)} == {"active"}
    found = await client.get("/v1/listings", params={"q": "slagdrill", "kommune": "0301"})
    assert [i["id"] for i in found.json()["items"]] == [done.json()["listing_ids"][0]]


async def test_invalid_rows_store_nothing_and_say_where(
    client: httpx.AsyncClient, session: AsyncSession, staff: Actor, library: Organization
) -> None:
    body = HEADER + (
        "A,,power-tools,,,59.91,10.74,,,,\n"  # line 2: no title
        "B,Drill,spaceships,,,59.91,10.74,,,,\n"  # 3: unknown category
        "C,Drill,power-tools,,two,59.91,10.74,,,,\n"  # 4: units not a number
        "D,Drill,power-tools,,,55.0,2.0,,,,\n"  # 5: the North Sea
        "E,Drill,power-tools,,,59.91,10.74,give,,,\n"  # 6: a catalogue lends or rents
        "A,Drill,power-tools,,,59.91,10.74,,,,\n"  # 7: repeats ref A (line 2's)
        "F,Drill,power-tools\n"  # 8: too few cells
        "G,Drill,power-tools,,,59.91,10.74,,,,broken\n"  # 9: unknown condition
        "H,Drill,power-tools,,,59.91,10.74,rent,,,\n"  # 10: rent without a price
    )
    refused = await client.post(path(library), content=body, headers={**CSV, **staff.headers})
    problem = assert_problem(refused, 422, "invalid_catalogue_rows")
    where = [(e["line"], e["column"]) for e in problem["errors"]]
    assert (2, "title") in where
    assert (3, "category") in where
    assert (4, "units") in where
    assert (5, "lat") in where
    assert (6, "mode") in where
    assert (7, "ref") in where
    assert (8, None) in where
    assert (9, "condition") in where
    assert any(line == 10 for line, _ in where)
    assert problem["error_count"] == len(problem["errors"])
    assert all(e["type"] == "invalid_catalogue_row" for e in problem["errors"])
    assert await items(session, library) == []


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\xff\xfe title", "UTF-8"),
        (b"", "empty"),
        (b"title,category,lat,lon,colour\n", "colour"),
        (b"title,category,lat\n", "lon"),
        (b"title,title,category,lat,lon\n", "twice"),
        (b'title,category,lat,lon\n"Drill,tools,59,10\n', "CSV"),
    ],
)
async def test_unreadable_files_are_refused(
    client: httpx.AsyncClient,
    session: AsyncSession,
    staff: Actor,
    library: Organization,
    content: bytes,
    needle: str,
) -> None:
    refused = await client.post(path(library), content=content, headers={**CSV, **staff.headers})
    assert needle in assert_problem(refused, 422, "invalid_catalogue_file")["detail"]
    assert await items(session, library) == []


async def test_who_may_import_and_how(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    staff: Actor,
    library: Organization,
) -> None:
    stranger = await create_person(session, settings)
    assert_problem(
        await client.post(
            path(library), content=HEADER + ROWS, headers={**CSV, **stranger.headers}
        ),
        403,
        "not_a_member",
    )
    assert_problem(
        await client.post(path(library), content=HEADER + ROWS, headers=CSV), 401, "unauthorized"
    )
    assert_problem(
        await client.post(
            f"/v1/organizations/{uuid.uuid4()}/catalogue",
            content=HEADER + ROWS,
            headers={**CSV, **staff.headers},
        ),
        404,
        "organization_not_found",
    )
    assert_problem(
        await client.post(path(library), json={"title": "Drill"}, headers=staff.headers),
        415,
        "unsupported_media_type",
    )
    assert await items(session, library) == []


async def test_a_ref_is_unique_within_an_organization_through_the_listings_api_too(
    client: httpx.AsyncClient, session: AsyncSession, staff: Actor, library: Organization
) -> None:
    assert (
        await client.post(path(library), content=HEADER + ROWS, headers={**CSV, **staff.headers})
    ).status_code == 200
    body = {
        "kind": "item",
        "mode": "lend",
        "title": "Enda en drill",
        "category": "power-tools",
        "location": {"type": "Point", "coordinates": [10.7461, 59.9127]},
        "organization_id": str(library.id),
        "details": {"catalogue_ref": "BUA-1"},
    }
    taken = await client.post("/v1/listings", json=body, headers=staff.headers)
    assert_problem(taken, 409, "catalogue_ref_taken")
    # Another organization may use the same number.
    other = await create_organization(session, owner=staff, name="BUA Sagene")
    body["organization_id"] = str(other.id)
    assert (await client.post("/v1/listings", json=body, headers=staff.headers)).status_code == 201


async def test_two_imports_of_one_catalogue_at_once_make_each_item_once(
    committed_client: httpx.AsyncClient,
) -> None:
    email = f"bua-{uuid.uuid4().hex[:8]}@example.no"
    registered = await committed_client.post(
        "/v1/auth/register",
        json={"email": email, "password": "et langt passord", "display_name": "Bua"},
    )
    assert registered.status_code == 201, registered.text
    token = await committed_client.post(
        "/v1/auth/token", data={"username": email, "password": "et langt passord"}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    org = await committed_client.post(
        "/v1/organizations",
        json={"name": f"BUA {uuid.uuid4().hex[:6]}", "kind": "library_of_things"},
        headers=headers,
    )
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    body = HEADER + "".join(
        f"R-{n},Drill {n},power-tools,,,59.9127,10.7461,,,,\n" for n in range(30)
    )
    first, second = await asyncio.gather(
        *(
            committed_client.post(
                f"/v1/organizations/{org_id}/catalogue",
                content=body,
                headers={**CSV, **headers},
            )
            for _ in range(2)
        )
    )
    outcomes = sorted([first, second], key=lambda r: r.status_code)
    assert outcomes[0].status_code == 200, outcomes[0].text
    assert outcomes[0].json()["created"] == 30
    # The other ran after (all duplicates) or at the same time (refused, nothing stored).
    if outcomes[1].status_code == 200:
        assert (outcomes[1].json()["created"], outcomes[1].json()["duplicates"]) == (0, 30)
    else:
        assert_problem(outcomes[1], 409, "catalogue_ref_taken")
    mine = await committed_client.get(
        "/v1/me/listings", params={"organization_id": org_id, "limit": 100}, headers=headers
    )
    assert mine.status_code == 200, mine.text
    refs = [i["details"]["catalogue_ref"] for i in mine.json()["items"]]
    assert sorted(refs) == sorted(f"R-{n}" for n in range(30))
