"""Every SQL statement about organizations, memberships and API keys."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Membership
from app.models.organization import MemberRole


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def member_role(
        self, organization_id: uuid.UUID, person_id: uuid.UUID
    ) -> MemberRole | None:
        stmt = select(Membership.role).where(
            Membership.organization_id == organization_id, Membership.person_id == person_id
        )
        role = (await self.session.execute(stmt)).scalar_one_or_none()
        return MemberRole(role) if role is not None else None
