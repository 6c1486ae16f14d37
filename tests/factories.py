"""Plain typed async factories for test data, writing through the ORM in the test's
transaction, and helpers to act as a person or an API key."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import ApiKey, AuthSession, Listing, Membership, Organization, Person
from app.models.organization import ApiKeyScope, MemberRole, OrganizationKind
from app.repositories.db_errors import constraint_name
from app.repositories.geography import GeographyRepository
from app.security import hash_password, issue_access_token, new_api_key, sha256_hex

DEFAULT_PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@dataclass(frozen=True)
class Actor:
    person_id: uuid.UUID
    email: str
    display_name: str
    headers: dict[str, str]


async def create_person(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str | None = None,
    display_name: str | None = None,
    password: str = DEFAULT_PASSWORD,
    roles: list[str] | None = None,
    home_kommune: str | None = None,
    person_id: uuid.UUID | None = None,
) -> Actor:
    """A person with a login session and a valid access token (``Actor.headers``); a fixed
    ``person_id`` when the test needs the same person (and blurred points) every run."""
    n = next(_counter)
    person = Person(
        id=person_id or uuid.uuid4(),
        email=email or f"person{n}-{uuid.uuid4().hex[:6]}@example.no",
        display_name=display_name or f"Person {n}",
        password_hash=await hash_password(password, settings.auth),
        roles=roles or [],
        home_kommune=home_kommune,
    )
    session.add(person)
    await session.flush()
    auth_session = AuthSession(person_id=person.id)
    session.add(auth_session)
    await session.flush()
    token, _ = issue_access_token(
        person_id=person.id,
        session_id=auth_session.id,
        settings=settings.auth,
        now=datetime.now(UTC),
    )
    assert person.email is not None
    assert person.display_name is not None
    return Actor(
        person_id=person.id,
        email=person.email,
        display_name=person.display_name,
        headers={"Authorization": f"Bearer {token}"},
    )


async def create_organization(
    session: AsyncSession,
    *,
    owner: Actor,
    name: str | None = None,
    kind: OrganizationKind = OrganizationKind.REPAIR_SHOP,
    kommunenummer: str | None = "0301",
    organisasjonsnummer: str | None = None,
    members: dict[uuid.UUID, MemberRole] | None = None,
) -> Organization:
    org = Organization(
        name=name or f"Organisasjon {next(_counter)}",
        kind=kind.value,
        kommunenummer=kommunenummer,
        organisasjonsnummer=organisasjonsnummer,
    )
    session.add(org)
    await session.flush()
    session.add(Membership(organization_id=org.id, person_id=owner.person_id, role="owner"))
    for person_id, role in (members or {}).items():
        session.add(Membership(organization_id=org.id, person_id=person_id, role=role.value))
    await session.flush()
    return org


async def create_api_key(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    scopes: list[ApiKeyScope],
    created_by: uuid.UUID | None = None,
    name: str = "test key",
) -> dict[str, str]:
    """An API key for the organization; returns the headers that use it."""
    key, prefix = new_api_key()
    session.add(
        ApiKey(
            organization_id=organization_id,
            name=name,
            prefix=prefix,
            key_hash=sha256_hex(key),
            scopes=[s.value for s in scopes],
            created_by=created_by,
        )
    )
    await session.flush()
    return {"X-API-Key": key}


async def create_listing(
    session: AsyncSession,
    *,
    at: tuple[float, float],
    person: Actor | None = None,
    organization: Organization | None = None,
    kind: str = "item",
    mode: str | None = "give",
    title: str = "Barnesykkel 20 tommer",
    description: str = "",
    category: str | None = "bikes",
    status: str = "active",
    published_at: datetime | None = None,
    expires_at: datetime | None = None,
    ewc_code: str | None = None,
    quantity: Decimal | None = None,
    unit: str | None = None,
    price_nok: Decimal | None = None,
    details: dict[str, Any] | None = None,
) -> Listing:
    """A listing written through the ORM (the database's triggers blur and check it), placed
    in its kommune with the same lookup the API uses. ``at`` is ``(lat, lon)``."""
    assert (person is None) != (organization is None), "one owner"
    lat, lon = at
    hit = await GeographyRepository(session).locate(lon=lon, lat=lat, max_distance_m=5000)
    assert hit is not None, f"{at} is not in Norway"
    now = published_at or datetime.now(UTC)
    if kind == "item":
        quantity, unit = quantity or Decimal(1), "pcs"
    listing = Listing(
        kind=kind,
        mode=mode,
        status=status,
        owner_person_id=person.person_id if person else None,
        owner_organization_id=organization.id if organization else None,
        title=title,
        description=description,
        category_slug=category,
        ewc_code=ewc_code,
        quantity=quantity,
        unit=unit,
        price_nok=price_nok,
        details=details or {},
        geom=f"SRID=4326;POINT({lon!r} {lat!r})",
        kommunenummer=hit.kommunenummer,
        fylkesnummer=hit.fylkesnummer,
        created_at=now,
        updated_at=now,
        published_at=now if status not in ("draft", "pending_review") else None,
        expires_at=expires_at,
    )
    session.add(listing)
    await session.flush()
    return listing


async def refused_raw_loan(
    session: AsyncSession,
    *,
    listing_id: uuid.UUID,
    organization_id: uuid.UUID,
    person_id: uuid.UUID,
    start: datetime,
    end: datetime,
    unit_no: int = 1,
) -> str | None:
    """Write a loan request of ``unit_no`` behind the services' back (plain SQL, in a
    savepoint) and return the name of the constraint or trigger that refused it."""
    with pytest.raises(IntegrityError) as caught:
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO transactions (type, subgoal, status, listing_id, "
                    "provider_organization_id, receiver_person_id, created_by_person_id, "
                    "message, period, blocked, unit_no, created_at, updated_at) VALUES "
                    "('loan', 'SG2', 'requested', :listing, :org, :person, :person, '', "
                    "tstzrange(:start, :end), tstzrange(:start, :end), :unit, :start, :start)"
                ),
                {
                    "listing": listing_id,
                    "org": organization_id,
                    "person": person_id,
                    "start": start,
                    "end": end,
                    "unit": unit_no,
                },
            )
    return constraint_name(caught.value)
