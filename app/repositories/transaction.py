"""Every SQL statement about transactions and bookings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, Time, and_, delete, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import (
    BlockedError,
    BookingConflictError,
    InsufficientQuantityError,
    InvalidTransitionError,
    MembersOnlyError,
    OwnListingError,
)
from app.models import Category, Listing, Membership, Repair, Transaction, UnitOutOfService
from app.models.transaction import BOOKING_TYPES, LIVE_STATUSES
from app.repositories.db_errors import constraint_name

_LIVE = [s.value for s in LIVE_STATUSES]
_BOOKINGS = [t.value for t in BOOKING_TYPES]


def _translate(exc: IntegrityError) -> Exception | None:
    name = constraint_name(exc)
    if name == "bookings_do_not_overlap":
        return BookingConflictError("The period overlaps another booking of this listing.")
    if name == "ck_listings_quantity_not_overcommitted":
        return InsufficientQuantityError(
            "The listing does not have that much left (other requests hold the rest)."
        )
    if name == "transactions_not_blocked":
        return BlockedError("You cannot ask for this listing.")
    if name == "transactions_members_only":
        return MembersOnlyError(
            "Only the library's members, with a membership valid through the loan, may book "
            "this listing."
        )
    if name == "transactions_status_transition":
        return InvalidTransitionError("The transaction's status changed meanwhile; reload it.")
    if name in (
        "ck_transactions_not_own_listing_person",
        "ck_transactions_not_own_listing_organization",
    ):
        return OwnListingError("You cannot ask for your own listing.")
    return None


@dataclass(frozen=True, slots=True)
class TransactionFilters:
    person_id: uuid.UUID | None
    organization_ids: list[uuid.UUID]
    roles: frozenset[str]
    statuses: list[str]
    types: list[str]
    listing_id: uuid.UUID | None


class TransactionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Write pending changes; the database's refusals become domain errors."""
        try:
            await self.session.flush()
        except IntegrityError as exc:
            error = _translate(exc)
            if error is None:
                raise
            raise error from exc

    async def add(self, transaction: Transaction) -> bool:
        """Insert in a savepoint; False when the booking's unit is taken (the caller may try
        another unit), other refusals raise their domain error."""
        try:
            async with self.session.begin_nested():
                self.session.add(transaction)
                await self.session.flush()
        except IntegrityError as exc:
            # Overlapping another booking, or a unit kept for someone's hold (migration 0030).
            # Or one out of service (0031).
            if constraint_name(exc) in (
                "bookings_do_not_overlap",
                "transactions_unit_held",
                "transactions_unit_out_of_service",
            ):
                return False
            error = _translate(exc)
            if error is None:
                raise
            raise error from exc
        return True

    async def save_booking(self, transaction: Transaction) -> bool:
        """Write a changed booking in a savepoint; False when its new period overlaps another
        booking of the unit (``bookings_do_not_overlap``)."""
        try:
            async with self.session.begin_nested():
                self.session.add(transaction)
                await self.session.flush()
        except IntegrityError as exc:
            if constraint_name(exc) == "bookings_do_not_overlap":
                return False
            error = _translate(exc)
            if error is None:
                raise
            raise error from exc
        return True

    async def get(
        self, transaction_id: uuid.UUID, *, for_update: bool = False
    ) -> Transaction | None:
        stmt = select(Transaction).where(Transaction.id == transaction_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def refresh(self, transaction: Transaction) -> None:
        await self.session.refresh(transaction)

    async def busy_units(self, listing_id: uuid.UUID, blocked: Range[datetime]) -> set[int]:
        stmt = select(Transaction.unit_no).where(
            Transaction.listing_id == listing_id,
            Transaction.type.in_(_BOOKINGS),
            Transaction.status.in_(_LIVE),
            Transaction.blocked.overlaps(blocked),
        )
        return {u for u in (await self.session.execute(stmt)).scalars() if u is not None}

    async def out_of_service(self, listing_id: uuid.UUID) -> dict[int, UnitOutOfService]:
        """The listing's units in repair or retired, by number."""
        stmt = select(UnitOutOfService).where(UnitOutOfService.listing_id == listing_id)
        return {u.unit_no: u for u in (await self.session.execute(stmt)).scalars()}

    async def take_out_of_service(self, unit: UnitOutOfService) -> None:
        """Record why a unit is out of service. A unit already out keeps when it went out
        (``since``) and the return that took it out; its status and note change."""
        stmt = pg_insert(UnitOutOfService).values(
            listing_id=unit.listing_id,
            unit_no=unit.unit_no,
            status=unit.status,
            note=unit.note,
            transaction_id=unit.transaction_id,
            since=unit.since,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[UnitOutOfService.listing_id, UnitOutOfService.unit_no],
            set_={"status": stmt.excluded.status, "note": stmt.excluded.note},
        )
        await self.session.execute(stmt)

    async def back_in_service(self, listing_id: uuid.UUID, unit_no: int) -> bool:
        """The unit is available again; False when it was not out of service."""
        gone = await self.session.execute(
            delete(UnitOutOfService)
            .where(UnitOutOfService.listing_id == listing_id, UnitOutOfService.unit_no == unit_no)
            .returning(UnitOutOfService.unit_no)
        )
        return gone.first() is not None

    async def out_units(self, listing_id: uuid.UUID) -> set[int]:
        """Units picked up and not back (active or overdue), whatever their period says."""
        stmt = select(Transaction.unit_no).where(
            Transaction.listing_id == listing_id,
            Transaction.type.in_(_BOOKINGS),
            Transaction.status.in_(("active", "overdue")),
        )
        return {u for u in (await self.session.execute(stmt)).scalars() if u is not None}

    async def busy(
        self, listing_id: uuid.UUID, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        window = Range(start, end, bounds="[)")
        stmt = (
            select(
                func.lower(Transaction.blocked).label("start"),
                func.upper(Transaction.blocked).label("end"),
                Transaction.unit_no,
                Transaction.status,
            )
            .where(
                Transaction.listing_id == listing_id,
                Transaction.type.in_(_BOOKINGS),
                Transaction.status.in_(_LIVE),
                Transaction.blocked.overlaps(window),
            )
            .order_by(func.lower(Transaction.blocked), Transaction.unit_no)
        )
        return [dict(r) for r in (await self.session.execute(stmt)).mappings()]

    async def next_booking_start(
        self, transaction: Transaction, after: datetime
    ) -> datetime | None:
        """When the next live booking of the same unit begins (an overdue loan blocks up to
        it, not past it: that booking was agreed first)."""
        stmt = select(func.min(func.lower(Transaction.blocked))).where(
            Transaction.listing_id == transaction.listing_id,
            Transaction.unit_no == transaction.unit_no,
            Transaction.id != transaction.id,
            Transaction.status.in_(_LIVE),
            func.lower(Transaction.blocked) >= after,
        )
        start: datetime | None = (await self.session.execute(stmt)).scalar_one()
        return start

    async def member_organizations(self, person_id: uuid.UUID) -> list[uuid.UUID]:
        stmt = select(Membership.organization_id).where(Membership.person_id == person_id)
        return list((await self.session.execute(stmt)).scalars())

    def _list_statement(self, f: TransactionFilters) -> Select[Any]:
        sides = []
        for role in ("provider", "receiver"):
            if role not in f.roles:
                continue
            person_col = getattr(Transaction, f"{role}_person_id")
            org_col = getattr(Transaction, f"{role}_organization_id")
            if f.person_id is not None:
                sides.append(person_col == f.person_id)
            if f.organization_ids:
                sides.append(org_col.in_(f.organization_ids))
        stmt = select(Transaction).where(or_(*sides) if sides else text("false"))
        if f.statuses:
            stmt = stmt.where(Transaction.status.in_(f.statuses))
        if f.types:
            stmt = stmt.where(Transaction.type.in_(f.types))
        if f.listing_id is not None:
            stmt = stmt.where(Transaction.listing_id == f.listing_id)
        return stmt

    async def list_page(
        self,
        f: TransactionFilters,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Transaction]:
        stmt = self._list_statement(f)
        if after is not None:
            stmt = stmt.where(
                tuple_(Transaction.created_at, Transaction.id) < tuple_(after[0], after[1])
            )
        stmt = stmt.order_by(Transaction.created_at.desc(), Transaction.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def any_for_listing(self, listing_id: uuid.UUID) -> bool:
        stmt = select(Transaction.id).where(Transaction.listing_id == listing_id).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def ords_category_of(self, category_slug: str | None) -> int | None:
        """The ORDS category of the category or its nearest ancestor that has one."""
        if category_slug is None:
            return None
        own_path = select(Category.path).where(Category.slug == category_slug).scalar_subquery()
        stmt = (
            select(Category.ords_category_id)
            .where(Category.path.contained_by(own_path), Category.ords_category_id.is_not(None))
            .order_by(func.cardinality(Category.path).desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # --- personal data ------------------------------------------------------------------

    def _of_person(self, person_id: uuid.UUID) -> Any:
        return or_(
            Transaction.provider_person_id == person_id,
            Transaction.receiver_person_id == person_id,
        )

    async def export_for_person(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        stmt = (
            select(Transaction)
            .where(self._of_person(person_id))
            .order_by(Transaction.created_at, Transaction.id)
        )
        out = []
        for tx in (await self.session.execute(stmt)).scalars():
            period = tx.period
            out.append(
                {
                    "id": str(tx.id),
                    "type": tx.type,
                    "status": tx.status,
                    "listing_id": str(tx.listing_id),
                    "role": "provider" if tx.provider_person_id == person_id else "receiver",
                    "quantity": str(tx.quantity) if tx.quantity is not None else None,
                    "unit": tx.unit,
                    "delivered_quantity": str(tx.delivered_quantity)
                    if tx.delivered_quantity is not None
                    else None,
                    "period": {"start": period.lower.isoformat(), "end": period.upper.isoformat()}
                    if period is not None
                    else None,
                    "message": tx.message,
                    "created_at": tx.created_at.isoformat(),
                    "closed_at": tx.closed_at.isoformat() if tx.closed_at else None,
                }
            )
        return out

    async def erase_for_person(self, person_id: uuid.UUID, *, now: datetime) -> list[uuid.UUID]:
        """Erasure: cancel what is still only asked for or agreed, and empty every message the
        person wrote; what happened stays (its evidence names only pseudonyms). The ids of the
        cancelled transactions."""
        cancelled = await self.session.execute(
            update(Transaction)
            .where(self._of_person(person_id), Transaction.status.in_(["requested", "accepted"]))
            .values(status="cancelled", closed_at=now, updated_at=now)
            .returning(Transaction.id)
        )
        ids = list(cancelled.scalars())
        await self.session.execute(
            update(Transaction)
            .where(
                or_(
                    Transaction.receiver_person_id == person_id,
                    Transaction.created_by_person_id == person_id,
                )
            )
            .values(message="")
        )
        return ids

    # --- the clock ----------------------------------------------------------------------

    async def due_requests(self, now: datetime) -> list[uuid.UUID]:
        stmt = select(Transaction.id).where(
            Transaction.status == "requested", Transaction.expires_at <= now
        )
        return list((await self.session.execute(stmt)).scalars())

    async def unpicked_bookings(self, now: datetime) -> list[uuid.UUID]:
        return await self._bookings_ended(status="accepted", now=now)

    async def late_bookings(self, now: datetime) -> list[uuid.UUID]:
        return await self._bookings_ended(status="active", now=now)

    async def due_within(self, now: datetime, until: datetime) -> list[Transaction]:
        """Bookings out (active) whose period ends after ``now`` and by ``until``."""
        stmt = select(Transaction).where(
            Transaction.status == "active",
            Transaction.type.in_(_BOOKINGS),
            func.upper(Transaction.period) > now,
            func.upper(Transaction.period) <= until,
        )
        return list((await self.session.execute(stmt)).scalars())

    async def due_today(self, now: datetime) -> list[Transaction]:
        """Bookings out (active) due later on today's date in Norway, once it is 07:00 there."""
        oslo_now = func.timezone("Europe/Oslo", now)
        stmt = select(Transaction).where(
            Transaction.status == "active",
            Transaction.type.in_(_BOOKINGS),
            func.upper(Transaction.period) > now,
            func.date(func.timezone("Europe/Oslo", func.upper(Transaction.period)))
            == func.date(oslo_now),
            func.cast(oslo_now, Time) >= text("'07:00'::time"),
        )
        return list((await self.session.execute(stmt)).scalars())

    async def overdue_since(self, now: datetime, days: int) -> list[Transaction]:
        """Overdue bookings whose period ended at least ``days`` days before ``now``."""
        stmt = select(Transaction).where(
            Transaction.status == "overdue",
            Transaction.type.in_(_BOOKINGS),
            func.upper(Transaction.period) <= now - timedelta(days=days),
        )
        return list((await self.session.execute(stmt)).scalars())

    async def loans_page(
        self,
        organization_id: uuid.UUID,
        *,
        statuses: list[str],
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Transaction]:
        """An organization's bookings as the provider, soonest due first."""
        due = func.upper(Transaction.period)
        stmt = select(Transaction).where(
            Transaction.provider_organization_id == organization_id,
            Transaction.type.in_(_BOOKINGS),
            Transaction.status.in_(statuses),
        )
        if after is not None:
            stmt = stmt.where(tuple_(due, Transaction.id) > tuple_(after[0], after[1]))
        stmt = stmt.order_by(due, Transaction.id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def lending_stats(
        self, organization_id: uuid.UUID, *, since: datetime, now: datetime, idle_days: int
    ) -> dict[str, Any]:
        """A lender's figures (``GET /v1/organizations/{id}/stats``): its lendable units live
        now, loans and rentals returned since ``since`` (returned or confirmed: not while
        disputed, nor voided),
        units not picked up in the last ``idle_days`` days, what is out and late now, renewals
        and distinct borrowers of the loans returned."""
        sql = text(
            """
            WITH units AS (
                SELECT l.id AS listing_id, u.unit_no
                FROM listings AS l
                CROSS JOIN LATERAL generate_series(
                    1, greatest(1, coalesce(l.quantity, 1))::int) AS u(unit_no)
                WHERE l.owner_organization_id = :org AND l.kind = 'item'
                  AND l.mode IN ('lend', 'rent') AND l.status IN ('active', 'reserved')
            ), bookings AS (
                SELECT t.* FROM transactions AS t
                WHERE t.provider_organization_id = :org AND t.type IN ('loan', 'rental')
            ), returned AS (
                SELECT * FROM bookings
                WHERE completed_at >= :since AND completed_at <= :now
                  AND status IN ('returned', 'confirmed')
            )
            SELECT
                (SELECT count(DISTINCT listing_id) FROM units) AS lendable_listings,
                (SELECT count(*) FROM units) AS lendable_units,
                (SELECT count(*) FROM returned) AS loans_returned,
                (SELECT count(*) FROM units AS u WHERE NOT EXISTS (
                    SELECT 1 FROM bookings AS b
                    WHERE b.listing_id = u.listing_id AND b.unit_no = u.unit_no
                      AND b.started_at >= CAST(:now AS timestamptz) - make_interval(days => :idle)
                )) AS idle_units,
                (SELECT count(*) FROM bookings WHERE status = 'active') AS out_now,
                (SELECT count(*) FROM bookings WHERE status = 'overdue') AS overdue_now,
                (SELECT coalesce(sum(renewals), 0) FROM returned) AS renewals,
                (SELECT count(DISTINCT coalesce(receiver_person_id, receiver_organization_id))
                 FROM returned) AS borrowers
            """
        )
        params = {"org": organization_id, "since": since, "now": now, "idle": idle_days}
        row = (await self.session.execute(sql, params)).mappings().one()
        return dict(row)

    async def _bookings_ended(self, *, status: str, now: datetime) -> list[uuid.UUID]:
        """Bookings in ``status`` whose period has ended by ``now``."""
        stmt = select(Transaction.id).where(
            Transaction.status == status,
            Transaction.type.in_(_BOOKINGS),
            func.upper(Transaction.period) <= now,
        )
        return list((await self.session.execute(stmt)).scalars())

    async def listing(
        self, listing_id: uuid.UUID, *, lock: Literal["share", "update"] | None
    ) -> Listing | None:
        stmt = select(Listing).where(Listing.id == listing_id)
        if lock is not None:
            stmt = stmt.with_for_update(read=lock == "share")
        listing = (await self.session.execute(stmt)).scalar_one_or_none()
        if listing is not None and lock is not None:
            await self.session.refresh(listing)  # the identity map may hold an older copy
        return listing

    async def repair_of(self, transaction_id: uuid.UUID) -> Repair:
        stmt = select(Repair).where(Repair.transaction_id == transaction_id)
        return (await self.session.execute(stmt)).scalar_one()

    async def close_many(self, ids: list[uuid.UUID], *, status: str, now: datetime) -> int:
        if not ids:
            return 0
        stmt = (
            update(Transaction)
            .where(and_(Transaction.id.in_(ids)))
            .values(status=status, updated_at=now, closed_at=now)
        )
        result = await self.session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]
