"""A realistic demo set for newcomers (``make demo-data``): people and organizations spread
over several kommuner, so that every endpoint has something to show.

Development and test only: the demo accounts have a published password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import AuthSettings
from app.models.organization import MemberRole, OrganizationKind
from app.models.person import PlatformRole
from app.repositories.organization import OrganizationRepository
from app.repositories.person import PersonRepository
from app.security import hash_password

DEMO_PASSWORD = "sirkel-demo-passord"

# (e-mail, display name, home kommune, platform roles)
DEMO_PEOPLE: list[tuple[str, str, str, list[str]]] = [
    ("kari@demo.sirkel.no", "Kari Nordmann", "0301", []),
    ("ola@demo.sirkel.no", "Ola Hansen", "4601", []),
    ("ingrid@demo.sirkel.no", "Ingrid Berg", "5001", []),
    ("aslak@demo.sirkel.no", "Aslak Eira", "5501", []),
    ("moderator@demo.sirkel.no", "Mona Moderator", "0301", [PlatformRole.MODERATOR.value]),
    ("analytiker@demo.sirkel.no", "Anders Analytiker", "0301", [PlatformRole.ANALYST.value]),
]

# (name, kind, kommune, organisasjonsnummer, owner e-mail, other members, verified)
DEMO_ORGANIZATIONS: list[
    tuple[str, OrganizationKind, str, str | None, str, dict[str, MemberRole], bool]
] = [
    ("Fikseverkstedet Grünerløkka", OrganizationKind.REPAIR_SHOP, "0301", None,
     "kari@demo.sirkel.no", {"ola@demo.sirkel.no": MemberRole.MEMBER}, False),
    ("BUA Bergen sentrum", OrganizationKind.LIBRARY_OF_THINGS, "4601", None,
     "ola@demo.sirkel.no", {}, False),
    ("Trondheim kommune", OrganizationKind.MUNICIPALITY, "5001", None,
     "ingrid@demo.sirkel.no", {}, True),
    ("Tromsø Reparasjonskafé", OrganizationKind.CIVIL_SOCIETY, "5501", None,
     "aslak@demo.sirkel.no", {"ingrid@demo.sirkel.no": MemberRole.ADMIN}, False),
    ("Gjenbruksmaterialer Stavanger AS", OrganizationKind.COMPANY, "1103", None,
     "kari@demo.sirkel.no", {}, False),
]  # fmt: skip


@dataclass
class DemoReport:
    created_people: list[str] = field(default_factory=list)
    created_organizations: list[str] = field(default_factory=list)


async def load_demo_data(
    session: AsyncSession, *, settings: AuthSettings, now: datetime
) -> DemoReport:
    """Create what is missing of the demo set; existing demo rows are left as they are."""
    report = DemoReport()
    people = PersonRepository(session)
    orgs = OrganizationRepository(session)
    password_hash = await hash_password(DEMO_PASSWORD, settings)
    ids = {}
    for email, name, kommune, roles in DEMO_PEOPLE:
        person = await people.get_by_email(email)
        if person is None:
            person = await people.create(
                email=email,
                password_hash=password_hash,
                display_name=name,
                language="nb",
                home_kommune=kommune,
            )
            await people.update(person.id, {"roles": roles})
            report.created_people.append(email)
        ids[email] = person.id

    listed = await orgs.search(
        kind=None, kommunenummer=None, name_contains=None, after=None, limit=10_000
    )
    existing = {o.name for o in listed}
    moderator = ids["moderator@demo.sirkel.no"]
    for name, kind, kommune, orgnr, owner, members, verified in DEMO_ORGANIZATIONS:
        if name in existing:
            continue
        org = await orgs.create(
            values={
                "name": name,
                "kind": kind.value,
                "kommunenummer": kommune,
                "organisasjonsnummer": orgnr,
                "description": f"Demo: {kind.value.replace('_', ' ')} i {kommune}.",
            },
            owner_id=ids[owner],
        )
        for member_email, role in members.items():
            await orgs.add_member(org.id, person_id=ids[member_email], role=role)
        if verified:
            await orgs.verify(org.id, moderator_id=moderator, kommunenummer=kommune, now=now)
        report.created_organizations.append(name)
    await session.flush()
    return report
