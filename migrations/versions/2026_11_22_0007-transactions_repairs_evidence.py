"""Transactions, bookings, repairs, impact factors and the evidence ledger.

* ``transactions`` with the exclusion constraint ``bookings_do_not_overlap`` (btree_gist, from
  0001) and the trigger ``transactions_guard``: type, listing and parties never change, a
  transaction starts as requested and its status moves only along ``transaction_transitions``
  (the state machines of ``app.services.transaction.MACHINES``, copied here as data);
* ``transactions_commit_quantity`` keeps ``listings.quantity_committed`` for reuse and material
  exchanges, and the listing CHECK ``quantity_not_overcommitted`` refuses to give away more
  than the listing has;
* ``impact_factor_revisions`` / ``impact_factors``: versioned, append-only factor sets;
* ``repair_events`` and ``repairs`` (ORDS v0.3 fields; provider + record id unique);
* ``evidence``: append-only (``evidence_append_only``) and hash-chained (``evidence_chain``,
  SHA-256 over ``sirkel_evidence_canonical`` and the previous hash); parties are pseudonyms
  from ``sirkel_party`` with a database-only key in ``privacy_keys``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 16:07:25.405357+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS_SQL = r"""
INSERT INTO privacy_keys (name, key)
VALUES ('evidence_party', sha256(convert_to(
    gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')));
-- ;;
-- A party's pseudonym in the evidence ledger: stable, so distinct households and
-- organizations can be counted, and not reversible without the key, which never leaves the
-- database. kind is 'person' or 'organization'.
CREATE FUNCTION sirkel_party(kind text, id uuid) RETURNS text
LANGUAGE sql STABLE STRICT AS $$
    SELECT left(kind, 1) || '_' || left(encode(sha256(k.key || convert_to(kind || ':' || id::text, 'UTF8')), 'hex'), 32)
    FROM privacy_keys AS k WHERE k.name = 'evidence_party'
$$;
"""

TRIGGERS_SQL = r"""
INSERT INTO transaction_transitions (type, from_status, to_status) VALUES
    ('energy_exchange', 'accepted', 'cancelled'),
    ('energy_exchange', 'accepted', 'completed'),
    ('energy_exchange', 'completed', 'confirmed'),
    ('energy_exchange', 'completed', 'disputed'),
    ('energy_exchange', 'disputed', 'confirmed'),
    ('energy_exchange', 'disputed', 'voided'),
    ('energy_exchange', 'requested', 'accepted'),
    ('energy_exchange', 'requested', 'cancelled'),
    ('energy_exchange', 'requested', 'declined'),
    ('energy_exchange', 'requested', 'expired'),
    ('energy_exchange', 'returned', 'confirmed'),
    ('energy_exchange', 'returned', 'disputed'),
    ('loan', 'accepted', 'active'),
    ('loan', 'accepted', 'cancelled'),
    ('loan', 'accepted', 'expired'),
    ('loan', 'active', 'overdue'),
    ('loan', 'active', 'returned'),
    ('loan', 'completed', 'confirmed'),
    ('loan', 'completed', 'disputed'),
    ('loan', 'disputed', 'confirmed'),
    ('loan', 'disputed', 'voided'),
    ('loan', 'overdue', 'returned'),
    ('loan', 'requested', 'accepted'),
    ('loan', 'requested', 'cancelled'),
    ('loan', 'requested', 'declined'),
    ('loan', 'requested', 'expired'),
    ('loan', 'returned', 'confirmed'),
    ('loan', 'returned', 'disputed'),
    ('material_exchange', 'accepted', 'cancelled'),
    ('material_exchange', 'accepted', 'completed'),
    ('material_exchange', 'completed', 'confirmed'),
    ('material_exchange', 'completed', 'disputed'),
    ('material_exchange', 'disputed', 'confirmed'),
    ('material_exchange', 'disputed', 'voided'),
    ('material_exchange', 'requested', 'accepted'),
    ('material_exchange', 'requested', 'cancelled'),
    ('material_exchange', 'requested', 'declined'),
    ('material_exchange', 'requested', 'expired'),
    ('material_exchange', 'returned', 'confirmed'),
    ('material_exchange', 'returned', 'disputed'),
    ('rental', 'accepted', 'active'),
    ('rental', 'accepted', 'cancelled'),
    ('rental', 'accepted', 'expired'),
    ('rental', 'active', 'overdue'),
    ('rental', 'active', 'returned'),
    ('rental', 'completed', 'confirmed'),
    ('rental', 'completed', 'disputed'),
    ('rental', 'disputed', 'confirmed'),
    ('rental', 'disputed', 'voided'),
    ('rental', 'overdue', 'returned'),
    ('rental', 'requested', 'accepted'),
    ('rental', 'requested', 'cancelled'),
    ('rental', 'requested', 'declined'),
    ('rental', 'requested', 'expired'),
    ('rental', 'returned', 'confirmed'),
    ('rental', 'returned', 'disputed'),
    ('repair', 'accepted', 'cancelled'),
    ('repair', 'accepted', 'completed'),
    ('repair', 'completed', 'confirmed'),
    ('repair', 'completed', 'disputed'),
    ('repair', 'disputed', 'confirmed'),
    ('repair', 'disputed', 'voided'),
    ('repair', 'requested', 'accepted'),
    ('repair', 'requested', 'cancelled'),
    ('repair', 'requested', 'declined'),
    ('repair', 'requested', 'expired'),
    ('repair', 'returned', 'confirmed'),
    ('repair', 'returned', 'disputed'),
    ('reuse', 'accepted', 'cancelled'),
    ('reuse', 'accepted', 'completed'),
    ('reuse', 'completed', 'confirmed'),
    ('reuse', 'completed', 'disputed'),
    ('reuse', 'disputed', 'confirmed'),
    ('reuse', 'disputed', 'voided'),
    ('reuse', 'requested', 'accepted'),
    ('reuse', 'requested', 'cancelled'),
    ('reuse', 'requested', 'declined'),
    ('reuse', 'requested', 'expired'),
    ('reuse', 'returned', 'confirmed'),
    ('reuse', 'returned', 'disputed'),
    ('space_share', 'accepted', 'active'),
    ('space_share', 'accepted', 'cancelled'),
    ('space_share', 'accepted', 'expired'),
    ('space_share', 'active', 'overdue'),
    ('space_share', 'active', 'returned'),
    ('space_share', 'completed', 'confirmed'),
    ('space_share', 'completed', 'disputed'),
    ('space_share', 'disputed', 'confirmed'),
    ('space_share', 'disputed', 'voided'),
    ('space_share', 'overdue', 'returned'),
    ('space_share', 'requested', 'accepted'),
    ('space_share', 'requested', 'cancelled'),
    ('space_share', 'requested', 'declined'),
    ('space_share', 'requested', 'expired'),
    ('space_share', 'returned', 'confirmed'),
    ('space_share', 'returned', 'disputed')
;
-- ;;
CREATE FUNCTION transactions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'requested' THEN
            RAISE EXCEPTION 'a transaction starts as requested, not %', NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_status_transition';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.type <> OLD.type OR NEW.listing_id <> OLD.listing_id
       OR NEW.subgoal <> OLD.subgoal
       OR NEW.provider_person_id IS DISTINCT FROM OLD.provider_person_id
       OR NEW.provider_organization_id IS DISTINCT FROM OLD.provider_organization_id
       OR NEW.receiver_person_id IS DISTINCT FROM OLD.receiver_person_id
       OR NEW.receiver_organization_id IS DISTINCT FROM OLD.receiver_organization_id THEN
        RAISE EXCEPTION 'the type, listing and parties of a transaction never change'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_immutable';
    END IF;
    IF NEW.status <> OLD.status AND NOT EXISTS (
        SELECT 1 FROM transaction_transitions AS t
        WHERE t.type = NEW.type AND t.from_status = OLD.status AND t.to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'a % cannot go from % to %', NEW.type, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_status_transition';
    END IF;
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER transactions_guard BEFORE INSERT OR UPDATE ON transactions
FOR EACH ROW EXECUTE FUNCTION transactions_guard();
-- ;;
-- How much of its listing a reuse or material exchange holds: the requested quantity while
-- asked for or agreed, what was handed over once it was, nothing when it came to nothing.
CREATE FUNCTION sirkel_committed_quantity(status text, quantity numeric, delivered numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN status IN ('requested', 'accepted') THEN coalesce(quantity, 0)
        WHEN status IN ('completed', 'confirmed', 'disputed', 'voided')
            THEN coalesce(delivered, quantity, 0)
        ELSE 0
    END
$$;
-- ;;
CREATE FUNCTION transactions_commit_quantity() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    delta numeric := sirkel_committed_quantity(NEW.status, NEW.quantity, NEW.delivered_quantity);
BEGIN
    IF NEW.type NOT IN ('reuse', 'material_exchange') THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        delta := delta - sirkel_committed_quantity(OLD.status, OLD.quantity, OLD.delivered_quantity);
    END IF;
    IF delta <> 0 THEN
        UPDATE listings SET quantity_committed = quantity_committed + delta
        WHERE id = NEW.listing_id;
    END IF;
    RETURN NULL;
END
$$;
-- ;;
CREATE TRIGGER transactions_commit_quantity AFTER INSERT OR UPDATE ON transactions
FOR EACH ROW EXECUTE FUNCTION transactions_commit_quantity();
-- ;;
CREATE FUNCTION sirkel_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = TG_TABLE_NAME || '_append_only';
END
$$;
-- ;;
CREATE TRIGGER impact_factors_append_only BEFORE UPDATE OR DELETE ON impact_factors
FOR EACH ROW EXECUTE FUNCTION sirkel_refuse_change();
-- ;;
CREATE TRIGGER impact_factors_no_truncate BEFORE TRUNCATE ON impact_factors
FOR EACH STATEMENT EXECUTE FUNCTION sirkel_refuse_change();
-- ;;
CREATE TRIGGER impact_factor_revisions_append_only BEFORE UPDATE OR DELETE
ON impact_factor_revisions FOR EACH ROW EXECUTE FUNCTION sirkel_refuse_change();
-- ;;
CREATE TRIGGER evidence_append_only BEFORE UPDATE OR DELETE ON evidence
FOR EACH ROW EXECUTE FUNCTION sirkel_refuse_change();
-- ;;
CREATE TRIGGER evidence_no_truncate BEFORE TRUNCATE ON evidence
FOR EACH STATEMENT EXECUTE FUNCTION sirkel_refuse_change();
-- ;;
-- The canonical serialization the chain hashes (version 1): a JSON object of the fields
-- below with keys in byte order and no whitespace; text, uuids and codes as JSON strings,
-- integers as JSON numbers, decimals as strings with their 3 decimals ("132.660"), times
-- as "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC, absent values as null. jsonb_each's value::text
-- escapes strings exactly as Python's json.dumps(..., ensure_ascii=False) does, so a verifier
-- outside the database can rebuild it from the feed (README: The evidence ledger).
CREATE FUNCTION sirkel_utc_text(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
-- ;;
CREATE FUNCTION sirkel_evidence_canonical(e evidence) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{' || string_agg(to_json(f.key)::text || ':' || f.value::text, ',' ORDER BY f.key COLLATE "C") || '}'
    FROM jsonb_each(jsonb_build_object(
        'v', e.canonical_version,
        'seq', e.seq,
        'recorded_at', sirkel_utc_text(e.recorded_at),
        'occurred_at', sirkel_utc_text(e.occurred_at),
        'event', e.event,
        'grade', e.grade,
        'type', e.type,
        'subgoal', e.subgoal,
        'transaction_id', e.transaction_id,
        'repair_id', e.repair_id,
        'compensates', e.compensates,
        'provider_party', e.provider_party,
        'provider_sector', e.provider_sector,
        'receiver_party', e.receiver_party,
        'receiver_sector', e.receiver_sector,
        'kommunenummer', e.kommunenummer,
        'fylkesnummer', e.fylkesnummer,
        'category', e.category_slug,
        'ewc_code', e.ewc_code,
        'ords_category_id', e.ords_category_id,
        'repair_status', e.repair_status,
        'count', e.record_count,
        'quantity', e.quantity::text,
        'unit', e.unit,
        'days', e.days::text,
        'kg_diverted', e.kg_diverted::text,
        'co2e_kg', e.co2e_kg::text,
        'factor_revision', e.factor_revision
    )) AS f
$$;
-- ;;
-- Appends stay one chain: the advisory lock (held to commit) orders writers, and each reads
-- the head committed before it (READ COMMITTED gives every statement a fresh snapshot).
CREATE FUNCTION evidence_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head record;
BEGIN
    PERFORM pg_advisory_xact_lock(7262353537);
    SELECT e.seq, e.hash INTO head FROM evidence AS e ORDER BY e.seq DESC LIMIT 1;
    NEW.seq := coalesce(head.seq, 0) + 1;
    NEW.prev_hash := coalesce(head.hash, decode(repeat('00', 32), 'hex'));
    NEW.recorded_at := clock_timestamp();
    NEW.canonical_version := 1;
    NEW.hash := sha256(NEW.prev_hash || convert_to(sirkel_evidence_canonical(NEW), 'UTF8'));
    RETURN NEW;
END
$$;
-- ;;
CREATE TRIGGER evidence_chain BEFORE INSERT ON evidence
FOR EACH ROW EXECUTE FUNCTION evidence_chain();
"""

DROP_SQL = r"""
DROP TRIGGER IF EXISTS evidence_chain ON evidence;
-- ;;
DROP TRIGGER IF EXISTS evidence_append_only ON evidence;
-- ;;
DROP TRIGGER IF EXISTS evidence_no_truncate ON evidence;
-- ;;
DROP TRIGGER IF EXISTS impact_factors_append_only ON impact_factors;
-- ;;
DROP TRIGGER IF EXISTS impact_factors_no_truncate ON impact_factors;
-- ;;
DROP TRIGGER IF EXISTS impact_factor_revisions_append_only ON impact_factor_revisions;
-- ;;
DROP TRIGGER IF EXISTS transactions_commit_quantity ON transactions;
-- ;;
DROP TRIGGER IF EXISTS transactions_guard ON transactions;
-- ;;
DROP FUNCTION IF EXISTS sirkel_refuse_change();
-- ;;
DROP FUNCTION IF EXISTS evidence_chain();
-- ;;
DROP FUNCTION IF EXISTS sirkel_evidence_canonical(evidence);
-- ;;
DROP FUNCTION IF EXISTS sirkel_utc_text(timestamptz);
-- ;;
DROP FUNCTION IF EXISTS transactions_commit_quantity();
-- ;;
DROP FUNCTION IF EXISTS sirkel_committed_quantity(text, numeric, numeric);
-- ;;
DROP FUNCTION IF EXISTS transactions_guard();
-- ;;
DROP FUNCTION IF EXISTS sirkel_party(text, uuid);
-- ;;
DELETE FROM privacy_keys WHERE name = 'evidence_party';
-- ;;
DELETE FROM reference_datasets WHERE name = 'impact_factors';
"""


def _execute_each(script: str) -> None:
    """asyncpg runs one statement per call; the scripts separate theirs with ``-- ;;``."""
    for statement in script.split("-- ;;"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _execute_each(FUNCTIONS_SQL)
    op.create_table(
        "impact_factor_revisions",
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checksum", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "revision >= 1", name=op.f("ck_impact_factor_revisions_revision_positive")
        ),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_impact_factor_revisions")),
        sa.UniqueConstraint("checksum", name=op.f("uq_impact_factor_revisions_checksum")),
    )
    op.create_table(
        "transaction_transitions",
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=False),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "type", "from_status", "to_status", name=op.f("pk_transaction_transitions")
        ),
    )
    op.create_table(
        "impact_factors",
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("factor", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("data_quality", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "data_quality IN ('high', 'medium', 'low')",
            name=op.f("ck_impact_factors_data_quality_known"),
        ),
        sa.CheckConstraint("factor >= 0", name=op.f("ck_impact_factors_factor_non_negative")),
        sa.ForeignKeyConstraint(
            ["revision"],
            ["impact_factor_revisions.revision"],
            name=op.f("fk_impact_factors_revision_impact_factor_revisions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("revision", "key", name=op.f("pk_impact_factors")),
    )
    op.create_table(
        "repair_events",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("kommunenummer", sa.String(length=4), nullable=True),
        sa.Column("fylkesnummer", sa.String(length=2), nullable=True),
        sa.Column("participants", sa.Integer(), nullable=True),
        sa.Column("volunteers", sa.Integer(), nullable=True),
        sa.Column("created_by_person_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "char_length(description) <= 5000", name=op.f("ck_repair_events_description_length")
        ),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 3 AND 120", name=op.f("ck_repair_events_title_length")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_repair_events_ends_after_start")),
        sa.CheckConstraint(
            "participants IS NULL OR participants >= 0",
            name=op.f("ck_repair_events_participants_range"),
        ),
        sa.CheckConstraint(
            "volunteers IS NULL OR volunteers >= 0", name=op.f("ck_repair_events_volunteers_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_person_id"],
            ["persons.id"],
            name=op.f("fk_repair_events_created_by_person_id_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["fylkesnummer"],
            ["fylker.fylkesnummer"],
            name=op.f("fk_repair_events_fylkesnummer_fylker"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["kommunenummer"],
            ["kommuner.kommunenummer"],
            name=op.f("fk_repair_events_kommunenummer_kommuner"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_repair_events_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_events")),
    )
    op.create_index(
        "ix_repair_events_organization_id",
        "repair_events",
        ["organization_id", "starts_at"],
        unique=False,
    )
    op.create_index("ix_repair_events_starts_at", "repair_events", ["starts_at"], unique=False)
    op.create_table(
        "transactions",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("subgoal", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("provider_person_id", sa.Uuid(), nullable=True),
        sa.Column("provider_organization_id", sa.Uuid(), nullable=True),
        sa.Column("receiver_person_id", sa.Uuid(), nullable=True),
        sa.Column("receiver_organization_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_person_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("quantity", sa.Numeric(precision=16, scale=3), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("delivered_quantity", sa.Numeric(precision=16, scale=3), nullable=True),
        sa.Column("period", postgresql.TSTZRANGE(), nullable=True),
        sa.Column("blocked", postgresql.TSTZRANGE(), nullable=True),
        sa.Column("unit_no", sa.SmallInteger(), nullable=True),
        sa.Column("factor_revision", sa.Integer(), nullable=True),
        sa.Column("kg_diverted", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("co2e_kg", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("impact_basis", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        postgresql.ExcludeConstraint(
            (sa.text("listing_id"), "="),
            (sa.text("unit_no"), "="),
            (sa.text("blocked"), "&&"),
            where=sa.text(
                "type IN ('loan', 'rental', 'space_share') AND status IN ('accepted', 'active', 'overdue', 'requested')"
            ),
            using="gist",
            name="bookings_do_not_overlap",
        ),
        sa.CheckConstraint(
            "(type IN ('loan', 'rental', 'space_share')) = (period IS NOT NULL)",
            name=op.f("ck_transactions_period_for_bookings"),
        ),
        sa.CheckConstraint(
            "status IN ('accepted', 'active', 'cancelled', 'completed', 'confirmed', 'declined', 'disputed', 'expired', 'overdue', 'requested', 'returned', 'voided')",
            name=op.f("ck_transactions_status_known"),
        ),
        sa.CheckConstraint(
            "subgoal IN ('SG1', 'SG2', 'SG3')", name=op.f("ck_transactions_subgoal_known")
        ),
        sa.CheckConstraint(
            "type IN ('energy_exchange', 'loan', 'material_exchange', 'rental', 'repair', 'reuse', 'space_share')",
            name=op.f("ck_transactions_type_known"),
        ),
        sa.CheckConstraint(
            "unit IN ('kg', 'l', 'm', 'm2', 'm3', 'mwh', 'pcs', 't')",
            name=op.f("ck_transactions_unit_known"),
        ),
        sa.CheckConstraint(
            "(kg_diverted IS NULL AND co2e_kg IS NULL) OR factor_revision IS NOT NULL",
            name=op.f("ck_transactions_impact_names_revision"),
        ),
        sa.CheckConstraint(
            "(kg_diverted IS NULL OR kg_diverted >= 0) AND (co2e_kg IS NULL OR co2e_kg >= 0)",
            name=op.f("ck_transactions_impact_non_negative"),
        ),
        sa.CheckConstraint(
            "(period IS NULL) = (blocked IS NULL) AND (blocked IS NULL OR blocked @> period)",
            name=op.f("ck_transactions_blocked_covers_period"),
        ),
        sa.CheckConstraint(
            "(period IS NULL) = (unit_no IS NULL) AND (unit_no IS NULL OR unit_no >= 1)",
            name=op.f("ck_transactions_unit_no_for_bookings"),
        ),
        sa.CheckConstraint(
            "(quantity IS NULL AND delivered_quantity IS NULL) = (unit IS NULL)",
            name=op.f("ck_transactions_quantity_has_unit"),
        ),
        sa.CheckConstraint(
            "char_length(message) <= 1000", name=op.f("ck_transactions_message_length")
        ),
        sa.CheckConstraint(
            "delivered_quantity IS NULL OR (delivered_quantity > 0 AND delivered_quantity <= 1000000000 AND unit IS NOT NULL)",
            name=op.f("ck_transactions_delivered_range"),
        ),
        sa.CheckConstraint(
            "num_nonnulls(provider_person_id, provider_organization_id) = 1",
            name=op.f("ck_transactions_one_provider"),
        ),
        sa.CheckConstraint(
            "num_nonnulls(receiver_person_id, receiver_organization_id) = 1",
            name=op.f("ck_transactions_one_receiver"),
        ),
        sa.CheckConstraint(
            "period IS NULL OR (NOT isempty(period) AND NOT lower_inf(period) AND NOT upper_inf(period))",
            name=op.f("ck_transactions_period_bounded"),
        ),
        sa.CheckConstraint(
            "provider_organization_id IS NULL OR receiver_organization_id IS NULL OR provider_organization_id <> receiver_organization_id",
            name=op.f("ck_transactions_not_own_listing_organization"),
        ),
        sa.CheckConstraint(
            "provider_person_id IS NULL OR receiver_person_id IS NULL OR provider_person_id <> receiver_person_id",
            name=op.f("ck_transactions_not_own_listing_person"),
        ),
        sa.CheckConstraint(
            "quantity IS NULL OR (quantity > 0 AND quantity <= 1000000000)",
            name=op.f("ck_transactions_quantity_range"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_person_id"],
            ["persons.id"],
            name=op.f("fk_transactions_created_by_person_id_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["factor_revision"],
            ["impact_factor_revisions.revision"],
            name=op.f("fk_transactions_factor_revision_impact_factor_revisions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_transactions_listing_id_listings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["provider_organization_id"],
            ["organizations.id"],
            name=op.f("fk_transactions_provider_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["provider_person_id"],
            ["persons.id"],
            name=op.f("fk_transactions_provider_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["receiver_organization_id"],
            ["organizations.id"],
            name=op.f("fk_transactions_receiver_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["receiver_person_id"],
            ["persons.id"],
            name=op.f("fk_transactions_receiver_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
    )
    op.create_index(
        "ix_transactions_due",
        "transactions",
        [sa.literal_column("upper(period)")],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_transactions_listing_id", "transactions", ["listing_id"], unique=False)
    op.create_index(
        "ix_transactions_provider_organization",
        "transactions",
        ["provider_organization_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_transactions_provider_person",
        "transactions",
        ["provider_person_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_transactions_receiver_organization",
        "transactions",
        ["receiver_organization_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_transactions_receiver_person",
        "transactions",
        ["receiver_person_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_transactions_request_expiry",
        "transactions",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'requested'"),
    )
    op.create_table(
        "repairs",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ords_seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("data_provider", sa.Text(), nullable=False),
        sa.Column("provider_record_id", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=3), server_default="NOR", nullable=False),
        sa.Column("partner_product_category", sa.Text(), nullable=False),
        sa.Column("ords_category_id", sa.SmallInteger(), nullable=False),
        sa.Column("category_slug", sa.Text(), nullable=True),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("year_of_manufacture", sa.SmallInteger(), nullable=True),
        sa.Column("product_age", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("repair_status", sa.Text(), nullable=False),
        sa.Column("repair_barrier", sa.Text(), nullable=True),
        sa.Column("group_identifier", sa.Text(), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("problem", sa.Text(), server_default="", nullable=False),
        sa.Column("kommunenummer", sa.String(length=4), nullable=True),
        sa.Column("fylkesnummer", sa.String(length=2), nullable=True),
        sa.Column("factor_revision", sa.Integer(), nullable=True),
        sa.Column("kg_diverted", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("co2e_kg", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source = 'transaction' OR organization_id IS NOT NULL",
            name=op.f("ck_repairs_logged_by_organization"),
        ),
        sa.CheckConstraint("country ~ '^[A-Z]{3}$'", name=op.f("ck_repairs_country_alpha3")),
        sa.CheckConstraint(
            "repair_barrier IS NULL OR (repair_barrier IN ('Spare parts not available', 'Spare parts too expensive', 'No way to open product', 'Repair information not available', 'Lack of equipment', 'Item too worn out') AND repair_status = 'End of life')",
            name=op.f("ck_repairs_barrier_only_end_of_life"),
        ),
        sa.CheckConstraint(
            "repair_status IN ('Fixed', 'Repairable', 'End of life', 'Unknown')",
            name=op.f("ck_repairs_repair_status_known"),
        ),
        sa.CheckConstraint(
            "source <> 'transaction' OR transaction_id IS NOT NULL",
            name=op.f("ck_repairs_transaction_link"),
        ),
        sa.CheckConstraint(
            "source IN ('logged', 'transaction', 'imported')", name=op.f("ck_repairs_source_known")
        ),
        sa.CheckConstraint(
            "(kg_diverted IS NULL AND co2e_kg IS NULL) OR factor_revision IS NOT NULL",
            name=op.f("ck_repairs_impact_names_revision"),
        ),
        sa.CheckConstraint(
            "char_length(data_provider) BETWEEN 1 AND 200",
            name=op.f("ck_repairs_data_provider_length"),
        ),
        sa.CheckConstraint("char_length(problem) <= 2000", name=op.f("ck_repairs_problem_length")),
        sa.CheckConstraint(
            "char_length(provider_record_id) BETWEEN 1 AND 200",
            name=op.f("ck_repairs_record_id_length"),
        ),
        sa.CheckConstraint(
            "product_age IS NULL OR (product_age >= 0 AND product_age <= 200)",
            name=op.f("ck_repairs_age_range"),
        ),
        sa.CheckConstraint(
            "year_of_manufacture IS NULL OR year_of_manufacture BETWEEN 1850 AND 2100",
            name=op.f("ck_repairs_year_range"),
        ),
        sa.ForeignKeyConstraint(
            ["category_slug"],
            ["categories.slug"],
            name=op.f("fk_repairs_category_slug_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["repair_events.id"],
            name=op.f("fk_repairs_event_id_repair_events"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["factor_revision"],
            ["impact_factor_revisions.revision"],
            name=op.f("fk_repairs_factor_revision_impact_factor_revisions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["fylkesnummer"],
            ["fylker.fylkesnummer"],
            name=op.f("fk_repairs_fylkesnummer_fylker"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["kommunenummer"],
            ["kommuner.kommunenummer"],
            name=op.f("fk_repairs_kommunenummer_kommuner"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ords_category_id"],
            ["ords_categories.id"],
            name=op.f("fk_repairs_ords_category_id_ords_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_repairs_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_repairs_transaction_id_transactions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repairs")),
        sa.UniqueConstraint("data_provider", "provider_record_id", name="one_record_per_provider"),
        sa.UniqueConstraint("ords_seq", name=op.f("uq_repairs_ords_seq")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_repairs_transaction_id")),
    )
    op.create_index("ix_repairs_event_id", "repairs", ["event_id"], unique=False)
    op.create_index(
        "ix_repairs_organization_id", "repairs", ["organization_id", "event_date"], unique=False
    )
    op.create_index("ix_repairs_updated_at", "repairs", ["updated_at", "ords_seq"], unique=False)
    op.create_table(
        "evidence",
        sa.Column(
            "seq", sa.BigInteger(), server_default=sa.text("0"), autoincrement=False, nullable=False
        ),
        sa.Column(
            "canonical_version", sa.SmallInteger(), server_default=sa.text("1"), nullable=False
        ),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("grade", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("subgoal", sa.Text(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("repair_id", sa.Uuid(), nullable=True),
        sa.Column("compensates", sa.BigInteger(), nullable=True),
        sa.Column("provider_party", sa.Text(), nullable=False),
        sa.Column("provider_sector", sa.Text(), nullable=False),
        sa.Column("receiver_party", sa.Text(), nullable=True),
        sa.Column("receiver_sector", sa.Text(), nullable=True),
        sa.Column("kommunenummer", sa.String(length=4), nullable=True),
        sa.Column("fylkesnummer", sa.String(length=2), nullable=True),
        sa.Column("category_slug", sa.Text(), nullable=True),
        sa.Column("ewc_code", sa.Text(), nullable=True),
        sa.Column("ords_category_id", sa.SmallInteger(), nullable=True),
        sa.Column("repair_status", sa.Text(), nullable=True),
        sa.Column("record_count", sa.SmallInteger(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=16, scale=3), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("days", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("kg_diverted", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("co2e_kg", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("factor_revision", sa.Integer(), nullable=True),
        sa.Column(
            "prev_hash", sa.LargeBinary(), server_default=sa.text("'\\x'::bytea"), nullable=False
        ),
        sa.Column("hash", sa.LargeBinary(), server_default=sa.text("'\\x'::bytea"), nullable=False),
        sa.CheckConstraint(
            "(quantity IS NULL) = (unit IS NULL)", name=op.f("ck_evidence_quantity_has_unit")
        ),
        sa.CheckConstraint(
            "num_nonnulls(transaction_id, repair_id) >= 1", name=op.f("ck_evidence_has_subject")
        ),
        sa.CheckConstraint("octet_length(hash) = 32", name=op.f("ck_evidence_hash_length")),
        sa.CheckConstraint(
            "octet_length(prev_hash) = 32", name=op.f("ck_evidence_prev_hash_length")
        ),
        sa.CheckConstraint(
            "record_count IN (-1, 0, 1)", name=op.f("ck_evidence_record_count_unit")
        ),
        sa.ForeignKeyConstraint(
            ["compensates"],
            ["evidence.seq"],
            name=op.f("fk_evidence_compensates_evidence"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["factor_revision"],
            ["impact_factor_revisions.revision"],
            name=op.f("fk_evidence_factor_revision_impact_factor_revisions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["repair_id"],
            ["repairs.id"],
            name=op.f("fk_evidence_repair_id_repairs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_evidence_transaction_id_transactions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_evidence")),
    )
    op.create_index("ix_evidence_recorded_at", "evidence", ["recorded_at"], unique=False)
    op.create_index("ix_evidence_repair_id", "evidence", ["repair_id"], unique=False)
    op.create_index("ix_evidence_transaction_id", "evidence", ["transaction_id"], unique=False)
    op.add_column(
        "listings",
        sa.Column(
            "quantity_committed",
            sa.Numeric(precision=16, scale=3),
            server_default="0",
            nullable=False,
        ),
    )
    op.create_check_constraint(
        "quantity_not_overcommitted",
        "listings",
        # A non-positive quantity is quantity_range's to refuse.
        "quantity_committed >= 0 AND (quantity IS NULL OR quantity <= 0 OR quantity_committed <= quantity)",
    )
    _execute_each(TRIGGERS_SQL)


def downgrade() -> None:
    _execute_each(DROP_SQL)
    op.drop_constraint(op.f("ck_listings_quantity_not_overcommitted"), "listings")
    op.drop_column("listings", "quantity_committed")
    op.drop_index("ix_evidence_transaction_id", table_name="evidence")
    op.drop_index("ix_evidence_repair_id", table_name="evidence")
    op.drop_index("ix_evidence_recorded_at", table_name="evidence")
    op.drop_table("evidence")
    op.drop_index("ix_repairs_updated_at", table_name="repairs")
    op.drop_index("ix_repairs_organization_id", table_name="repairs")
    op.drop_index("ix_repairs_event_id", table_name="repairs")
    op.drop_table("repairs")
    op.drop_index(
        "ix_transactions_request_expiry",
        table_name="transactions",
        postgresql_where=sa.text("status = 'requested'"),
    )
    op.drop_index("ix_transactions_receiver_person", table_name="transactions")
    op.drop_index("ix_transactions_receiver_organization", table_name="transactions")
    op.drop_index("ix_transactions_provider_person", table_name="transactions")
    op.drop_index("ix_transactions_provider_organization", table_name="transactions")
    op.drop_index("ix_transactions_listing_id", table_name="transactions")
    op.drop_index(
        "ix_transactions_due",
        table_name="transactions",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_table("transactions")
    op.drop_index("ix_repair_events_starts_at", table_name="repair_events")
    op.drop_index("ix_repair_events_organization_id", table_name="repair_events")
    op.drop_table("repair_events")
    op.drop_table("impact_factors")
    op.drop_table("transaction_transitions")
    op.drop_table("impact_factor_revisions")
