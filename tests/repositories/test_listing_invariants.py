"""What the database itself guarantees about listings, whatever code writes to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.repositories.db_errors import constraint_name
from tests.factories import create_listing, create_organization, create_person
from tests.places import PLACES

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)


async def _violation(session: AsyncSession, sql: str, params: Mapping[str, Any]) -> str | None:
    with pytest.raises((IntegrityError, DBAPIError)) as caught:
        async with session.begin_nested():
            await session.execute(text(sql), params)
    assert isinstance(caught.value, DBAPIError)
    return constraint_name(caught.value)


async def test_a_persons_public_point_cannot_be_set_to_the_exact_one(
    session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    listing = await create_listing(session, at=OSLO, person=person)
    await session.execute(
        text("UPDATE listings SET public_geom = geom WHERE id = :id"), {"id": listing.id}
    )
    distance = await session.scalar(
        text(
            "SELECT ST_Distance(geom::geography, public_geom::geography) FROM listings "
            "WHERE id = :id"
        ),
        {"id": listing.id},
    )
    assert distance is not None
    assert 250 < distance < 550


async def test_an_organizations_public_point_is_its_exact_point(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session, owner=await create_person(session, settings))
    listing = await create_listing(session, at=OSLO, organization=org)
    same = await session.scalar(
        text("SELECT ST_Equals(geom, public_geom) FROM listings WHERE id = :id"),
        {"id": listing.id},
    )
    assert same is True


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("UPDATE listings SET status = 'active' WHERE id = :id", "listings_status_transition"),
        ("UPDATE listings SET kind = 'space' WHERE id = :id", "listings_immutable"),
        (
            "UPDATE listings SET owner_person_id = NULL, owner_organization_id = "
            "(SELECT id FROM organizations LIMIT 1) WHERE id = :id",
            "listings_immutable",
        ),
    ],
)
async def test_a_completed_listing_stays_completed_and_keeps_its_owner(
    session: AsyncSession, settings: Settings, sql: str, constraint: str
) -> None:
    person = await create_person(session, settings)
    await create_organization(session, owner=person)
    listing = await create_listing(session, at=OSLO, person=person)
    await session.execute(
        text("UPDATE listings SET status = 'completed' WHERE id = :id"), {"id": listing.id}
    )
    assert await _violation(session, sql, {"id": listing.id}) == constraint


async def test_a_hazardous_material_cannot_be_active_without_approval(
    session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    with pytest.raises(IntegrityError) as caught:
        async with session.begin_nested():
            await create_listing(
                session,
                at=OSLO,
                person=person,
                kind="material",
                category=None,
                ewc_code="170503",
                quantity=1,  # type: ignore[arg-type]
                unit="t",
            )
    assert constraint_name(caught.value) == "listings_hazardous_review"


async def test_changing_the_code_withdraws_an_approval(
    session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session, settings)
    listing = await create_listing(
        session,
        at=OSLO,
        person=person,
        kind="material",
        category=None,
        ewc_code="170503",
        quantity=1,  # type: ignore[arg-type]
        unit="t",
        status="pending_review",
    )
    await session.execute(
        text(
            "UPDATE listings SET review_approved_at = now(), status = 'active', "
            "published_at = now() WHERE id = :id"
        ),
        {"id": listing.id},
    )
    violation = await _violation(
        session, "UPDATE listings SET ewc_code = '170106' WHERE id = :id", {"id": listing.id}
    )
    assert violation == "listings_hazardous_review"


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ("mode = NULL", "ck_listings_mode_fits_kind"),
        ("ewc_code = '170201'", "ck_listings_ewc_only_for_material"),
        ("quantity = -1", "ck_listings_quantity_range"),
        ("price_nok = 10", "ck_listings_price_only_when_paid"),
        ("mode = NULL, price_nok = 10", "ck_listings_mode_fits_kind"),
        ("mode = 'sell'", "ck_listings_price_when_paid"),
        ("details = '[]'::jsonb", "ck_listings_details_object"),
        ("geom = ST_SetSRID(ST_MakePoint(18.07, 50.33), 4326)", "ck_listings_geom_in_norway_bbox"),
        ("hidden_at = now()", "ck_listings_hidden_has_reason"),
    ],
)
async def test_check_constraints_refuse_impossible_listings(
    session: AsyncSession, settings: Settings, changes: str, constraint: str
) -> None:
    person = await create_person(session, settings)
    listing = await create_listing(session, at=OSLO, person=person, status="draft")
    sql = f"UPDATE listings SET {changes} WHERE id = :id"
    assert await _violation(session, sql, {"id": listing.id}) == constraint


async def test_a_listing_has_exactly_one_owner(session: AsyncSession, settings: Settings) -> None:
    person = await create_person(session, settings)
    org = await create_organization(session, owner=person)
    sql = (
        "INSERT INTO listings (kind, mode, status, owner_person_id, owner_organization_id, "
        "title, category_slug, quantity, unit, geom, kommunenummer, fylkesnummer, created_at, "
        "updated_at) VALUES ('item', 'give', 'draft', :p, :o, 'Stol', 'chairs', 1, 'pcs', "
        "ST_SetSRID(ST_MakePoint(10.75, 59.91), 4326), '0301', '03', now(), now())"
    )
    for owners in ({"p": person.person_id, "o": org.id}, {"p": None, "o": None}):
        assert await _violation(session, sql, owners) == "ck_listings_one_owner"
