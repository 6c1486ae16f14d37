"""Every SQL statement about persons and their personal data."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.errors import EmailTakenError
from app.models import ApiKey, AuthSession, Membership, Organization, Person, RefreshToken
from app.repositories.db_errors import constraint_name

# What others see as a person's name (migration 0017); ``p`` a person, ``k`` their kommune.
LABEL_SQL = "sirkel_person_label(p.erased_at, p.show_name, p.public_name, p.display_name, k.name)"


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        *,
        email: str,
        password_hash: str,
        display_name: str,
        language: str,
        home_kommune: str | None,
    ) -> Person:
        person = Person(
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            language=language,
            home_kommune=home_kommune,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(person)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == "uq_persons_email":
                raise EmailTakenError("An account with this e-mail address exists.") from exc
            raise
        await self.session.refresh(person)
        return person

    async def get(self, person_id: uuid.UUID) -> Person | None:
        return await self.session.get(Person, person_id)

    async def get_by_email(self, email: str) -> Person | None:
        stmt = select(Person).where(Person.email == email, Person.erased_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def update(self, person_id: uuid.UUID, values: dict[str, Any]) -> None:
        if values:
            await self.session.execute(
                update(Person).where(Person.id == person_id).values(**values)
            )

    async def memberships(self, person_id: uuid.UUID) -> list[RowMapping]:
        stmt = (
            select(
                Membership.organization_id,
                Organization.name.label("organization_name"),
                Organization.kind,
                Membership.role,
            )
            .join(Organization, Organization.id == Membership.organization_id)
            .where(Membership.person_id == person_id)
            .order_by(Organization.name, Organization.id)
        )
        return list((await self.session.execute(stmt)).mappings().all())

    async def sessions(self, person_id: uuid.UUID) -> list[RowMapping]:
        stmt = (
            select(
                AuthSession.id,
                AuthSession.created_at,
                AuthSession.last_refreshed_at,
                AuthSession.revoked_at,
            )
            .where(AuthSession.person_id == person_id)
            .order_by(AuthSession.created_at)
        )
        return list((await self.session.execute(stmt)).mappings().all())

    async def api_keys_created(self, person_id: uuid.UUID) -> list[RowMapping]:
        stmt = (
            select(
                ApiKey.id,
                ApiKey.organization_id,
                ApiKey.name,
                ApiKey.prefix,
                ApiKey.scopes,
                ApiKey.created_at,
                ApiKey.revoked_at,
            )
            .where(ApiKey.created_by == person_id)
            .order_by(ApiKey.created_at)
        )
        return list((await self.session.execute(stmt)).mappings().all())

    async def organizations_solely_owned(self, person_id: uuid.UUID) -> list[uuid.UUID]:
        """Organizations where this person is the only owner."""
        other = aliased(Membership)
        others = (
            select(func.count())
            .where(
                other.organization_id == Membership.organization_id,
                other.role == "owner",
                other.person_id != person_id,
            )
            .scalar_subquery()
        )
        stmt = select(Membership.organization_id).where(
            Membership.person_id == person_id, Membership.role == "owner", others == 0
        )
        return list((await self.session.execute(stmt)).scalars())

    async def lock(self, person_id: uuid.UUID) -> Person | None:
        stmt = select(Person).where(Person.id == person_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def erase(self, person_id: uuid.UUID, *, now: datetime) -> None:
        """Remove what identifies the person; keep the row (id, pseudonym, kommune) for the
        evidence that refers to it."""
        await self.session.execute(
            delete(RefreshToken).where(
                RefreshToken.session_id.in_(
                    select(AuthSession.id).where(AuthSession.person_id == person_id)
                )
            )
        )
        await self.session.execute(delete(Membership).where(Membership.person_id == person_id))
        await self.session.execute(
            update(Person)
            .where(Person.id == person_id)
            .values(
                email=None, display_name=None, public_name=None, password_hash=None, erased_at=now
            )
        )

    # --- what others see ------------------------------------------------------------------

    async def profile(self, person_id: uuid.UUID) -> dict[str, Any] | None:
        """A person's public profile (not erased): label, shown name, month joined, home
        kommune and completed handovers on each side."""
        stmt = text(
            f"SELECT p.id, {LABEL_SQL} AS label, "
            "CASE WHEN p.show_name THEN coalesce(p.public_name, p.display_name) END AS name, "
            "to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS member_since, "
            "p.home_kommune, k.name AS kommune_name, "
            "(SELECT count(*) FROM transactions AS t WHERE t.provider_person_id = p.id "
            "AND t.status = 'confirmed') AS as_provider, "
            "(SELECT count(*) FROM transactions AS t WHERE t.receiver_person_id = p.id "
            "AND t.status = 'confirmed') AS as_receiver "
            "FROM persons AS p LEFT JOIN kommuner AS k ON k.kommunenummer = p.home_kommune "
            "WHERE p.id = :id AND p.erased_at IS NULL"
        )
        row = (await self.session.execute(stmt, {"id": person_id})).one_or_none()
        return None if row is None else dict(row._mapping)

    async def labels(self, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        """What others see as each person's name."""
        if not person_ids:
            return {}
        stmt = text(
            f"SELECT p.id, {LABEL_SQL} FROM persons AS p "
            "LEFT JOIN kommuner AS k ON k.kommunenummer = p.home_kommune "
            "WHERE p.id = ANY(:ids)"
        )
        rows = await self.session.execute(stmt, {"ids": person_ids})
        return dict(rows.all())
