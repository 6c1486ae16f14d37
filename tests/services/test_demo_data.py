"""make demo-data: people and organizations over several kommuner, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Membership, Organization, Person
from app.services.demo_data import DEMO_ORGANIZATIONS, DEMO_PEOPLE, load_demo_data


async def test_demo_data_is_spread_out_and_idempotent(
    session: AsyncSession, settings: Settings
) -> None:
    now = datetime.now(UTC)
    first = await load_demo_data(session, settings=settings.auth, now=now)
    assert len(first.created_people) == len(DEMO_PEOPLE)
    assert len(first.created_organizations) == len(DEMO_ORGANIZATIONS)
    second = await load_demo_data(session, settings=settings.auth, now=now)
    assert second.created_people == []
    assert second.created_organizations == []

    kommuner = set((await session.execute(select(Organization.kommunenummer).distinct())).scalars())
    assert len(kommuner) >= 5
    assert await session.scalar(select(func.count()).select_from(Person)) == len(DEMO_PEOPLE)
    verified = await session.scalar(
        select(Organization.name).where(Organization.verified_at.is_not(None))
    )
    assert verified == "Trondheim kommune"
    assert await session.scalar(select(func.count()).select_from(Membership)) == 7
