"""Every SQL statement about organizations, memberships and API keys.

Writes that a constraint or trigger can refuse run in a savepoint (``begin_nested``), so that
the violation leaves the request's transaction usable, and come back as domain errors.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    AlreadyMemberError,
    LastOwnerError,
    MunicipalityTakenError,
    OrgnrTakenError,
    UnknownKommuneError,
)
from app.models import ApiKey, Membership, Organization, Person
from app.models.organization import MemberRole
from app.repositories.db_errors import constraint_name
from app.repositories.sql import escape_like, fresh_row

# Constraints whose violations are the caller's doing, and what they mean.
_UQ_ORGNR = "uq_organizations_organisasjonsnummer"
_UQ_VERIFIED_MUNICIPALITY = "uq_organizations_verified_municipality"
_FK_KOMMUNE = "fk_organizations_kommunenummer_kommuner"
_PK_MEMBERSHIPS = "pk_memberships"
_KEEP_AN_OWNER = "memberships_keep_an_owner"


@dataclass(frozen=True, slots=True)
class MemberRow:
    person_id: uuid.UUID
    display_name: str | None
    role: MemberRole
    joined_at: datetime


# Members are listed owners first, then admins, then members.
ROLE_ORDER: dict[MemberRole, int] = {MemberRole.OWNER: 1, MemberRole.ADMIN: 2, MemberRole.MEMBER: 3}


def _translate(exc: IntegrityError, values: dict[str, Any]) -> Exception:
    """The domain error for a violated constraint, or the original error if it is a bug."""
    name = constraint_name(exc)
    if name == _UQ_ORGNR:
        return OrgnrTakenError(
            f"An organization with organisasjonsnummer {values.get('organisasjonsnummer')} "
            "is already registered."
        )
    if name == _FK_KOMMUNE:
        return UnknownKommuneError.for_number(values.get("kommunenummer"))
    if name == _UQ_VERIFIED_MUNICIPALITY:
        return MunicipalityTakenError(
            f"Kommune {values.get('kommunenummer')} already has a verified municipality "
            "organization."
        )
    if name == _PK_MEMBERSHIPS:
        return AlreadyMemberError("That person is already a member of this organization.")
    if name == _KEEP_AN_OWNER:
        return LastOwnerError("The organization would be left without an owner.")
    return exc


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @asynccontextmanager
    async def _refusals(self, values: dict[str, Any]) -> AsyncIterator[None]:
        """A savepoint whose constraint refusals become the domain errors of ``_translate``
        (``values``: what the message may quote)."""
        try:
            async with self.session.begin_nested():
                yield
        except IntegrityError as exc:
            raise _translate(exc, values) from exc

    # --- organizations -----------------------------------------------------------------

    async def create(self, *, values: dict[str, Any], owner_id: uuid.UUID) -> Organization:
        """Insert the organization and its first owner in one savepoint: the database refuses
        an organization without an owner at commit (deferred trigger)."""
        async with self._refusals(values):
            org = (
                await self.session.execute(
                    insert(Organization).values(**values).returning(Organization)
                )
            ).scalar_one()
            await self.session.execute(
                insert(Membership).values(
                    organization_id=org.id, person_id=owner_id, role=MemberRole.OWNER.value
                )
            )
        return org

    async def get(
        self, organization_id: uuid.UUID, *, for_update: bool = False
    ) -> Organization | None:
        """The organization, fresh from the database; ``for_update`` locks its row, which
        serialises every change to it and to its memberships."""
        return await fresh_row(self.session, Organization, organization_id, for_update=for_update)

    async def update(
        self,
        organization_id: uuid.UUID,
        *,
        values: dict[str, Any],
        context: dict[str, Any] | None = None,
    ) -> Organization:
        async with self._refusals({**values, **(context or {})}):
            stmt = (
                update(Organization)
                .where(Organization.id == organization_id)
                .values(**values)
                .returning(Organization)
                .execution_options(populate_existing=True)
            )
            org = (await self.session.execute(stmt)).scalar_one()
        return org

    async def verify(
        self,
        organization_id: uuid.UUID,
        *,
        moderator_id: uuid.UUID,
        kommunenummer: str | None,
        now: datetime,
    ) -> Organization:
        """Mark verified. A second verified municipality in one kommune is refused by the
        partial unique index ``uq_organizations_verified_municipality``."""
        return await self.update(
            organization_id,
            values={"verified_at": now, "verified_by": moderator_id, "updated_at": now},
            context={"kommunenummer": kommunenummer},
        )

    async def search(
        self,
        *,
        kind: str | None,
        kommunenummer: str | None,
        name_contains: str | None,
        after: tuple[str, uuid.UUID] | None,
        limit: int,
    ) -> list[Organization]:
        """The directory, ordered by (name, id). ``name_contains`` is matched literally and
        case-insensitively (the trigram index on name serves the ILIKE)."""
        stmt = select(Organization).order_by(Organization.name, Organization.id).limit(limit)
        if kind is not None:
            stmt = stmt.where(Organization.kind == kind)
        if kommunenummer is not None:
            stmt = stmt.where(Organization.kommunenummer == kommunenummer)
        if name_contains is not None:
            stmt = stmt.where(
                Organization.name.ilike(f"%{escape_like(name_contains)}%", escape="\\")
            )
        if after is not None:
            stmt = stmt.where(tuple_(Organization.name, Organization.id) > tuple_(*after))
        return list((await self.session.execute(stmt)).scalars().all())

    # --- memberships -------------------------------------------------------------------

    async def member_role(
        self, organization_id: uuid.UUID, person_id: uuid.UUID
    ) -> MemberRole | None:
        stmt = select(Membership.role).where(
            Membership.organization_id == organization_id, Membership.person_id == person_id
        )
        role = (await self.session.execute(stmt)).scalar_one_or_none()
        return MemberRole(role) if role is not None else None

    async def organization_ids_of(self, person_id: uuid.UUID) -> list[uuid.UUID]:
        """The organizations the person is a member of (any role)."""
        stmt = select(Membership.organization_id).where(Membership.person_id == person_id)
        return list((await self.session.execute(stmt)).scalars())

    async def owner_count(self, organization_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(
            Membership.organization_id == organization_id,
            Membership.role == MemberRole.OWNER.value,
        )
        return int((await self.session.execute(stmt)).scalar_one())

    def _member_select(self) -> Select[uuid.UUID, str | None, str, datetime]:
        return select(
            Membership.person_id,
            Person.display_name,
            Membership.role,
            Membership.created_at.label("joined_at"),
        ).join(Person, Person.id == Membership.person_id)

    @staticmethod
    def _member(row: Any) -> MemberRow:
        return MemberRow(
            person_id=row.person_id,
            display_name=row.display_name,
            role=MemberRole(row.role),
            joined_at=row.joined_at,
        )

    async def list_members(
        self,
        organization_id: uuid.UUID,
        *,
        after: tuple[int, datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[MemberRow]:
        """Owners first, then admins, then members; each by when they joined."""
        rank = _role_rank()
        stmt = (
            self._member_select()
            .where(Membership.organization_id == organization_id)
            .order_by(rank, Membership.created_at, Membership.person_id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(
                tuple_(rank, Membership.created_at, Membership.person_id) > tuple_(*after)
            )
        return [self._member(r) for r in (await self.session.execute(stmt)).all()]

    async def get_member(
        self, organization_id: uuid.UUID, person_id: uuid.UUID
    ) -> MemberRow | None:
        stmt = self._member_select().where(
            Membership.organization_id == organization_id, Membership.person_id == person_id
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return self._member(row) if row is not None else None

    async def active_person_id_by_email(self, email: str) -> uuid.UUID | None:
        stmt = select(Person.id).where(Person.email == email, Person.erased_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_member(
        self, organization_id: uuid.UUID, *, person_id: uuid.UUID, role: MemberRole
    ) -> None:
        async with self._refusals({}):
            await self.session.execute(
                insert(Membership).values(
                    organization_id=organization_id, person_id=person_id, role=role.value
                )
            )

    async def set_member_role(
        self, organization_id: uuid.UUID, *, person_id: uuid.UUID, role: MemberRole
    ) -> None:
        async with self._refusals({}):
            await self.session.execute(
                update(Membership)
                .where(
                    Membership.organization_id == organization_id,
                    Membership.person_id == person_id,
                )
                .values(role=role.value)
            )

    async def remove_member(self, organization_id: uuid.UUID, *, person_id: uuid.UUID) -> None:
        async with self._refusals({}):
            await self.session.execute(
                delete(Membership).where(
                    Membership.organization_id == organization_id,
                    Membership.person_id == person_id,
                )
            )

    # --- API keys ----------------------------------------------------------------------

    async def create_api_key(
        self,
        organization_id: uuid.UUID,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: list[str],
        created_by: uuid.UUID,
    ) -> ApiKey:
        stmt = (
            insert(ApiKey)
            .values(
                organization_id=organization_id,
                name=name,
                prefix=prefix,
                key_hash=key_hash,
                scopes=scopes,
                created_by=created_by,
            )
            .returning(ApiKey)
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def list_api_keys(
        self,
        organization_id: uuid.UUID,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[ApiKey]:
        """Every key of the organization, revoked ones included, oldest first."""
        stmt = (
            select(ApiKey)
            .where(ApiKey.organization_id == organization_id)
            .order_by(ApiKey.created_at, ApiKey.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(tuple_(ApiKey.created_at, ApiKey.id) > tuple_(*after))
        return list((await self.session.execute(stmt)).scalars().all())

    async def revoke_api_key(
        self, organization_id: uuid.UUID, *, key_id: uuid.UUID, now: datetime
    ) -> bool:
        """Revoke the key (a revoked one stays revoked at its first time). False if the
        organization has no such key."""
        stmt = (
            update(ApiKey)
            .where(ApiKey.organization_id == organization_id, ApiKey.id == key_id)
            .values(revoked_at=func.coalesce(ApiKey.revoked_at, now))
            .returning(ApiKey.id)
        )
        return (await self.session.execute(stmt)).first() is not None


def _role_rank() -> ColumnElement[int]:
    """``ROLE_ORDER`` in SQL."""
    return case(*((Membership.role == role.value, rank) for role, rank in ROLE_ORDER.items()))
