"""A realistic demo set for newcomers (``make demo-data``): people, organizations and listings
of every kind spread over several kommuner, handovers that were completed and confirmed, and
a report waiting in the moderation queue, so that every endpoint has something to show.
Everything is created through the services, with their validation, as the people concerned.

Development and test only: the demo accounts have a published password.
"""

from __future__ import annotations

import random
import uuid
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models.organization import MemberRole, OrganizationKind
from app.models.person import PlatformRole
from app.models.repair import RepairBarrierCode, RepairStatusCode
from app.models.report import ReportReason, ReportTarget
from app.models.target import TargetScope
from app.models.unit import UnitStatus
from app.repositories.listing import ListingRepository
from app.repositories.organization import OrganizationRepository
from app.repositories.person import PersonRepository
from app.repositories.repair import RepairRepository
from app.repositories.report import ReportRepository
from app.repositories.transaction import TransactionRepository
from app.schemas.listing import ListingCreate
from app.schemas.repair import RepairCreate
from app.schemas.report import ReportCreate
from app.schemas.review import ReviewCreate
from app.schemas.saved_search import SavedSearchCreate
from app.schemas.target import TargetCreate
from app.schemas.transaction import (
    Period,
    TransactionActionBody,
    TransactionCreate,
    UnitRepairLog,
    UnitStatusUpdate,
)
from app.security import hash_password
from app.services.demo_pictures import picture
from app.services.hold import place_hold, set_unit_status
from app.services.impact.periods import NORWAY
from app.services.impact.targets import create_target, list_targets
from app.services.listing import create_listing
from app.services.photo import upload_photo
from app.services.photos.processing import storage_from_settings
from app.services.policy import Principal
from app.services.repair import create_repair
from app.services.report import create_report
from app.services.review import write_review
from app.services.saved_search import create_saved_search, list_saved_searches
from app.services.transaction import (
    TransactionAction,
    act_on_transaction,
    create_transaction,
    tick,
)

DEMO_PASSWORD = "sirkel-demo-passord"

# (e-mail, display name, home kommune, platform roles)
DEMO_PEOPLE: list[tuple[str, str, str, list[str]]] = [
    ("kari@demo.sirkel.no", "Kari Nordmann", "0301", []),
    ("ola@demo.sirkel.no", "Ola Hansen", "4601", []),
    ("ingrid@demo.sirkel.no", "Ingrid Berg", "5001", []),
    ("aslak@demo.sirkel.no", "Aslak Eira", "5501", []),
    ("moderator@demo.sirkel.no", "Mona Moderator", "0301", [PlatformRole.MODERATOR.value]),
    ("analytiker@demo.sirkel.no", "Anders Analytiker", "0301", [PlatformRole.ANALYST.value]),
    ("tore@demo.sirkel.no", "Tore Tilbud", "0301", []),
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
    ("Byggbørsen Sandnes AS", OrganizationKind.COMPANY, "1108", None,
     "ola@demo.sirkel.no", {}, False),
    ("Gartneriet på Lade", OrganizationKind.COMPANY, "5001", None,
     "aslak@demo.sirkel.no", {}, False),
]  # fmt: skip


def _at(lon: float, lat: float) -> dict[str, object]:
    return {"type": "Point", "coordinates": [lon, lat]}


# (owner e-mail, organization name or None for the person's own, the listing's body)
DEMO_LISTINGS: list[tuple[str, str | None, dict[str, object]]] = [
    ("kari@demo.sirkel.no", None, {
        "kind": "item", "mode": "give", "title": "Barnesykkel 20 tommer",
        "description": "Blå, litt rust på kjedet. Hentes på Grünerløkka.",
        "category": "childrens-bikes", "location": _at(10.7590, 59.9230),
        "details": {"condition": "good"}}),
    ("kari@demo.sirkel.no", None, {
        "kind": "item", "mode": "sell", "title": "Kokebøker, 12 stk", "price_nok": 150,
        "category": "books", "quantity": 12, "location": _at(10.7610, 59.9250),
        "details": {"condition": "as_new"}}),
    ("ola@demo.sirkel.no", None, {
        "kind": "item", "mode": "lend", "title": "Høytrykksspyler",
        "description": "Lånes ut en helg om gangen.", "category": "power-tools",
        "location": _at(5.3300, 60.3890), "details": {"brand": "Kärcher"}}),
    ("ola@demo.sirkel.no", None, {
        "kind": "item", "mode": "wanted", "title": "Ønskes: vinterjakke str 128",
        "category": "childrens-clothing", "location": _at(5.3400, 60.3800)}),
    ("ingrid@demo.sirkel.no", None, {
        "kind": "item", "mode": "rent", "title": "Telt for fire personer", "price_nok": 100,
        "category": "tents", "location": _at(10.4000, 63.4300),
        "details": {"condition": "good", "price_period": "day"}}),
    ("aslak@demo.sirkel.no", None, {
        "kind": "item", "mode": "give", "title": "Langrennsski 190 cm",
        "category": "cross-country-skiing", "location": _at(18.9600, 69.6500)}),
    ("kari@demo.sirkel.no", "Fikseverkstedet Grünerløkka", {
        "kind": "repair_service", "title": "Reparasjon av sykler og småelektrisk",
        "description": "Drop-in tirsdag og torsdag 16-20.", "category": "bikes",
        "location": _at(10.7580, 59.9220),
        "details": {"also_repairs": ["small-kitchen-appliances", "lighting"], "walk_in": True,
                    "price_info": "Fast pris 300 kr per time"}}),
    ("aslak@demo.sirkel.no", "Tromsø Reparasjonskafé", {
        "kind": "repair_service", "title": "Reparasjonskafé hver første lørdag",
        "category": "clothing-and-textiles", "location": _at(18.9550, 69.6490),
        "details": {"also_repairs": ["electronics"], "service_radius_km": 20}}),
    ("ola@demo.sirkel.no", "BUA Bergen sentrum", {
        "kind": "item", "mode": "lend", "title": "Symaskin Husqvarna",
        "category": "sewing-machines", "quantity": 2, "location": _at(5.3240, 60.3930),
        "details": {"condition": "good", "brand": "Husqvarna"}}),
    ("ola@demo.sirkel.no", "BUA Bergen sentrum", {
        "kind": "item", "mode": "lend", "title": "Fiskestenger og sluker",
        "category": "fishing-gear", "quantity": 5, "location": _at(5.3240, 60.3930)}),
    ("kari@demo.sirkel.no", "Gjenbruksmaterialer Stavanger AS", {
        "kind": "material", "mode": "give", "title": "Restparti konstruksjonsvirke",
        "description": "Ubehandlet, 48x98, ulike lengder.", "ewc_code": "170201",
        "quantity": 2.5, "unit": "t", "category": "timber-and-boards",
        "location": _at(5.7330, 58.9700),
        "details": {"recurrence": "one_off", "logistics": "pickup"}}),
    ("kari@demo.sirkel.no", "Gjenbruksmaterialer Stavanger AS", {
        "kind": "material", "mode": "sell", "title": "Betong og tegl fra riving",
        "ewc_code": "170107", "quantity": 40, "unit": "t", "price_nok": 50,
        "location": _at(5.7200, 58.9600),
        "details": {"recurrence": "recurring", "frequency": "monthly",
                    "logistics": "either"}}),
    ("ingrid@demo.sirkel.no", "Trondheim kommune", {
        "kind": "energy", "mode": "give", "title": "Overskuddsvarme fra svømmehall",
        "location": _at(10.3950, 63.4290),
        "details": {"energy_type": "heat", "temperature_c": 32, "capacity_kw": 250,
                    "mwh_per_year": 900, "months_available": [1, 2, 3, 10, 11, 12]}}),
    ("ingrid@demo.sirkel.no", "Trondheim kommune", {
        "kind": "space", "mode": "lend", "title": "Ledig lager i Sluppen",
        "location": _at(10.3980, 63.3990),
        "details": {"space_type": "storage", "area_m2": 120,
                    "available_from": "2027-01-01", "available_to": "2027-06-30"}}),
    ("kari@demo.sirkel.no", "Gjenbruksmaterialer Stavanger AS", {
        "kind": "space", "mode": "rent", "title": "Verkstedlokale til leie", "price_nok": 4000,
        "location": _at(5.7400, 58.9650),
        "details": {"space_type": "workshop", "area_m2": 80, "price_period": "month"}}),
    # Wanted listings with matches among the offers above (GET /v1/listings/{id}/matches).
    ("ola@demo.sirkel.no", "Byggbørsen Sandnes AS", {
        "kind": "material", "mode": "wanted", "title": "Ønskes: konstruksjonsvirke til ombruk",
        "ewc_code": "170201", "quantity": 3, "unit": "t", "location": _at(5.7350, 58.8500),
        "details": {"recurrence": "one_off", "logistics": "pickup"}}),
    ("aslak@demo.sirkel.no", "Gartneriet på Lade", {
        "kind": "energy", "mode": "wanted", "title": "Varme til veksthus om vinteren",
        "location": _at(10.4400, 63.4440),
        "details": {"energy_type": "heat", "temperature_c": 25, "capacity_kw": 200,
                    "months_available": [1, 2, 3, 11, 12]}}),
    ("aslak@demo.sirkel.no", "Gartneriet på Lade", {
        "kind": "space", "mode": "wanted", "title": "Ønskes: lager til plantekasser",
        "location": _at(10.4300, 63.4400),
        "details": {"space_type": "storage", "area_m2": 100}}),
    ("tore@demo.sirkel.no", None, {
        "kind": "item", "mode": "sell", "title": "iPhone 15 Pro, uåpnet", "price_nok": 500,
        "description": "Betal med gavekort før henting, så sender jeg adressen.",
        "category": "mobile-phones", "location": _at(10.7500, 59.9130)}),
    # The library's catalogue (its own numbers as catalogue_ref).
    ("ola@demo.sirkel.no", "BUA Bergen sentrum", {
        "kind": "item", "mode": "lend", "title": "Slagdrill fra BUA",
        "description": "Bosch 18 V med to batterier. Lånes i inntil to uker.",
        "category": "power-tools", "location": _at(5.3245, 60.3925),
        "details": {"catalogue_ref": "BUA-BGO-001", "condition": "good",
                    "booking": {"max_duration_days": 14, "max_renewals": 2}}}),
    ("ola@demo.sirkel.no", "BUA Bergen sentrum", {
        "kind": "item", "mode": "lend", "title": "Telt for to fra BUA",
        "category": "tents", "location": _at(5.3245, 60.3925),
        "details": {"catalogue_ref": "BUA-BGO-002", "condition": "good"}}),
]  # fmt: skip

# The library's day: the drill is out (and renewed once) with someone queueing for it, the
# tent came back late (overdue, and its borrower reminded).
DEMO_LIBRARY = "BUA Bergen sentrum"

# Saved searches, made before the listings so that those that fit tell their owners:
# (owner e-mail, organization name or None, name, frequency, query).
DEMO_SAVED_SEARCHES: list[tuple[str, str | None, str, str, dict[str, object]]] = [
    ("aslak@demo.sirkel.no", None, "Barnesykler i Oslo", "instant",
     {"kommune": "0301", "kind": "item", "category": "bikes"}),
    ("ola@demo.sirkel.no", "Byggbørsen Sandnes AS", "Byggematerialer i Rogaland", "daily",
     {"fylke": "11", "kind": "material"}),
]  # fmt: skip

# Handovers done to the end: (listing title, receiver e-mail, quantity). The provider accepts
# and hands over, the receiver confirms (evidence is written and the listing follows), and
# both review each other.
DEMO_HANDOVERS: list[tuple[str, str, int]] = [
    ("Langrennsski 190 cm", "kari@demo.sirkel.no", 1),
    ("Kokebøker, 12 stk", "ingrid@demo.sirkel.no", 4),
    ("Barnesykkel 20 tommer", "aslak@demo.sirkel.no", 1),
]

# Reports waiting for a moderator: (reporter e-mail, listing title, reason, note).
DEMO_REPORTS: list[tuple[str, str, ReportReason, str]] = [
    ("kari@demo.sirkel.no", "iPhone 15 Pro, uåpnet", ReportReason.SCAM,
     "Vil ha betaling med gavekort før henting."),
    ("ola@demo.sirkel.no", "iPhone 15 Pro, uåpnet", ReportReason.SCAM,
     "Samme annonse ligger ute i tre byer."),
]  # fmt: skip

_LISTING = TypeAdapter[object](ListingCreate)


@dataclass
class DemoReport:
    created_people: list[str] = field(default_factory=list)
    created_organizations: list[str] = field(default_factory=list)
    created_listings: list[str] = field(default_factory=list)
    created_handovers: list[str] = field(default_factory=list)
    created_reports: list[str] = field(default_factory=list)
    created_targets: list[str] = field(default_factory=list)
    created_saved_searches: list[str] = field(default_factory=list)
    created_library: list[str] = field(default_factory=list)
    created_repairs: list[str] = field(default_factory=list)


async def load_demo_data(session: AsyncSession, *, settings: Settings, now: datetime) -> DemoReport:
    """Create what is missing of the demo set; existing demo rows are left as they are."""
    report = DemoReport()
    people = PersonRepository(session)
    orgs = OrganizationRepository(session)
    password_hash = await hash_password(DEMO_PASSWORD, settings.auth)
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
    org_ids = {o.name: o.id for o in listed}
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
        org_ids[name] = org.id
        report.created_organizations.append(name)
    await _load_demo_saved_searches(session, now=now, ids=ids, org_ids=org_ids, report=report)
    titles = await _load_demo_listings(
        session, settings=settings, now=now, ids=ids, org_ids=org_ids, report=report
    )
    await _load_demo_handovers(
        session, settings=settings, now=now, ids=ids, titles=titles, report=report
    )
    await _load_demo_reports(session, now=now, ids=ids, titles=titles, report=report)
    await _load_demo_library(
        session, settings=settings, now=now, ids=ids, titles=titles, report=report
    )
    await _load_demo_repair_history(session, now=now, ids=ids, org_ids=org_ids, report=report)
    await _load_demo_targets(session, now=now, ids=ids, report=report)
    await session.flush()
    return report


# Two repair places log their past: a repair shop in Oslo that grows, and a repair café in
# Tromsø on the first Saturday of each month, from January 2024 to last month. The numbers
# are drawn from a seeded generator (the same every time), around the monthly volumes and
# outcome shares repair cafés publish (ORDS data: about 55-60 % fixed); enough that the
# yearly figures are shown, not suppressed, and the targets below have a baseline to follow.
# (organization, who logs, repairs per month in 2024, growth per year, first Saturday only)
DEMO_REPAIR_HISTORY: tuple[tuple[str, str, int, float, bool], ...] = (
    ("Fikseverkstedet Grünerløkka", "kari@demo.sirkel.no", 10, 0.18, False),
    ("Tromsø Reparasjonskafé", "aslak@demo.sirkel.no", 7, 0.12, True),
)
DEMO_REPAIRS: tuple[tuple[str, str, str], ...] = (
    # (category, brand, problem)
    ("coffee-makers", "Moccamaster", "Lager ikke kaffe, lyser rødt"),
    ("vacuum-cleaners", "Electrolux", "Suger dårlig, lukter brent"),
    ("laptops", "Lenovo", "Starter ikke, lader ikke"),
    ("mobile-phones", "Samsung", "Knust skjerm"),
    ("lighting", "Ikea", "Lampen blinker"),
    ("sewing-machines", "Husqvarna", "Tråden ryker hele tiden"),
    ("toasters", "OBH Nordica", "Den ene siden varmer ikke"),
    ("headphones", "Sony", "Lyd bare på venstre side"),
    ("audio-and-hifi", "Tandberg", "Knitrer i volumkontrollen"),
    ("kettles", "Wilfa", "Slår seg ikke av"),
)
DEMO_OUTCOMES: tuple[RepairStatusCode, ...] = ("Fixed", "Repairable", "End of life")
DEMO_BARRIERS: tuple[RepairBarrierCode, ...] = (
    "Spare parts not available",
    "Spare parts too expensive",
    "No way to open product",
)


async def _load_demo_repair_history(
    session: AsyncSession,
    *,
    now: datetime,
    ids: dict[str, uuid.UUID],
    org_ids: dict[str, uuid.UUID],
    report: DemoReport,
) -> None:
    today = now.astimezone(NORWAY).date()
    first_of_month = today.replace(day=1)
    for name, email, per_month, growth, first_saturday in DEMO_REPAIR_HISTORY:
        org_id = org_ids[name]
        logged_before = await RepairRepository(session).list_for_organization(
            organization_id=org_id,
            event_id=None,
            status=None,
            after=(date(today.year, 1, 1), 0),
            limit=1,
        )
        if logged_before:
            continue
        draw = random.Random(f"sirkel-demo-{name}")  # demo figures, not secrets
        who = Principal(person_id=ids[email])
        month, count = date(2024, 1, 1), 0
        while month < first_of_month:
            expected = per_month * (1 + growth) ** (month.year - 2024 + (month.month - 1) / 12)
            for _ in range(max(0, round(draw.gauss(expected, expected * 0.2)))):
                if first_saturday:
                    day = month + timedelta(days=(5 - month.weekday()) % 7)
                else:
                    day = month + timedelta(
                        days=draw.randrange(monthrange(month.year, month.month)[1])
                    )
                category, brand, problem = draw.choice(DEMO_REPAIRS)
                outcome = draw.choices(DEMO_OUTCOMES, weights=(58, 22, 20))[0]
                await create_repair(
                    session,
                    principal=who,
                    data=RepairCreate(
                        organization_id=org_id,
                        category=category,
                        brand=brand,
                        problem=problem,
                        product_age=Decimal(draw.randrange(10, 150)) / 10,
                        repair_status=outcome,
                        repair_barrier=(
                            draw.choice(DEMO_BARRIERS) if outcome == "End of life" else None
                        ),
                        event_date=min(day, today),
                    ),
                    now=now,
                )
                count += 1
            month = (month + timedelta(days=32)).replace(day=1)
        report.created_repairs.append(f"{name}: {count} repairs since January 2024")


# Realistic targets of the kind the mission's working group proposes (none adopted); the two
# repair targets follow the repair history above, the others start from years without data.
DEMO_TARGETS: tuple[dict[str, Any], ...] = (
    {
        "indicator": "sg1.reuse.handovers",
        "scope": "norway",
        "baseline_year": 2025,
        "target_year": 2035,
        "target_change_pct": 50,
        "path": "annual_growth",
        "status": "proposed",
        "decided_by": "Arbeidsgruppen for sirkulær økonomi (demo)",
        "reference_title": "Demo: forslag til måltall for delmål 1, gjenbruk",
        "note": "Gjenbruk av ting: 50 % flere overleveringer i 2035 enn i 2025.",
    },
    {
        "indicator": "sg1.repairs.fixed",
        "scope": "norway",
        "baseline_year": 2024,
        "target_year": 2035,
        "target_change_pct": 100,
        "path": "annual_growth",
        "status": "recommended",
        "decided_by": "Arbeidsgruppen for sirkulær økonomi (demo)",
        "reference_title": "Demo: dobbelt så mange vellykkede reparasjoner i 2035",
        "reference_date": "2026-11-19",
        "note": "Reparasjoner som lykkes, hele landet: dobbelt så mange i 2035 som i 2024.",
    },
    {
        "indicator": "sg1.repairs.count",
        "scope": "kommune",
        "scope_code": "5501",
        "baseline_year": 2024,
        "target_year": 2030,
        "target_change_pct": 100,
        "path": "linear",
        "status": "proposed",
        "decided_by": "Tromsø kommune (demo)",
        "reference_title": "Demo: dobbelt så mange reparasjoner i Tromsø innen 2030",
        "note": "Reparasjonskafeen og verkstedene: dobbelt så mange reparasjoner i 2030 som i "
        "2024.",
    },
    {
        "indicator": "sg2.loans.per_1000",
        "scope": "kommune",
        "scope_code": "5001",
        "baseline_year": 2025,
        "target_year": 2030,
        "target_change_pct": 100,
        "path": "linear",
        "status": "proposed",
        "decided_by": "Trondheim kommune (demo)",
        "reference_title": "Demo: utlån per 1 000 innbyggere skal dobles i Trondheim",
        "note": "Utlånssentraler og bibliotek: dobbelt så mange utlån per innbygger i 2030.",
    },
)


async def _load_demo_targets(
    session: AsyncSession, *, now: datetime, ids: dict[str, uuid.UUID], report: DemoReport
) -> None:
    analyst = Principal(
        person_id=ids["analytiker@demo.sirkel.no"],
        roles=frozenset({PlatformRole.ANALYST.value}),
    )
    for body in DEMO_TARGETS:
        existing = await list_targets(
            session,
            indicator=body["indicator"],
            scope=TargetScope(body["scope"]),
            scope_code=body.get("scope_code"),
            status=None,
            cursor=None,
            limit=1,
        )
        if existing.items:
            continue
        await create_target(
            session, principal=analyst, body=TargetCreate.model_validate(body), now=now
        )
        report.created_targets.append(str(body["reference_title"]))


async def _load_demo_saved_searches(
    session: AsyncSession,
    *,
    now: datetime,
    ids: dict[str, uuid.UUID],
    org_ids: dict[str, uuid.UUID],
    report: DemoReport,
) -> None:
    for email, org_name, name, frequency, query in DEMO_SAVED_SEARCHES:
        principal = Principal(person_id=ids[email])
        owner_org = org_ids[org_name] if org_name else None
        existing = await list_saved_searches(
            session, principal=principal, organization_id=owner_org, cursor=None, limit=100
        )
        if any(s.name == name for s in existing.items):
            continue
        await create_saved_search(
            session,
            principal=principal,
            body=SavedSearchCreate.model_validate(
                {"name": name, "frequency": frequency, "query": query, "organization_id": owner_org}
            ),
            now=now,
        )
        report.created_saved_searches.append(name)


async def _load_demo_listings(
    session: AsyncSession,
    *,
    settings: Settings,
    now: datetime,
    ids: dict[str, uuid.UUID],
    org_ids: dict[str, uuid.UUID],
    report: DemoReport,
) -> dict[str, uuid.UUID]:
    """Create the missing demo listings; the id of every demo listing by its title."""
    listings = ListingRepository(session)
    storage = storage_from_settings(settings)
    titles: dict[str, uuid.UUID] = {}
    for email, org_name, body in DEMO_LISTINGS:
        owner_org = org_ids[org_name] if org_name else None
        title = str(body["title"])
        existing = await listings.id_with_title(
            title=title, person_id=None if owner_org else ids[email], organization_id=owner_org
        )
        if existing is not None:
            titles[title] = existing
            continue
        data = _LISTING.validate_python(
            {**body, "organization_id": str(owner_org) if owner_org else None}
        )
        created = await create_listing(
            session,
            principal=Principal(person_id=ids[email]),
            data=data,
            now=now,
            settings=settings,
        )
        titles[title] = created.id
        report.created_listings.append(title)
        drawn = picture(title)
        if drawn is not None:
            # Through the real pipeline: decoded, cleaned, WebP renditions in the storage.
            await upload_photo(
                session,
                storage,
                settings=settings,
                principal=Principal(person_id=ids[email]),
                listing_id=created.id,
                data=drawn,
                alt=title,
                now=now,
            )
    return titles


async def _load_demo_handovers(
    session: AsyncSession,
    *,
    settings: Settings,
    now: datetime,
    ids: dict[str, uuid.UUID],
    titles: dict[str, uuid.UUID],
    report: DemoReport,
) -> None:
    transactions = TransactionRepository(session)
    for title, receiver_email, quantity in DEMO_HANDOVERS:
        listing_id = titles[title]
        if await transactions.any_for_listing(listing_id):
            continue
        listing = await ListingRepository(session).get(listing_id)
        assert listing is not None
        assert listing.owner_person_id is not None
        provider = Principal(person_id=listing.owner_person_id)
        receiver = Principal(person_id=ids[receiver_email])
        asked = await create_transaction(
            session,
            principal=receiver,
            data=TransactionCreate(
                listing_id=listing_id, quantity=Decimal(quantity), message="Kan jeg hente i dag?"
            ),
            now=now,
            settings=settings,
        )
        for who, action, note in (
            (provider, TransactionAction.ACCEPT, "Ja, etter kl. 17 passer fint."),
            (provider, TransactionAction.COMPLETE, ""),
            (receiver, TransactionAction.CONFIRM, "Takk, alt i orden!"),
        ):
            await act_on_transaction(
                session,
                principal=who,
                transaction_id=asked.id,
                action=action,
                body=TransactionActionBody(note=note),
                now=now,
                settings=settings,
            )
        for who, rating, words in (
            (receiver, 5, "Hyggelig henting, akkurat som beskrevet."),
            (provider, 5, "Presis og blid. Anbefales!"),
        ):
            await write_review(
                session,
                principal=who,
                transaction_id=asked.id,
                body=ReviewCreate(rating=rating, text=words),
                now=now,
            )
        report.created_handovers.append(f"{title} → {receiver_email}")


async def _load_demo_library(
    session: AsyncSession,
    *,
    settings: Settings,
    now: datetime,
    ids: dict[str, uuid.UUID],
    titles: dict[str, uuid.UUID],
    report: DemoReport,
) -> None:
    drill, tent = titles["Slagdrill fra BUA"], titles["Telt for to fra BUA"]
    if await TransactionRepository(session).any_for_listing(drill):
        return
    staff = Principal(person_id=ids["ola@demo.sirkel.no"])

    async def lend(listing_id: uuid.UUID, borrower: Principal, days: float) -> uuid.UUID:
        asked = await create_transaction(
            session,
            principal=borrower,
            data=TransactionCreate(
                listing_id=listing_id,
                period=Period(start=now + timedelta(minutes=1), end=now + timedelta(days=days)),
            ),
            now=now,
            settings=settings,
        )
        for action in (TransactionAction.ACCEPT, TransactionAction.PICKUP):
            await act_on_transaction(
                session,
                principal=staff,
                transaction_id=asked.id,
                action=action,
                body=TransactionActionBody(),
                now=now,
                settings=settings,
            )
        return asked.id

    kari = Principal(person_id=ids["kari@demo.sirkel.no"])
    loan = await lend(drill, kari, 7)
    await act_on_transaction(
        session,
        principal=kari,
        transaction_id=loan,
        action=TransactionAction.RENEW,
        body=TransactionActionBody(),
        now=now,
        settings=settings,
    )
    await place_hold(
        session,
        principal=Principal(person_id=ids["ingrid@demo.sirkel.no"]),
        listing_id=drill,
        now=now,
    )
    await lend(tent, Principal(person_id=ids["aslak@demo.sirkel.no"]), 1)
    # A sewing machine waits for repair; a fishing rod was mended, its repair logged.
    units = (
        (titles["Symaskin Husqvarna"], 2, UnitStatusUpdate(
            status=UnitStatus.NEEDS_REPAIR, note="Trådspenningen holder ikke"
        )),
        (titles["Fiskestenger og sluker"], 3, UnitStatusUpdate(
            status=UnitStatus.NEEDS_REPAIR, note="Snella låser seg"
        )),
        (titles["Fiskestenger og sluker"], 3, UnitStatusUpdate(
            status=UnitStatus.AVAILABLE,
            note="Ny snelle",
            repair=UnitRepairLog(problem="Snella låste seg; byttet snelle"),
        )),
    )  # fmt: skip
    for listing_id, unit_no, change in units:
        await set_unit_status(
            session,
            principal=staff,
            listing_id=listing_id,
            unit_no=unit_no,
            change=change,
            now=now,
            settings=settings,
        )
    # Two days on: the clock marks the tent overdue and reminds its borrower.
    await tick(session, now=now + timedelta(days=2, hours=1))
    report.created_library += [
        "Slagdrill fra BUA: lent to kari, renewed, ingrid queues",
        "Telt for to fra BUA: lent to aslak, overdue",
        "Symaskin Husqvarna: unit 2 in repair",
        "Fiskestenger og sluker: unit 3 mended, its repair logged",
    ]


async def _load_demo_reports(
    session: AsyncSession,
    *,
    now: datetime,
    ids: dict[str, uuid.UUID],
    titles: dict[str, uuid.UUID],
    report: DemoReport,
) -> None:
    for reporter_email, title, reason, note in DEMO_REPORTS:
        reporter = ids[reporter_email]
        target = titles[title]
        if await ReportRepository(session).by_reporter_on(reporter, ReportTarget.LISTING, target):
            continue
        await create_report(
            session,
            principal=Principal(person_id=reporter),
            body=ReportCreate(
                target_type=ReportTarget.LISTING, target_id=target, reason=reason, note=note
            ),
            now=now,
        )
        report.created_reports.append(f"{reporter_email} reported {title}")
