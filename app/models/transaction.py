"""Transactions: what actually happens between two parties around a listing.

A transaction has a **type** derived from the listing it starts on (``TYPE_OF_LISTING``), a
**sub-goal** of the mission that its evidence counts towards, a **provider** (the listing's
owner) and a **receiver** (who asked), each a person or an organization, and a **status** that
moves only along its type's state machine (``app.services.transaction.MACHINES``; the database
holds the same moves in ``transaction_transitions`` and the trigger ``transactions_guard``
refuses any other).

**Invariants the database keeps** (migration 0007):

* exactly one provider and one receiver, never the same person or organization
  (``one_provider``, ``one_receiver``, ``not_own_listing_*``);
* loans, rentals and space shares carry a non-empty, bounded ``period``; the others carry none
  (``period_for_bookings``); ``blocked`` (the period plus the listing's buffer hours, stretched
  open-ended while a loan is overdue) always covers the period;
* **no two live bookings of the same unit of the same listing overlap**: the exclusion
  constraint ``bookings_do_not_overlap`` over ``(listing_id, unit_no, blocked)`` among
  requested, accepted, active and overdue bookings. A listing of several identical items has
  one unit per item (``unit_no`` 1..quantity), so each can be lent out on its own;
* a quantity-limited listing never gives away more than it has: the trigger
  ``transactions_commit_quantity`` keeps ``listings.quantity_committed`` (requested, accepted
  and handed-over quantities) and the listing's CHECK ``quantity_not_overcommitted`` refuses
  the write that would go below zero;
* quantities are positive; impact figures are non-negative and name their factor revision.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import TSTZRANGE, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, sql_in, uuid_pk


class TransactionType(StrEnum):
    REUSE = "reuse"
    LOAN = "loan"
    RENTAL = "rental"
    SPACE_SHARE = "space_share"
    MATERIAL_EXCHANGE = "material_exchange"
    ENERGY_EXCHANGE = "energy_exchange"
    REPAIR = "repair"


class SubGoal(StrEnum):
    """The mission's three sub-goals (delmål)."""

    REUSE_AND_REPAIR = "SG1"
    SHARING = "SG2"
    BUSINESS_SHARING = "SG3"


class TransactionStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ACTIVE = "active"
    OVERDUE = "overdue"
    RETURNED = "returned"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"
    VOIDED = "voided"


class TransactionUnit(StrEnum):
    """Listing units plus MWh for energy."""

    KG = "kg"
    T = "t"
    M3 = "m3"
    L = "l"
    PCS = "pcs"
    M2 = "m2"
    M = "m"
    MWH = "mwh"


BOOKING_TYPES = frozenset(
    {TransactionType.LOAN, TransactionType.RENTAL, TransactionType.SPACE_SHARE}
)
# Types whose quantity comes out of the listing's (quantity-limited) stock.
CONSUMING_TYPES = frozenset({TransactionType.REUSE, TransactionType.MATERIAL_EXCHANGE})

# (listing kind, listing mode) -> the transaction it starts. Wanted listings are answered by
# contacting the owner, not by a transaction on the wanted listing itself.
TYPE_OF_LISTING: dict[tuple[str, str | None], TransactionType] = {
    ("item", "give"): TransactionType.REUSE,
    ("item", "sell"): TransactionType.REUSE,
    ("item", "lend"): TransactionType.LOAN,
    ("item", "rent"): TransactionType.RENTAL,
    ("space", "lend"): TransactionType.SPACE_SHARE,
    ("space", "rent"): TransactionType.RENTAL,
    ("material", "give"): TransactionType.MATERIAL_EXCHANGE,
    ("material", "sell"): TransactionType.MATERIAL_EXCHANGE,
    ("energy", "give"): TransactionType.ENERGY_EXCHANGE,
    ("energy", "sell"): TransactionType.ENERGY_EXCHANGE,
    ("repair_service", None): TransactionType.REPAIR,
}


def subgoal_of(kind: TransactionType, listing_kind: str) -> SubGoal:
    """SG1 reuse and repair; SG2 sharing among people; SG3 businesses sharing materials, energy
    and floor space (a rented space counts there, a rented drill under SG2)."""
    if kind in (TransactionType.REUSE, TransactionType.REPAIR):
        return SubGoal.REUSE_AND_REPAIR
    if kind in (TransactionType.LOAN, TransactionType.RENTAL) and listing_kind != "space":
        return SubGoal.SHARING
    return SubGoal.BUSINESS_SHARING


# The statuses in which a booking holds its period (and a transaction its quantity).
LIVE_STATUSES = frozenset(
    {
        TransactionStatus.REQUESTED,
        TransactionStatus.ACCEPTED,
        TransactionStatus.ACTIVE,
        TransactionStatus.OVERDUE,
    }
)
MESSAGE_MAX_LENGTH = 1000
MAX_TRANSACTION_QUANTITY = Decimal("1000000000")


def _in(column: str, values: Any) -> str:
    """The constraints of this table list their values sorted."""
    return sql_in(column, sorted(values))


_LIVE_SQL = _in("status", LIVE_STATUSES)
_BOOKING_SQL = _in("type", BOOKING_TYPES)


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint(_in("type", list(TransactionType)), name="type_known"),
        CheckConstraint(_in("status", list(TransactionStatus)), name="status_known"),
        CheckConstraint(_in("subgoal", list(SubGoal)), name="subgoal_known"),
        CheckConstraint(
            "match_of_listing_id IS NULL OR match_of_listing_id <> listing_id",
            name="match_of_another_listing",
        ),
        CheckConstraint(
            "num_nonnulls(provider_person_id, provider_organization_id) = 1", name="one_provider"
        ),
        CheckConstraint(
            "num_nonnulls(receiver_person_id, receiver_organization_id) = 1", name="one_receiver"
        ),
        CheckConstraint(
            "provider_person_id IS NULL OR receiver_person_id IS NULL "
            "OR provider_person_id <> receiver_person_id",
            name="not_own_listing_person",
        ),
        CheckConstraint(
            "provider_organization_id IS NULL OR receiver_organization_id IS NULL "
            "OR provider_organization_id <> receiver_organization_id",
            name="not_own_listing_organization",
        ),
        CheckConstraint(
            "(quantity IS NULL AND delivered_quantity IS NULL) = (unit IS NULL)",
            name="quantity_has_unit",
        ),
        CheckConstraint(_in("unit", list(TransactionUnit)), name="unit_known"),
        CheckConstraint(
            f"quantity IS NULL OR (quantity > 0 AND quantity <= {MAX_TRANSACTION_QUANTITY})",
            name="quantity_range",
        ),
        CheckConstraint(
            "delivered_quantity IS NULL OR (delivered_quantity > 0 "
            f"AND delivered_quantity <= {MAX_TRANSACTION_QUANTITY} AND unit IS NOT NULL)",
            name="delivered_range",
        ),
        CheckConstraint(f"({_BOOKING_SQL}) = (period IS NOT NULL)", name="period_for_bookings"),
        CheckConstraint(
            "period IS NULL OR (NOT isempty(period) AND NOT lower_inf(period) "
            "AND NOT upper_inf(period))",
            name="period_bounded",
        ),
        CheckConstraint(
            "(period IS NULL) = (blocked IS NULL) AND (blocked IS NULL OR blocked @> period)",
            name="blocked_covers_period",
        ),
        CheckConstraint(
            "(period IS NULL) = (unit_no IS NULL) AND (unit_no IS NULL OR unit_no >= 1)",
            name="unit_no_for_bookings",
        ),
        CheckConstraint(
            "renewals >= 0 AND (renewals = 0 OR period IS NOT NULL)", name="renewals_of_bookings"
        ),
        CheckConstraint(f"char_length(message) <= {MESSAGE_MAX_LENGTH}", name="message_length"),
        CheckConstraint(
            f"pickup_note IS NULL OR (location_shared_at IS NOT NULL "
            f"AND char_length(pickup_note) <= {MESSAGE_MAX_LENGTH})",
            name="pickup_note_when_shared",
        ),
        CheckConstraint(
            "(kg_diverted IS NULL OR kg_diverted >= 0) AND (co2e_kg IS NULL OR co2e_kg >= 0)",
            name="impact_non_negative",
        ),
        CheckConstraint(
            "(kg_diverted IS NULL AND co2e_kg IS NULL) OR factor_revision IS NOT NULL",
            name="impact_names_revision",
        ),
        ExcludeConstraint(
            (text("listing_id"), "="),
            (text("unit_no"), "="),
            (text("blocked"), "&&"),
            name="bookings_do_not_overlap",
            using="gist",
            where=text(f"{_BOOKING_SQL} AND {_LIVE_SQL}"),
        ),
        Index("ix_transactions_listing_id", "listing_id"),
        Index("ix_transactions_provider_person", "provider_person_id", text("created_at DESC")),
        Index(
            "ix_transactions_provider_organization",
            "provider_organization_id",
            text("created_at DESC"),
        ),
        Index("ix_transactions_receiver_person", "receiver_person_id", text("created_at DESC")),
        Index(
            "ix_transactions_receiver_organization",
            "receiver_organization_id",
            text("created_at DESC"),
        ),
        Index(
            "ix_transactions_request_expiry",
            "expires_at",
            postgresql_where=text("status = 'requested'"),
        ),
        Index(
            "ix_transactions_due",
            text("upper(period)"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    type: Mapped[str] = mapped_column(Text)
    subgoal: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("listings.id", ondelete="RESTRICT")
    )
    provider_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    provider_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    receiver_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="RESTRICT")
    )
    receiver_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    # Who asked for an organization (NULL for API keys and after erasure).
    created_by_person_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    message: Mapped[str] = mapped_column(Text, server_default="")
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(16, 3))
    unit: Mapped[str | None] = mapped_column(Text)
    delivered_quantity: Mapped[Decimal | None] = mapped_column(Numeric(16, 3))
    period: Mapped[Any] = mapped_column(TSTZRANGE, nullable=True)
    blocked: Mapped[Any] = mapped_column(TSTZRANGE, nullable=True)
    unit_no: Mapped[int | None] = mapped_column(SmallInteger)
    # How often the booking was renewed (``renew``); the trigger transactions_renewal_guard
    # (migration 0027) ties every change of the period to one more renewal.
    renewals: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"), default=0)
    factor_revision: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("impact_factor_revisions.revision", ondelete="RESTRICT")
    )
    kg_diverted: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    co2e_kg: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    impact_basis: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The provider shared the listing's exact point (and a pickup note) with the receiver;
    # shown to the receiver only while the transaction is open (``share-location``).
    location_shared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pickup_note: Mapped[str | None] = mapped_column(Text)
    # The initiative (pilot, experiment, reuse station, repair-café series) this belongs to.
    initiative_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("initiatives.id", ondelete="RESTRICT"), index=True
    )
    # The requester's own listing whose matches found this one (migration 0025); the evidence
    # of the exchange records that it started from a match.
    match_of_listing_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("listings.id", ondelete="RESTRICT")
    )


class TransactionTransition(Base):
    """The moves of every type's state machine, as data the trigger ``transactions_guard``
    reads (a test keeps it equal to ``app.services.transaction.MACHINES``)."""

    __tablename__ = "transaction_transitions"

    type: Mapped[str] = mapped_column(Text, primary_key=True)
    from_status: Mapped[str] = mapped_column(Text, primary_key=True)
    to_status: Mapped[str] = mapped_column(Text, primary_key=True)
