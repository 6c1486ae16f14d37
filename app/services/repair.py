"""Repair events, repairs logged by repair shops and cafés, and the ORDS export (imports are
jobs: ``app.services.repair_import``).

**Who.** Events and repairs belong to an organization. Logging, correcting and importing are
``OrgAction.WRITE_LISTINGS`` (any member, or an API key with ``listings:write``), as is
reading the organization's own repairs; moderators and analysts read any repair. Events are
public: repair cafés announce them. A repair that does not exist is a 404; one the caller may
not read is a 403 (its existence is no secret: every repair is in the open ORDS export).

**Categories.** A repair names one of our categories (its ORDS product category is that of the
category or its nearest ancestor that has one, else 18 Misc) or an ORDS product category
directly. ORDS categories map back to ours (``RepairRepository.category_for_ords``: the
category closest to the root, never one for Misc), so a Fixed repair of an imported or
ORDS-only record is counted with our category's reuse factor.

**Places and days.** A logged repair is in its event's kommune, else in the organization's.
Its ``event_date`` defaults to the event's day, else today, in Norwegian time, and is never in
the future. Imported records keep their country and have no kommune (ORDS says nothing finer
than the country).

**Evidence.** Each logged repair appends one record (+1, ``logged``, graded ``reported``);
each newly imported one (+1, ``imported``, graded ``imported``). A record's ``occurred_at`` is
the start of the repair's day in Norwegian time (ORDS has only the date). A correction that
changes what counts (outcome, category, kg, CO2e, factor revision) takes the counted record
back and counts the repair again with the new figures (``corrected``, same grade), at the
time of the correction. The ledger is written last: its lock is held until commit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import (
    ForbiddenError,
    ForeignRepairEventError,
    InvalidInputError,
    OrganizationNotFoundError,
    PointOutsideNorwayError,
    RepairEventNotFoundError,
    RepairNotEditableError,
    RepairNotFoundError,
    UnknownCategoryError,
    UnknownKommuneError,
    UnknownRepairEventError,
)
from app.errors import OutsideNorwayError as LookupOutsideNorwayError
from app.geo import point_element
from app.models import Organization, Repair, RepairEvent, Transaction
from app.models.evidence import EvidenceEvent, EvidenceGrade
from app.models.person import PlatformRole
from app.pagination import decode_cursor, decode_time_id_cursor, encode_cursor, invalid_cursor
from app.repositories.evidence import EvidenceDraft, PartyRef
from app.repositories.geography import GeographyRepository
from app.repositories.organization import OrganizationRepository
from app.repositories.repair import ORDS_MISC_ID, RepairRepository
from app.schemas.listing import Point
from app.schemas.repair import (
    ProductCategoryRead,
    RepairCreate,
    RepairEventCreate,
    RepairEventPage,
    RepairEventRead,
    RepairEventUpdate,
    RepairImpactRead,
    RepairPage,
    RepairRead,
    RepairUpdate,
    check_event_period,
)
from app.services import evidence as evidence_service
from app.services import geography
from app.services.impact import factors as impact
from app.services.impact.periods import NORWAY
from app.services.ords import (
    ORDS_PRODUCT_CATEGORIES,
    OrdsRecord,
    RepairBarrier,
    RepairStatus,
)
from app.services.policy import OrgAction, Principal, authorize_org

DATA_PROVIDER = "Sirkel"
COUNTRY = "NOR"
END_OF_LIFE = "End of life"
EXPORT_PAGE_SIZE = 1000
READER_ROLES = (PlatformRole.MODERATOR, PlatformRole.ANALYST)
ORDS_NAMES: Mapping[int, str] = dict(ORDS_PRODUCT_CATEGORIES)


def local_date(moment: datetime) -> date:
    """The day in Norway at ``moment``."""
    return moment.astimezone(NORWAY).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=NORWAY).astimezone(UTC)


# --- who ------------------------------------------------------------------------------------


async def _organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    org = await OrganizationRepository(session).get(organization_id)
    if org is None:
        raise OrganizationNotFoundError(f"No organization has the id {organization_id}.")
    return org


async def _authorize_write(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID
) -> None:
    await authorize_org(session, principal, organization_id, OrgAction.WRITE_LISTINGS)


async def _authorize_read(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID | None
) -> None:
    if any(principal.has_role(role) for role in READER_ROLES):
        return
    if organization_id is None:
        raise ForbiddenError("Only moderators and analysts read repairs reported by persons.")
    await _authorize_write(session, principal, organization_id)


# --- places ---------------------------------------------------------------------------------


async def _kommune_exists(session: AsyncSession, kommunenummer: str) -> None:
    if not await GeographyRepository(session).kommune_exists(kommunenummer):
        raise UnknownKommuneError.for_number(kommunenummer)


async def _locate(session: AsyncSession, point: Point) -> str:
    try:
        hit = await geography.locate(session, lat=point.lat, lon=point.lon)
    except LookupOutsideNorwayError as exc:
        raise PointOutsideNorwayError.for_field(
            exc.detail or "The point is outside Norway.",
            field="location.coordinates",
            message="Not in a Norwegian kommune",
            type="outside_norway",
        ) from None
    return hit.kommune.number


async def _event_kommune(
    session: AsyncSession,
    *,
    point: Point | None,
    point_changed: bool,
    given: str | None,
    kommune_given: bool,
    current: str | None,
) -> str | None:
    """The event's kommune: with a point, always the point's (a kommunenummer sent with it
    must agree); without one, the kommunenummer given, else the one it had."""
    if point is not None and (point_changed or kommune_given):
        located = await _locate(session, point)
        if kommune_given and given is not None and given != located:
            raise InvalidInputError.for_field(
                f"The location is in kommune {located}, not {given}.",
                field="kommunenummer",
                message="Not the kommune of the location",
                type="value_error",
            )
        return located
    if kommune_given:
        if given is not None:
            await _kommune_exists(session, given)
        return given
    return current


def _geom(point: Point | None) -> WKTElement | None:
    return None if point is None else point_element(point.lon, point.lat)


# --- repair events --------------------------------------------------------------------------


def _event_read(event: RepairEvent, point: tuple[float, float] | None) -> RepairEventRead:
    """The event as read; times in UTC, as the database gives them back."""
    return RepairEventRead(
        id=event.id,
        organization_id=event.organization_id,
        title=event.title,
        description=event.description,
        starts_at=event.starts_at.astimezone(UTC),
        ends_at=event.ends_at.astimezone(UTC),
        address=event.address,
        location=None if point is None else Point(type="Point", coordinates=point),
        kommunenummer=event.kommunenummer,
        fylkesnummer=event.fylkesnummer,
        participants=event.participants,
        volunteers=event.volunteers,
        created_at=event.created_at.astimezone(UTC),
        updated_at=event.updated_at.astimezone(UTC),
    )


async def _render_event(session: AsyncSession, event: RepairEvent) -> RepairEventRead:
    point = await RepairRepository(session).event_point(event.id)
    return _event_read(event, point)


async def create_event(
    session: AsyncSession, *, principal: Principal, data: RepairEventCreate, now: datetime
) -> RepairEventRead:
    await _organization(session, data.organization_id)
    await _authorize_write(session, principal, data.organization_id)
    repo = RepairRepository(session)
    kommune = await _event_kommune(
        session,
        point=data.location,
        point_changed=data.location is not None,
        given=data.kommunenummer,
        kommune_given=data.kommunenummer is not None,
        current=None,
    )
    event = RepairEvent(
        id=uuid.uuid4(),
        organization_id=data.organization_id,
        title=data.title,
        description=data.description,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        address=data.address,
        geom=_geom(data.location),
        kommunenummer=kommune,
        fylkesnummer=await repo.fylke_of(kommune) if kommune else None,
        participants=data.participants,
        volunteers=data.volunteers,
        created_by_person_id=principal.person_id,
        created_at=now,
        updated_at=now,
    )
    await repo.add_event(event)
    return await _render_event(session, event)


async def get_event(session: AsyncSession, *, event_id: uuid.UUID) -> RepairEventRead:
    event = await RepairRepository(session).get_event(event_id)
    if event is None:
        raise RepairEventNotFoundError(f"No repair event has the id {event_id}.")
    return await _render_event(session, event)


_EVENT_REQUIRED = ("title", "starts_at", "ends_at")


def _cannot_clear(field: str) -> InvalidInputError:
    return InvalidInputError.for_field(
        f"{field} is required.", field=field, message="Cannot be cleared", type="value_error"
    )


def _refuse_clearing(patch: Mapping[str, Any], required: tuple[str, ...]) -> None:
    """A patch may leave out a required field, not set it to null."""
    for name in required:
        if name in patch and patch[name] is None:
            raise _cannot_clear(name)


async def update_event(
    session: AsyncSession,
    *,
    principal: Principal,
    event_id: uuid.UUID,
    changes: RepairEventUpdate,
    now: datetime,
) -> RepairEventRead:
    repo = RepairRepository(session)
    event = await repo.get_event(event_id, for_update=True)
    if event is None:
        raise RepairEventNotFoundError(f"No repair event has the id {event_id}.")
    await _authorize_write(session, principal, event.organization_id)
    patch = changes.model_dump(exclude_unset=True)
    _refuse_clearing(patch, _EVENT_REQUIRED)
    starts_at = changes.starts_at or event.starts_at
    ends_at = changes.ends_at or event.ends_at
    try:
        check_event_period(starts_at, ends_at)
    except ValueError as exc:
        raise InvalidInputError.for_field(
            f"The event's times: {exc}.", field="ends_at", message=str(exc), type="value_error"
        ) from None
    current = await repo.event_point(event.id)
    point = (
        changes.location
        if "location" in patch
        else (None if current is None else Point(type="Point", coordinates=current))
    )
    kommune = await _event_kommune(
        session,
        point=point,
        point_changed="location" in patch,
        given=changes.kommunenummer,
        kommune_given="kommunenummer" in patch,
        current=event.kommunenummer,
    )
    for name in ("title", "description", "address", "participants", "volunteers"):
        if name in patch:
            setattr(event, name, getattr(changes, name))
    event.starts_at, event.ends_at = starts_at, ends_at
    if "location" in patch:
        event.geom = _geom(changes.location)
    if kommune != event.kommunenummer:
        event.kommunenummer = kommune
        event.fylkesnummer = await repo.fylke_of(kommune) if kommune else None
    event.updated_at = now
    await repo.flush()
    return await _render_event(session, event)


async def list_events(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID | None,
    kommunenummer: str | None,
    starts_from: datetime | None,
    starts_to: datetime | None,
    cursor: str | None,
    limit: int,
    bbox: tuple[float, float, float, float] | None = None,
) -> RepairEventPage:
    after = None
    if cursor is not None:
        after = decode_time_id_cursor(cursor, time="s", id="id", aware=True)
    await geography.check_kommune_filter(session, kommunenummer)
    rows = await RepairRepository(session).list_events(
        organization_id=organization_id,
        kommunenummer=kommunenummer,
        starts_from=starts_from,
        starts_to=starts_to,
        after=after,
        limit=limit + 1,
        bbox=bbox,
    )
    items = [
        _event_read(event, None if lon is None or lat is None else (lon, lat))
        for event, lon, lat in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor({"s": last.starts_at.isoformat(), "id": str(last.id)})
    return RepairEventPage(items=items, next_cursor=next_cursor)


# --- repairs --------------------------------------------------------------------------------


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def render_repair(repair: Repair) -> RepairRead:
    return RepairRead(
        id=repair.id,
        ords_id=f"sirkel_{repair.ords_seq}",
        organization_id=repair.organization_id,
        event_id=repair.event_id,
        source=repair.source,
        data_provider=repair.data_provider,
        provider_record_id=repair.provider_record_id,
        country=repair.country,
        category=repair.category_slug,
        partner_product_category=repair.partner_product_category,
        product_category=ProductCategoryRead(
            id=repair.ords_category_id, name=ORDS_NAMES[repair.ords_category_id]
        ),
        brand=repair.brand,
        year_of_manufacture=repair.year_of_manufacture,
        product_age=_float(repair.product_age),
        repair_status=repair.repair_status,
        repair_barrier=repair.repair_barrier,
        group_identifier=repair.group_identifier,
        event_date=repair.event_date,
        problem=repair.problem,
        kommunenummer=repair.kommunenummer,
        fylkesnummer=repair.fylkesnummer,
        impact=RepairImpactRead(
            kg_diverted=_float(repair.kg_diverted),
            co2e_kg=_float(repair.co2e_kg),
            factor_revision=repair.factor_revision,
        ),
        release=repair.release,
        withdrawn_at=repair.withdrawn_at,
        created_at=repair.created_at,
        updated_at=repair.updated_at,
    )


@dataclass(frozen=True, slots=True)
class _Category:
    """The categories a repair is counted in: ours (for the reuse factor) and the ORDS one."""

    slug: str | None
    ords_id: int


async def _category(session: AsyncSession, *, slug: str | None, ords_id: int | None) -> _Category:
    repo = RepairRepository(session)
    if slug is not None:
        found = await repo.category_ords(slug)
        if found is None:
            raise UnknownCategoryError.for_field(
                f"No category has the slug {slug!r}; see /v1/categories.",
                field="category",
                message=f"Unknown category {slug!r}",
                type="unknown_category",
            )
        return _Category(found.slug, found.ords_category_id or ORDS_MISC_ID)
    assert ords_id is not None
    return _Category((await repo.category_for_ords()).get(ords_id), ords_id)


async def _default_partner_category(session: AsyncSession, category: _Category) -> str:
    """``partner_product_category`` when none is given: our category's English name, else
    the ORDS category's."""
    if category.slug is not None:
        found = await RepairRepository(session).category_ords(category.slug)
        if found is not None:
            return found.name_en
    return ORDS_NAMES[category.ords_id]


def _check_event_date(event_date: date, *, now: datetime) -> None:
    if event_date > local_date(now):
        raise InvalidInputError.for_field(
            f"The repair's day {event_date} has not come yet.",
            field="event_date",
            message="Must not be in the future",
            type="value_error",
        )


async def _event_of(
    session: AsyncSession, event_id: uuid.UUID, organization_id: uuid.UUID
) -> RepairEvent:
    event = await RepairRepository(session).get_event(event_id)
    if event is None:
        raise UnknownRepairEventError.for_field(
            f"No repair event has the id {event_id}.",
            field="event_id",
            message="Unknown repair event",
            type="unknown_repair_event",
        )
    if event.organization_id != organization_id:
        raise ForeignRepairEventError.for_field(
            "A repair can only be logged at the organization's own events.",
            field="event_id",
            message="The event is another organization's",
            type="event_of_another_organization",
        )
    return event


def _evidence_figures(repair: Repair) -> dict[str, Any]:
    """What a repair's evidence record counts, under the ledger's column names."""
    return {
        "category_slug": repair.category_slug,
        "ords_category_id": repair.ords_category_id,
        "repair_status": repair.repair_status,
        "kg_diverted": repair.kg_diverted,
        "co2e_kg": repair.co2e_kg,
        "factor_revision": repair.factor_revision,
    }


def store_impact(row: Repair | Transaction, result: impact.Impact) -> None:
    """A computed impact, stored with its factor revision on the repair or transaction it
    counts."""
    row.factor_revision = result.factor_revision
    row.kg_diverted = result.kg_diverted
    row.co2e_kg = result.co2e_kg


def _repair_evidence(
    repair: Repair,
    *,
    event: EvidenceEvent,
    grade: EvidenceGrade,
    organization_id: uuid.UUID,
    kommunenummer: str | None = None,
    fylkesnummer: str | None = None,
    initiative_id: uuid.UUID | None = None,
) -> EvidenceDraft:
    """The record that counts a repair logged or imported by an organization, on its day."""
    return EvidenceDraft(
        occurred_at=start_of_day(repair.event_date),
        event=event,
        grade=grade,
        type="repair",
        subgoal="SG1",
        provider=PartyRef(organization_id=organization_id),
        repair_id=repair.id,
        kommunenummer=kommunenummer,
        fylkesnummer=fylkesnummer,
        category_slug=repair.category_slug,
        ords_category_id=repair.ords_category_id,
        repair_status=repair.repair_status,
        kg_diverted=repair.kg_diverted,
        co2e_kg=repair.co2e_kg,
        factor_revision=repair.factor_revision,
        initiative_id=initiative_id,
        country=repair.country,
    )


async def create_repair(
    session: AsyncSession, *, principal: Principal, data: RepairCreate, now: datetime
) -> RepairRead:
    org = await _organization(session, data.organization_id)
    await _authorize_write(session, principal, org.id)
    event = await _event_of(session, data.event_id, org.id) if data.event_id else None
    category = await _category(session, slug=data.category, ords_id=data.product_category_id)
    event_date = data.event_date or local_date(event.starts_at if event else now)
    _check_event_date(event_date, now=now)
    repo = RepairRepository(session)
    kommune: str | None
    fylke: str | None
    if event is not None and event.kommunenummer is not None:
        kommune, fylke = event.kommunenummer, event.fylkesnummer
    else:
        kommune = org.kommunenummer
        fylke = await repo.fylke_of(kommune) if kommune else None
    repair_id = uuid.uuid4()
    repair = Repair(
        id=repair_id,
        organization_id=org.id,
        source="logged",
        event_id=event.id if event else None,
        data_provider=DATA_PROVIDER,
        provider_record_id=str(repair_id),
        country=COUNTRY,
        partner_product_category=data.partner_product_category
        or await _default_partner_category(session, category),
        ords_category_id=category.ords_id,
        category_slug=category.slug,
        brand=data.brand,
        year_of_manufacture=data.year_of_manufacture,
        product_age=data.product_age,
        repair_status=data.repair_status,
        repair_barrier=data.repair_barrier,
        group_identifier=org.name,
        event_date=event_date,
        problem=data.problem or "",
        kommunenummer=kommune,
        fylkesnummer=fylke,
        created_at=now,
        updated_at=now,
    )
    store_impact(
        repair,
        await impact.repair_impact(
            session, category_slug=category.slug, repair_status=data.repair_status
        ),
    )
    await repo.add(repair)
    await evidence_service.record(
        session,
        _repair_evidence(
            repair,
            event=EvidenceEvent.LOGGED,
            grade=EvidenceGrade.REPORTED,
            organization_id=org.id,
            kommunenummer=kommune,
            fylkesnummer=fylke,
            initiative_id=event.initiative_id if event is not None else None,
        ),
    )
    return render_repair(repair)


async def get_repair(
    session: AsyncSession, *, principal: Principal, repair_id: uuid.UUID
) -> RepairRead:
    repair = await RepairRepository(session).get(repair_id)
    if repair is None:
        raise RepairNotFoundError(f"No repair has the id {repair_id}.")
    await _authorize_read(session, principal, repair.organization_id)
    return render_repair(repair)


async def list_repairs(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    event_id: uuid.UUID | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> RepairPage:
    after = None
    if cursor is not None:
        key = decode_cursor(cursor, required=("d", "n"))
        try:
            seq = key["n"]
            if not isinstance(seq, int) or isinstance(seq, bool):
                raise ValueError("seq")
            after = (date.fromisoformat(str(key["d"])), seq)
        except (ValueError, TypeError):
            raise invalid_cursor() from None
    await _organization(session, organization_id)
    await _authorize_read(session, principal, organization_id)
    rows = await RepairRepository(session).list_for_organization(
        organization_id=organization_id,
        event_id=event_id,
        status=status,
        after=after,
        limit=limit + 1,
    )
    items = [render_repair(repair) for repair in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"d": last.event_date.isoformat(), "n": last.ords_seq})
    return RepairPage(items=items, next_cursor=next_cursor)


async def update_repair(
    session: AsyncSession,
    *,
    principal: Principal,
    repair_id: uuid.UUID,
    changes: RepairUpdate,
    now: datetime,
) -> RepairRead:
    repo = RepairRepository(session)
    repair = await repo.get(repair_id, for_update=True)
    if repair is None:
        raise RepairNotFoundError(f"No repair has the id {repair_id}.")
    if repair.organization_id is None:
        raise ForbiddenError("A repair a person reported is corrected through its transaction.")
    await _authorize_write(session, principal, repair.organization_id)
    if repair.source != "logged":
        raise RepairNotEditableError(
            "Repairs reported through a transaction are corrected through the transaction; "
            "imported repairs are their provider's published data."
        )
    patch = changes.model_dump(exclude_unset=True)
    _refuse_clearing(patch, ("repair_status", "event_date"))
    new_slug, new_ords = patch.get("category"), patch.get("product_category_id")
    if ("category" in patch or "product_category_id" in patch) and (
        new_slug is None and new_ords is None
    ):
        raise _cannot_clear("category")
    before = _evidence_figures(repair)

    old_category = _Category(repair.category_slug, repair.ords_category_id)
    category = old_category
    if new_slug is not None or new_ords is not None:
        category = await _category(session, slug=new_slug, ords_id=new_ords)
        repair.category_slug = category.slug
        repair.ords_category_id = category.ords_id
    if changes.partner_product_category is not None:
        repair.partner_product_category = changes.partner_product_category
    elif "partner_product_category" in patch or (
        # A defaulted name follows the category; one the organization chose stays.
        category != old_category
        and repair.partner_product_category
        == await _default_partner_category(session, old_category)
    ):
        repair.partner_product_category = await _default_partner_category(session, category)

    status = changes.repair_status or repair.repair_status
    barrier: str | None
    if "repair_barrier" in patch:
        barrier = changes.repair_barrier
    else:
        barrier = repair.repair_barrier if status == END_OF_LIFE else None
    if barrier is not None and status != END_OF_LIFE:
        raise InvalidInputError.for_field(
            "repair_barrier is only given when the outcome is End of life.",
            field="repair_barrier",
            message="Only for End of life",
            type="value_error",
        )
    repair.repair_status = status
    repair.repair_barrier = barrier
    if changes.event_date is not None:
        _check_event_date(changes.event_date, now=now)
        repair.event_date = changes.event_date
    if "brand" in patch:
        repair.brand = changes.brand
    if "year_of_manufacture" in patch:
        repair.year_of_manufacture = changes.year_of_manufacture
    if "product_age" in patch:
        repair.product_age = changes.product_age
    if "problem" in patch:
        repair.problem = changes.problem or ""
    store_impact(
        repair,
        await impact.repair_impact(
            session, category_slug=repair.category_slug, repair_status=repair.repair_status
        ),
    )
    repair.updated_at = now
    await repo.flush()

    after = _evidence_figures(repair)
    if after != before:
        await evidence_service.amend_counted(
            session,
            repair_id=repair.id,
            event=EvidenceEvent.CORRECTED,
            occurred_at=now,
            changes={k: v for k, v in after.items() if before[k] != v},
        )
    return render_repair(repair)


# --- ORDS export ----------------------------------------------------------------------------


def _ords_record(row: RowMapping) -> OrdsRecord:
    category_name = ORDS_NAMES[row["ords_category_id"]]
    barrier = row["repair_barrier"]
    return OrdsRecord(
        id=f"sirkel_{row['ords_seq']}",
        data_provider=row["data_provider"],
        country=row["country"],
        partner_product_category=(row["partner_product_category"] or "").strip() or category_name,
        product_category=category_name,
        product_category_id=row["ords_category_id"],
        brand=row["brand"],
        year_of_manufacture=row["year_of_manufacture"],
        product_age=row["product_age"],
        repair_status=RepairStatus(row["repair_status"]),
        repair_barrier_if_end_of_life=None if barrier is None else RepairBarrier(barrier),
        group_identifier=row["group_identifier"],
        event_date=row["event_date"],
        problem=row["problem"] or None,
    )


async def ords_export(
    sessionmaker: async_sessionmaker[AsyncSession], *, updated_since: datetime | None
) -> AsyncIterator[list[OrdsRecord]]:
    """Every repair (logged, from transactions, imported) as ORDS v0.3 records, in pages of
    ``EXPORT_PAGE_SIZE`` by ``ords_seq``. Each page is read in a short session of its own, so
    a slow download holds no connection."""
    after_seq = 0
    while True:
        async with sessionmaker() as session:
            rows = await RepairRepository(session).export_page(
                after_seq=after_seq, updated_since=updated_since, limit=EXPORT_PAGE_SIZE
            )
        if not rows:
            return
        yield [_ords_record(row) for row in rows]
        if len(rows) < EXPORT_PAGE_SIZE:
            return
        after_seq = rows[-1]["ords_seq"]
