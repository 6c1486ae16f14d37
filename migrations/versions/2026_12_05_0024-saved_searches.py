"""Saved searches and match alerts (``app.models.saved_search`` lists the invariants).

* ``saved_searches``: a person's or an organization's search (the filters of ``GET
  /v1/listings`` as indexed columns, the place as a polygon under a GiST index), a name and a
  frequency (``instant`` or ``daily``); at most 50 per owner (trigger, under a per-owner lock);
* ``saved_search_hits``: each listing that fitted each saved search, once — the fan-out writes
  them, a daily digest marks them;
* ``listing_matches``: each wanted/offer pair the alerts found, once, with the score and the
  owners, for notifications and ``GET /v1/organizations/{id}/matches``;
* three event types: ``saved_search.matched``, ``saved_search.digest``, ``listing.match_found``.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 10:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_TYPES_BEFORE = (
    "transaction.requested",
    "transaction.accepted",
    "transaction.declined",
    "transaction.cancelled",
    "transaction.expired",
    "transaction.picked_up",
    "transaction.overdue",
    "transaction.returned",
    "transaction.completed",
    "transaction.confirmed",
    "transaction.disputed",
    "transaction.voided",
    "transaction.due_soon",
    "message.received",
    "listing.approved",
    "listing.hidden",
    "listing.expiring",
    "report.actioned",
    "review.received",
    "webhook.disabled",
    "listing.photo_removed",
)
EVENT_TYPES_AFTER = (
    *EVENT_TYPES_BEFORE,
    "saved_search.matched",
    "saved_search.digest",
    "listing.match_found",
)

MAX_PER_OWNER = 50

TRIGGERS_SQL = rf"""
CREATE FUNCTION saved_searches_per_owner() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owned integer;
BEGIN
    -- One new saved search per owner at a time: parallel inserts queue here and count after
    -- one another.
    PERFORM pg_advisory_xact_lock(
        hashtextextended(coalesce(NEW.person_id, NEW.organization_id)::text, 1850));
    SELECT count(*) INTO owned FROM saved_searches
    WHERE person_id IS NOT DISTINCT FROM NEW.person_id
      AND organization_id IS NOT DISTINCT FROM NEW.organization_id;
    IF owned >= {MAX_PER_OWNER} THEN
        RAISE EXCEPTION 'at most {MAX_PER_OWNER} saved searches per owner'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'saved_searches_per_owner';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER saved_searches_per_owner BEFORE INSERT ON saved_searches
FOR EACH ROW EXECUTE FUNCTION saved_searches_per_owner();
"""


def _event_types(types: tuple[str, ...]) -> None:
    op.drop_constraint("type_known", "outbox_events", type_="check")
    op.create_check_constraint(
        "type_known", "outbox_events", "type IN (" + ", ".join(repr(t) for t in types) + ")"
    )


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("frequency", sa.Text(), nullable=False),
        sa.Column("query", JSONB(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("mode", sa.Text(), nullable=True),
        sa.Column("category_slug", sa.Text(), nullable=True),
        sa.Column("kommunenummer", sa.String(4), nullable=True),
        sa.Column("fylkesnummer", sa.String(2), nullable=True),
        sa.Column("terms", ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("area", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "num_nonnulls(person_id, organization_id) = 1", name=op.f("ck_saved_searches_one_owner")
        ),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_saved_searches_name_length")
        ),
        sa.CheckConstraint(
            "frequency IN ('instant', 'daily')", name=op.f("ck_saved_searches_frequency_known")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(query) = 'object'", name=op.f("ck_saved_searches_query_object")
        ),
        sa.CheckConstraint(
            "ST_IsValid(area) AND NOT ST_IsEmpty(area)", name=op.f("ck_saved_searches_area_valid")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            ondelete="CASCADE",
            name=op.f("fk_saved_searches_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            ondelete="CASCADE",
            name=op.f("fk_saved_searches_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["category_slug"],
            ["categories.slug"],
            ondelete="RESTRICT",
            name=op.f("fk_saved_searches_category_slug_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["kommunenummer"],
            ["kommuner.kommunenummer"],
            ondelete="RESTRICT",
            name=op.f("fk_saved_searches_kommunenummer_kommuner"),
        ),
        sa.ForeignKeyConstraint(
            ["fylkesnummer"],
            ["fylker.fylkesnummer"],
            ondelete="RESTRICT",
            name=op.f("fk_saved_searches_fylkesnummer_fylker"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
    )
    op.create_index("ix_saved_searches_area", "saved_searches", ["area"], postgresql_using="gist")
    op.create_index("ix_saved_searches_person", "saved_searches", ["person_id", "created_at", "id"])
    op.create_index(
        "ix_saved_searches_organization",
        "saved_searches",
        ["organization_id", "created_at", "id"],
    )
    op.create_table(
        "saved_search_hits",
        sa.Column("saved_search_id", sa.Uuid(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digested_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["saved_search_id"],
            ["saved_searches.id"],
            ondelete="CASCADE",
            name=op.f("fk_saved_search_hits_saved_search_id_saved_searches"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            ondelete="CASCADE",
            name=op.f("fk_saved_search_hits_listing_id_listings"),
        ),
        sa.PrimaryKeyConstraint("saved_search_id", "listing_id", name=op.f("pk_saved_search_hits")),
    )
    op.create_index(
        "ix_saved_search_hits_undigested",
        "saved_search_hits",
        ["saved_search_id"],
        postgresql_where=sa.text("digested_at IS NULL"),
    )
    op.create_table(
        "listing_matches",
        sa.Column("wanted_listing_id", sa.Uuid(), nullable=False),
        sa.Column("offer_listing_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Numeric(5, 4), nullable=False),
        sa.Column("wanted_organization_id", sa.Uuid(), nullable=True),
        sa.Column("offer_organization_id", sa.Uuid(), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "score >= 0 AND score <= 1", name=op.f("ck_listing_matches_score_range")
        ),
        sa.CheckConstraint(
            "wanted_listing_id <> offer_listing_id", name=op.f("ck_listing_matches_two_listings")
        ),
        sa.ForeignKeyConstraint(
            ["wanted_listing_id"],
            ["listings.id"],
            ondelete="CASCADE",
            name=op.f("fk_listing_matches_wanted_listing_id_listings"),
        ),
        sa.ForeignKeyConstraint(
            ["offer_listing_id"],
            ["listings.id"],
            ondelete="CASCADE",
            name=op.f("fk_listing_matches_offer_listing_id_listings"),
        ),
        sa.ForeignKeyConstraint(
            ["wanted_organization_id"],
            ["organizations.id"],
            ondelete="CASCADE",
            name=op.f("fk_listing_matches_wanted_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["offer_organization_id"],
            ["organizations.id"],
            ondelete="CASCADE",
            name=op.f("fk_listing_matches_offer_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "wanted_listing_id", "offer_listing_id", name=op.f("pk_listing_matches")
        ),
    )
    op.create_index("ix_listing_matches_offer", "listing_matches", ["offer_listing_id"])
    op.create_index(
        "ix_listing_matches_wanted_organization",
        "listing_matches",
        ["wanted_organization_id", "found_at"],
        postgresql_where=sa.text("wanted_organization_id IS NOT NULL"),
    )
    op.create_index(
        "ix_listing_matches_offer_organization",
        "listing_matches",
        ["offer_organization_id", "found_at"],
        postgresql_where=sa.text("offer_organization_id IS NOT NULL"),
    )
    for statement in TRIGGERS_SQL.split("-- ;;"):
        op.execute(statement)
    _event_types(EVENT_TYPES_AFTER)


def downgrade() -> None:
    op.execute(
        "DELETE FROM outbox_events WHERE type IN "
        "('saved_search.matched', 'saved_search.digest', 'listing.match_found')"
    )
    _event_types(EVENT_TYPES_BEFORE)
    op.drop_table("listing_matches")
    op.drop_table("saved_search_hits")
    op.execute("DROP TRIGGER saved_searches_per_owner ON saved_searches")
    op.execute("DROP FUNCTION saved_searches_per_owner()")
    op.drop_table("saved_searches")
