"""make demo-data: people, organizations and listings of every kind over several kommuner,
idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import (
    Hold,
    Listing,
    ListingMatch,
    ListingPhoto,
    Membership,
    Organization,
    OutboxEvent,
    Person,
    Repair,
    Report,
    Review,
    SavedSearchHit,
    Transaction,
    UnitOutOfService,
)
from app.services.demo_data import (
    DEMO_HANDOVERS,
    DEMO_LISTINGS,
    DEMO_ORGANIZATIONS,
    DEMO_PEOPLE,
    DEMO_REPAIR_HISTORY,
    DEMO_REPORTS,
    DEMO_SAVED_SEARCHES,
    DEMO_TARGETS,
    load_demo_data,
)
from app.services.demo_pictures import PICTURES
from app.services.impact.targets import list_targets, progress


async def test_demo_data_is_spread_out_and_idempotent(
    session: AsyncSession, settings: Settings
) -> None:
    now = datetime.now(UTC)
    first = await load_demo_data(session, settings=settings, now=now)
    assert len(first.created_people) == len(DEMO_PEOPLE)
    assert len(first.created_organizations) == len(DEMO_ORGANIZATIONS)
    second = await load_demo_data(session, settings=settings, now=now)
    assert second.created_people == []
    assert second.created_organizations == []
    assert len(first.created_listings) == len(DEMO_LISTINGS)
    assert second.created_listings == []
    assert len(first.created_handovers) == len(DEMO_HANDOVERS)
    assert second.created_handovers == []
    assert len(first.created_reports) == len(DEMO_REPORTS)
    assert second.created_reports == []
    assert len(first.created_targets) == len(DEMO_TARGETS)
    assert second.created_targets == []
    assert len(first.created_saved_searches) == len(DEMO_SAVED_SEARCHES)
    assert second.created_saved_searches == []
    assert len(first.created_library) == 4
    assert second.created_library == []

    kommuner = set((await session.execute(select(Organization.kommunenummer).distinct())).scalars())
    assert len(kommuner) >= 5
    assert await session.scalar(select(func.count()).select_from(Person)) == len(DEMO_PEOPLE)
    verified = await session.scalar(
        select(Organization.name).where(Organization.verified_at.is_not(None))
    )
    assert verified == "Trondheim kommune"
    assert await session.scalar(select(func.count()).select_from(Membership)) == 9

    spread = set((await session.execute(select(Listing.kind).distinct())).scalars())
    assert set(spread) == {"item", "repair_service", "material", "energy", "space"}
    assert (
        len(set((await session.execute(select(Listing.kommunenummer).distinct())).scalars())) >= 5
    )
    # The single skis and bike were handed over and confirmed: those listings completed
    # themselves; four of the twelve cookbooks are gone, the rest still offered.
    rows = (await session.execute(select(Listing.title, Listing.status))).all()
    statuses = dict(rows)
    assert statuses.pop("Langrennsski 190 cm") == "completed"
    assert statuses.pop("Barnesykkel 20 tommer") == "completed"
    assert set(statuses.values()) == {"active"}
    assert len(statuses) == len(DEMO_LISTINGS) - 2
    confirmed = await session.scalar(
        select(func.count()).select_from(Transaction).where(Transaction.status == "confirmed")
    )
    assert confirmed == len(DEMO_HANDOVERS)
    revealed = await session.scalar(
        select(func.count()).select_from(Review).where(Review.revealed_at.is_not(None))
    )
    assert revealed == 2 * len(DEMO_HANDOVERS)
    queue = await session.scalar(
        select(func.count()).select_from(Report).where(Report.status == "open")
    )
    assert queue == len(DEMO_REPORTS)
    # Five listings have a drawn picture, uploaded through the photo pipeline.
    photos = (
        await session.execute(
            select(Listing.title, ListingPhoto.renditions, ListingPhoto.alt_text).join(
                ListingPhoto, ListingPhoto.listing_id == Listing.id
            )
        )
    ).all()
    assert {title for title, _, _ in photos} == set(PICTURES)
    assert all(alt == title for title, _, alt in photos)
    assert all([r["size"] for r in renditions] == [320, 960, 1920] for _, renditions, _ in photos)


async def test_demo_wanted_listings_have_matches_and_a_saved_search_told_someone(
    session: AsyncSession, settings: Settings
) -> None:
    await load_demo_data(session, settings=settings, now=datetime.now(UTC))
    pairs = dict(
        (
            await session.execute(
                select(Listing.title, func.count())
                .join(ListingMatch, ListingMatch.wanted_listing_id == Listing.id)
                .group_by(Listing.title)
            )
        ).all()
    )
    assert pairs == {
        "Ønskes: konstruksjonsvirke til ombruk": 1,
        "Varme til veksthus om vinteren": 1,
        "Ønskes: lager til plantekasser": 1,
    }
    told = await session.scalar(
        select(func.count())
        .select_from(OutboxEvent)
        .join(Person, Person.id == OutboxEvent.recipient_person_id)
        .where(OutboxEvent.type == "saved_search.matched", Person.email == "aslak@demo.sirkel.no")
    )
    assert told == 1
    hits = await session.scalar(select(func.count()).select_from(SavedSearchHit))
    # The bike for Aslak; the timber and the concrete for the Rogaland company (its own
    # wanted timber is not a hit of its own search).
    assert hits == 3


async def test_the_demo_library_has_a_renewed_loan_a_queue_and_an_overdue_reminder(
    session: AsyncSession, settings: Settings
) -> None:
    await load_demo_data(session, settings=settings, now=datetime.now(UTC))
    rows = (
        await session.execute(
            select(Listing.title, Transaction.status, Transaction.renewals)
            .join(Transaction, Transaction.listing_id == Listing.id)
            .where(Listing.title.in_(["Slagdrill fra BUA", "Telt for to fra BUA"]))
            .order_by(Listing.title)
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("Slagdrill fra BUA", "active", 1),
        ("Telt for to fra BUA", "overdue", 0),
    ]
    holds = (await session.scalars(select(Hold.status))).all()
    assert holds == ["waiting"]
    # Overdue tells both parties; a day later the borrower is reminded.
    reminded = (
        await session.execute(
            select(OutboxEvent.type, func.count())
            .where(OutboxEvent.type.in_(["transaction.overdue", "transaction.still_overdue"]))
            .group_by(OutboxEvent.type)
            .order_by(OutboxEvent.type)
        )
    ).all()
    assert [tuple(r) for r in reminded] == [
        ("transaction.overdue", 2),
        ("transaction.still_overdue", 1),
    ]


async def test_the_demo_library_has_a_unit_in_repair_and_a_mended_one(
    session: AsyncSession, settings: Settings
) -> None:
    await load_demo_data(session, settings=settings, now=datetime.now(UTC))
    out = (
        await session.execute(
            select(Listing.title, UnitOutOfService.unit_no, UnitOutOfService.status).join(
                UnitOutOfService, UnitOutOfService.listing_id == Listing.id
            )
        )
    ).all()
    assert [tuple(r) for r in out] == [("Symaskin Husqvarna", 2, "needs_repair")]
    mended = (
        await session.execute(
            select(Repair.repair_status, Repair.category_slug, Repair.problem).where(
                Repair.problem == "Snella låste seg; byttet snelle"
            )
        )
    ).all()
    assert [tuple(r) for r in mended] == [
        ("Fixed", "fishing-gear", "Snella låste seg; byttet snelle")
    ]


async def test_the_demo_targets_follow_a_repair_history(
    session: AsyncSession, settings: Settings
) -> None:
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    first = await load_demo_data(session, settings=settings, now=now)
    assert [line.split(":")[0] for line in first.created_repairs] == [
        name for name, *_ in DEMO_REPAIR_HISTORY
    ]
    years = (
        await session.execute(
            select(func.extract("year", Repair.event_date), func.count())
            .group_by(func.extract("year", Repair.event_date))
            .order_by(func.extract("year", Repair.event_date))
        )
    ).all()
    assert [int(year) for year, _ in years] == [2024, 2025, 2026]
    assert all(count > 100 for _, count in years)
    again = await load_demo_data(session, settings=settings, now=now)
    assert again.created_repairs == []
    assert await session.scalar(select(func.count()).select_from(Repair)) == sum(
        count for _, count in years
    )

    targets = await list_targets(
        session, indicator=None, scope=None, scope_code=None, status=None, cursor=None, limit=50
    )
    assert len(targets.items) == len(DEMO_TARGETS)
    statuses = {}
    for target in targets.items:
        found = await progress(session, target_id=target.id, indicator=None, scope=None, now=now)
        statuses[(target.indicator, target.scope_code)] = found.status
    # The repair targets have a baseline and a complete year after it; the others start
    # from years with nothing recorded yet, and say so.
    assert statuses[("sg1.repairs.fixed", None)] in {"ahead", "on_track", "behind"}
    assert statuses[("sg1.repairs.count", "5501")] in {"ahead", "on_track", "behind"}
    assert statuses[("sg1.reuse.handovers", None)] == "insufficient_data"
    assert statuses[("sg2.loans.per_1000", "5001")] == "insufficient_data"
