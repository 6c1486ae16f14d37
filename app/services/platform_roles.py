"""Platform roles (moderator, analyst): granted from the command line only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import PersonNotFoundError
from app.models.person import PlatformRole
from app.repositories.person import PersonRepository
from app.services.auth import normalise_email


async def set_platform_role(
    session: AsyncSession, *, email: str, role: PlatformRole, granted: bool
) -> list[str]:
    repo = PersonRepository(session)
    person = await repo.get_by_email(normalise_email(email))
    if person is None:
        raise PersonNotFoundError()
    roles = set(person.roles)
    if granted:
        roles.add(role.value)
    else:
        roles.discard(role.value)
    await repo.update(person.id, {"roles": sorted(roles)})
    return sorted(roles)
