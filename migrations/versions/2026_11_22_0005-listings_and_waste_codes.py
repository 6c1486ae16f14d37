"""Listings of all five kinds, and the European List of Waste their materials are coded with.

Written by hand beyond the generated tables (the invariants are explained in
app/models/listing.py):

* ``sirkel_fold``, ``sirkel_search_terms`` and ``sirkel_search_text``: the Norwegian free-text
  normalisation behind the generated ``listings.search_text`` (docs/search.md);
* ``privacy_keys`` with a random key made here, and ``sirkel_blurred_point``: the
  deterministic ~400 m blur of persons' listings, applied by the trigger
  ``listings_public_point`` on every write;
* ``listings_guard``: kind and owner never change, the status moves only along the lifecycle,
  hazardous materials need a moderator's approval to be visible.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 14:05:34.822326+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The Norwegian free-text normalisation (docs/search.md). A word becomes its Snowball stem and
# the stem of that stem (Snowball strips one suffix, within R1, so "sofa" stems to "sof" but
# "sofaer" to "sofa": stemming again joins them; listings hold both stems, a query matches
# either). Each is then folded: lower case; Scandinavian folding as Lucene's
# ScandinavianFoldingFilter (æ/ä/å → a, ø/ö → o); hyphens dropped (el-sykkel = elsykkel;
# to_tsvector also gives the parts); a few irregular plurals at the end of a word, so also in
# compounds (menn, tenner, tenger, hender → mann, tann, tang, hand: fiskestenger finds
# fiskestang); doubled consonants collapsed; and the unstressed e of a final -el/-en/-er (not
# the only vowel of the word) dropped, so that sykkel and sykler, støvel and støvler, bok and
# bøker meet.
FUNCTIONS_SQL = r"""
CREATE FUNCTION sirkel_fold(word text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(
                        translate(lower(word), 'æäåáàâøöóòôüéèê-', 'aaaaaaoooooueee'),
                        '([mt])enn$', '\1ann'),
                    'teng$', 'tang'),
                'hend$', 'hand'),
            '([bcdfghjklmnpqrstvwxz])\1+', '\1', 'g'),
        '([aeiouy].*[bcdfghjklmnpqrstvwxz])e([lnr])$', '\1\2')
$$;
-- ;;
-- A query's terms in the order typed. A term whose stem and stem of the stem differ is both,
-- separated by a space ("sofa sof"): a listing matches the term if it has either. Hyphens
-- inside words are dropped first, so "el-sykkel" is the one term elsykkel.
CREATE FUNCTION sirkel_search_terms(query text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(t.term ORDER BY t.first_position), '{}')
    FROM (
        SELECT CASE WHEN s.again = s.once THEN s.once ELSE s.once || ' ' || s.again END AS term,
               min(s.first_position) AS first_position
        FROM (
            SELECT sirkel_fold(v.lexeme) AS once,
                   sirkel_fold(coalesce(
                       (ts_lexize('pg_catalog.norwegian_stem', v.lexeme))[1], v.lexeme)) AS again,
                   v.positions[1] AS first_position
            FROM unnest(to_tsvector('pg_catalog.norwegian'::regconfig,
                                    regexp_replace(query, '(\w)-(?=\w)', '\1', 'g'))) AS v
        ) AS s
        GROUP BY 1
    ) AS t
$$;
-- ;;
-- A listing's terms: both stems of every word (and of each part of a hyphenated word), folded,
-- in the order of first use, between spaces: " barnesykl sykl " is what LIKE patterns search.
CREATE FUNCTION sirkel_search_text(title text, description text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ' ' || coalesce(string_agg(t.term, ' ' ORDER BY t.first_position, t.term), '') || ' '
    FROM (
        SELECT sirkel_fold(s.stem) AS term, min(v.positions[1]) AS first_position
        FROM unnest(to_tsvector('pg_catalog.norwegian'::regconfig,
                                coalesce(title, '') || ' ' || coalesce(description, ''))) AS v
        CROSS JOIN LATERAL (
            VALUES (v.lexeme), ((ts_lexize('pg_catalog.norwegian_stem', v.lexeme))[1])
        ) AS s (stem)
        WHERE s.stem IS NOT NULL
        GROUP BY 1
    ) AS t
$$;
"""

TRIGGERS_SQL = r"""
INSERT INTO privacy_keys (name, key)
VALUES ('listing_blur', sha256(convert_to(
    gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')));
-- ;;
-- The exact point is first snapped to a 0.001 degree node (about 111 by 55 m at 60 degrees
-- N); the blurred point lies 400 m from that node, snapped again to the 0.001 degree grid:
-- 280 to 520 m from the exact point. The direction comes from SHA-256(key || owner || area),
-- the area being the point's 0.01 degree cell (about 1.1 by 0.55 km): derived from the owner
-- and the place, not from each listing, so all of one person's listings in an area are
-- shifted by the same secret vector. Were it per listing (or per 0.001 degree node, which a
-- phone's GPS jitter crosses), several listings made at home would scatter in independent
-- directions and their average would point back to the home. Without the key, which never
-- leaves the database, the vector cannot be undone.
CREATE FUNCTION sirkel_blurred_point(exact geometry, owner uuid) RETURNS geometry
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ST_SnapToGrid(
        ST_Project(
            cell::geography,
            400,
            2 * pi() * ((get_byte(d, 0)::bigint << 24) + (get_byte(d, 1) << 16)
                        + (get_byte(d, 2) << 8) + get_byte(d, 3)) / 4294967296.0
        )::geometry,
        0.001)
    FROM (SELECT ST_SnapToGrid(exact, 0.001) AS cell, ST_SnapToGrid(exact, 0.01) AS area) AS c,
    LATERAL (
        SELECT sha256(k.key || convert_to(owner::text || ST_AsText(c.area), 'UTF8')) AS d
        FROM privacy_keys AS k WHERE k.name = 'listing_blur'
    ) AS h
$$;
-- ;;
CREATE FUNCTION listings_public_point() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.owner_person_id IS NOT NULL THEN
        NEW.public_geom := sirkel_blurred_point(NEW.geom, NEW.owner_person_id);
    ELSE
        NEW.public_geom := NEW.geom;
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER listings_public_point BEFORE INSERT OR UPDATE ON listings
FOR EACH ROW EXECUTE FUNCTION listings_public_point();
-- ;;
CREATE FUNCTION listings_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status NOT IN ('draft', 'pending_review', 'active') THEN
            RAISE EXCEPTION 'a listing starts as draft, pending_review or active, not %', NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'listings_status_transition';
        END IF;
    ELSE
        IF NEW.kind <> OLD.kind
           OR NEW.owner_person_id IS DISTINCT FROM OLD.owner_person_id
           OR NEW.owner_organization_id IS DISTINCT FROM OLD.owner_organization_id THEN
            RAISE EXCEPTION 'the kind and owner of a listing never change'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'listings_immutable';
        END IF;
        IF NEW.ewc_code IS DISTINCT FROM OLD.ewc_code THEN
            NEW.review_approved_at := NULL;
            NEW.review_approved_by := NULL;
        END IF;
        IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
            ('draft', 'active'), ('draft', 'pending_review'), ('draft', 'withdrawn'),
            ('pending_review', 'active'), ('pending_review', 'withdrawn'),
            ('active', 'pending_review'), ('active', 'reserved'), ('active', 'completed'),
            ('active', 'withdrawn'), ('active', 'expired'),
            ('reserved', 'active'), ('reserved', 'completed'), ('reserved', 'withdrawn'),
            ('expired', 'active'), ('expired', 'withdrawn')
        ) THEN
            RAISE EXCEPTION 'a listing cannot go from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'listings_status_transition';
        END IF;
    END IF;
    IF NEW.status IN ('active', 'reserved', 'completed') AND NEW.review_approved_at IS NULL
       AND EXISTS (SELECT 1 FROM ewc_codes AS e WHERE e.code = NEW.ewc_code AND e.hazardous) THEN
        RAISE EXCEPTION 'a material with a hazardous EWC code needs a moderator''s approval'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'listings_hazardous_review';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER listings_guard BEFORE INSERT OR UPDATE ON listings
FOR EACH ROW EXECUTE FUNCTION listings_guard();
-- ;;
-- The table is meant to be kept clustered on its spatial index (python -m app.cli maintain).
ALTER TABLE listings CLUSTER ON ix_listings_public_geom;
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _execute_each(FUNCTIONS_SQL)
    op.create_table(
        "ewc_chapters",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(level = 'chapter' AND code ~ '^[0-9]{2}$') OR (level = 'subchapter' AND code ~ '^[0-9]{4}$')",
            name=op.f("ck_ewc_chapters_code_matches_level"),
        ),
        sa.CheckConstraint(
            "char_length(description) BETWEEN 1 AND 500",
            name=op.f("ck_ewc_chapters_description_length"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ewc_chapters")),
    )
    op.create_table(
        "privacy_keys",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("octet_length(key) >= 32", name=op.f("ck_privacy_keys_key_length")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_privacy_keys")),
    )
    op.create_table(
        "ewc_codes",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("chapter", sa.Text(), nullable=False),
        sa.Column("subchapter", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("hazardous", sa.Boolean(), nullable=False),
        sa.Column("entry_type", sa.Text(), nullable=False),
        sa.CheckConstraint("code ~ '^[0-9]{6}$'", name=op.f("ck_ewc_codes_code_shape")),
        sa.CheckConstraint(
            "entry_type IN ('absolute', 'mirror')", name=op.f("ck_ewc_codes_entry_type_known")
        ),
        sa.CheckConstraint(
            "char_length(description) BETWEEN 1 AND 500",
            name=op.f("ck_ewc_codes_description_length"),
        ),
        sa.CheckConstraint(
            "left(code, 4) = subchapter", name=op.f("ck_ewc_codes_code_in_subchapter")
        ),
        sa.CheckConstraint(
            "left(subchapter, 2) = chapter", name=op.f("ck_ewc_codes_subchapter_in_chapter")
        ),
        sa.ForeignKeyConstraint(
            ["chapter"],
            ["ewc_chapters.code"],
            name=op.f("fk_ewc_codes_chapter_ewc_chapters"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subchapter"],
            ["ewc_chapters.code"],
            name=op.f("fk_ewc_codes_subchapter_ewc_chapters"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ewc_codes")),
    )
    op.create_table(
        "listings",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("owner_person_id", sa.Uuid(), nullable=True),
        sa.Column("owner_organization_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_person_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("category_slug", sa.Text(), nullable=True),
        sa.Column("ewc_code", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=16, scale=3), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("price_nok", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("weight_kg", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "public_geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("kommunenummer", sa.String(length=4), nullable=False),
        sa.Column("fylkesnummer", sa.String(length=2), nullable=False),
        sa.Column(
            "search_text",
            sa.Text(),
            sa.Computed("sirkel_search_text(title, description)", persisted=True),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_approved_by", sa.Uuid(), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        sa.Column("hidden_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'item' AND mode IS NOT NULL AND mode IN ('give', 'lend', 'rent', 'sell', 'wanted')) OR (kind = 'repair_service' AND mode IS NULL) OR (kind = 'material' AND mode IS NOT NULL AND mode IN ('give', 'sell', 'wanted')) OR (kind = 'energy' AND mode IS NOT NULL AND mode IN ('give', 'sell', 'wanted')) OR (kind = 'space' AND mode IS NOT NULL AND mode IN ('lend', 'rent', 'wanted'))",
            name=op.f("ck_listings_mode_fits_kind"),
        ),
        sa.CheckConstraint(
            "(kind = 'material') = (ewc_code IS NOT NULL)",
            name=op.f("ck_listings_ewc_only_for_material"),
        ),
        sa.CheckConstraint(
            "jsonb_typeof(details) = 'object'", name=op.f("ck_listings_details_object")
        ),
        sa.CheckConstraint(
            "kind <> 'item' OR unit = 'pcs'", name=op.f("ck_listings_items_are_counted")
        ),
        sa.CheckConstraint(
            "kind IN ('item', 'repair_service', 'material', 'energy', 'space')",
            name=op.f("ck_listings_kind_known"),
        ),
        sa.CheckConstraint(
            "kind NOT IN ('item', 'material') OR quantity IS NOT NULL",
            name=op.f("ck_listings_quantity_required"),
        ),
        sa.CheckConstraint(
            "kind NOT IN ('item', 'repair_service') OR category_slug IS NOT NULL",
            name=op.f("ck_listings_category_required"),
        ),
        sa.CheckConstraint(
            "mode NOT IN ('sell', 'rent') OR price_nok IS NOT NULL",
            name=op.f("ck_listings_price_when_paid"),
        ),
        sa.CheckConstraint(
            "price_nok IS NULL OR (mode IS NOT NULL AND mode IN ('sell', 'rent', 'wanted'))",
            name=op.f("ck_listings_price_only_when_paid"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'pending_review', 'withdrawn') OR published_at IS NOT NULL",
            name=op.f("ck_listings_published_has_time"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'pending_review', 'active', 'reserved', 'completed', 'withdrawn', 'expired')",
            name=op.f("ck_listings_status_known"),
        ),
        sa.CheckConstraint(
            "unit IN ('kg', 't', 'm3', 'l', 'pcs', 'm2', 'm')", name=op.f("ck_listings_unit_known")
        ),
        sa.CheckConstraint(
            "(hidden_at IS NULL) = (hidden_reason IS NULL)",
            name=op.f("ck_listings_hidden_has_reason"),
        ),
        sa.CheckConstraint(
            "(quantity IS NULL) = (unit IS NULL)", name=op.f("ck_listings_quantity_has_unit")
        ),
        sa.CheckConstraint(
            "ST_X(geom) BETWEEN 4.0 AND 31.5 AND ST_Y(geom) BETWEEN 57.5 AND 71.5",
            name=op.f("ck_listings_geom_in_norway_bbox"),
        ),
        sa.CheckConstraint(
            "char_length(description) <= 5000", name=op.f("ck_listings_description_length")
        ),
        sa.CheckConstraint(
            "char_length(hidden_reason) BETWEEN 1 AND 500",
            name=op.f("ck_listings_hidden_reason_length"),
        ),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 3 AND 120", name=op.f("ck_listings_title_length")
        ),
        sa.CheckConstraint(
            "num_nonnulls(owner_person_id, owner_organization_id) = 1",
            name=op.f("ck_listings_one_owner"),
        ),
        sa.CheckConstraint(
            "price_nok IS NULL OR (price_nok >= 0 AND price_nok <= 100000000)",
            name=op.f("ck_listings_price_range"),
        ),
        sa.CheckConstraint(
            "quantity IS NULL OR (quantity > 0 AND quantity <= 1000000000)",
            name=op.f("ck_listings_quantity_range"),
        ),
        sa.CheckConstraint(
            "weight_kg IS NULL OR weight_kg > 0", name=op.f("ck_listings_weight_positive")
        ),
        sa.ForeignKeyConstraint(
            ["category_slug"],
            ["categories.slug"],
            name=op.f("fk_listings_category_slug_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_person_id"],
            ["persons.id"],
            name=op.f("fk_listings_created_by_person_id_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ewc_code"],
            ["ewc_codes.code"],
            name=op.f("fk_listings_ewc_code_ewc_codes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["fylkesnummer"],
            ["fylker.fylkesnummer"],
            name=op.f("fk_listings_fylkesnummer_fylker"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by"],
            ["persons.id"],
            name=op.f("fk_listings_hidden_by_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["kommunenummer"],
            ["kommuner.kommunenummer"],
            name=op.f("fk_listings_kommunenummer_kommuner"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_organization_id"],
            ["organizations.id"],
            name=op.f("fk_listings_owner_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_person_id"],
            ["persons.id"],
            name=op.f("fk_listings_owner_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["review_approved_by"],
            ["persons.id"],
            name=op.f("fk_listings_review_approved_by_persons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
    )
    op.create_index(
        "ix_listings_expiring",
        "listings",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'active' AND expires_at IS NOT NULL"),
    )
    op.create_index(
        "ix_listings_owner_organization_id", "listings", ["owner_organization_id"], unique=False
    )
    op.create_index("ix_listings_owner_person_id", "listings", ["owner_person_id"], unique=False)
    op.create_index(
        "ix_listings_pending_review",
        "listings",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending_review'"),
    )
    op.create_index(
        "ix_listings_public_geog",
        "listings",
        [sa.literal_column("(public_geom::geography)")],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_listings_public_geom",
        "listings",
        ["public_geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_listings_search_text",
        "listings",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    op.create_index(
        "ix_listings_searchable_category",
        "listings",
        ["category_slug", sa.literal_column("published_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    op.create_index(
        "ix_listings_searchable_fylke",
        "listings",
        ["fylkesnummer", sa.literal_column("published_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    op.create_index(
        "ix_listings_searchable_kommune",
        "listings",
        ["kommunenummer", sa.literal_column("published_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    op.create_index(
        "ix_listings_searchable_newest",
        "listings",
        [sa.literal_column("published_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    _execute_each(TRIGGERS_SQL)


def downgrade() -> None:
    op.drop_index(
        "ix_listings_searchable_newest",
        table_name="listings",
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    op.drop_index(
        "ix_listings_searchable_kommune",
        table_name="listings",
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    op.drop_index(
        "ix_listings_searchable_fylke",
        table_name="listings",
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    op.drop_index(
        "ix_listings_searchable_category",
        table_name="listings",
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    op.drop_index(
        "ix_listings_search_text",
        table_name="listings",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
        postgresql_where=sa.text("status = 'active' AND hidden_at IS NULL"),
    )
    op.drop_index("ix_listings_public_geom", table_name="listings", postgresql_using="gist")
    op.drop_index("ix_listings_public_geog", table_name="listings", postgresql_using="gist")
    op.drop_index(
        "ix_listings_pending_review",
        table_name="listings",
        postgresql_where=sa.text("status = 'pending_review'"),
    )
    op.drop_index("ix_listings_owner_person_id", table_name="listings")
    op.drop_index("ix_listings_owner_organization_id", table_name="listings")
    op.drop_index(
        "ix_listings_expiring",
        table_name="listings",
        postgresql_where=sa.text("status = 'active' AND expires_at IS NOT NULL"),
    )
    op.drop_table("listings")
    op.drop_table("ewc_codes")
    op.drop_table("privacy_keys")
    op.drop_table("ewc_chapters")
    # The loader skips a dataset it has a checksum for: forget it with its tables, so that
    # load-reference after an upgrade fills them again.
    op.execute("DELETE FROM reference_datasets WHERE name = 'ewc_codes'")
    for function in (
        "listings_guard()",
        "listings_public_point()",
        "sirkel_blurred_point(geometry, uuid)",
        "sirkel_search_text(text, text)",
        "sirkel_search_terms(text)",
        "sirkel_fold(text)",
    ):
        op.execute(f"DROP FUNCTION {function}")
