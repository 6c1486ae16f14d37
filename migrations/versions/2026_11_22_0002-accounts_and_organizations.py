"""Persons, login sessions, organizations, memberships and API keys.

Hand-written: the triggers that keep every organization owned.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:21:59.721389+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_hash", sa.String(length=64), nullable=False),
        sa.Column("client_address", postgresql.INET(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(
        "ix_login_failures_account_at", "login_failures", ["account_hash", "at"], unique=False
    )
    op.create_index(
        "ix_login_failures_address_at", "login_failures", ["client_address", "at"], unique=False
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("home_kommune", sa.String(length=4), nullable=True),
        sa.Column("language", sa.String(length=2), server_default="nb", nullable=False),
        sa.Column(
            "roles",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "pseudonym",
            sa.Text(),
            server_default=sa.text(
                "('p_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text))"
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("language IN ('nb', 'en')", name=op.f("ck_persons_language_known")),
        sa.CheckConstraint(
            "roles <@ ARRAY['moderator', 'analyst']::text[]", name=op.f("ck_persons_roles_known")
        ),
        sa.CheckConstraint("email = lower(btrim(email))", name=op.f("ck_persons_email_normalised")),
        sa.CheckConstraint(
            "erased_at IS NOT NULL OR (email IS NOT NULL AND display_name IS NOT NULL AND password_hash IS NOT NULL)",
            name=op.f("ck_persons_active_is_complete"),
        ),
        sa.CheckConstraint(
            "erased_at IS NULL OR (email IS NULL AND display_name IS NULL AND password_hash IS NULL)",
            name=op.f("ck_persons_erased_is_empty"),
        ),
        sa.ForeignKeyConstraint(
            ["home_kommune"],
            ["kommuner.kommunenummer"],
            name=op.f("fk_persons_home_kommune_kommuner"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("email", name=op.f("uq_persons_email")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_persons_pseudonym")),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_auth_sessions_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index("ix_auth_sessions_person_id", "auth_sessions", ["person_id"], unique=False)
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column(
            "sector",
            sa.Text(),
            sa.Computed(
                "CASE kind WHEN 'repair_shop' THEN 'business' WHEN 'company' THEN 'business' WHEN 'library_of_things' THEN 'civil_society' WHEN 'civil_society' THEN 'civil_society' WHEN 'municipality' THEN 'public_sector' WHEN 'public_agency' THEN 'public_sector' END",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("organisasjonsnummer", sa.String(length=9), nullable=True),
        sa.Column("kommunenummer", sa.String(length=4), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind <> 'municipality' OR kommunenummer IS NOT NULL",
            name=op.f("ck_organizations_municipality_has_kommune"),
        ),
        sa.CheckConstraint(
            "kind IN ('repair_shop', 'library_of_things', 'company', 'municipality', 'civil_society', 'public_agency')",
            name=op.f("ck_organizations_kind_known"),
        ),
        sa.CheckConstraint(
            "organisasjonsnummer ~ '^[0-9]{9}$'", name=op.f("ck_organizations_orgnr_format")
        ),
        sa.CheckConstraint(
            "(verified_at IS NULL) = (verified_by IS NULL)",
            name=op.f("ck_organizations_verified_has_moderator"),
        ),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 200", name=op.f("ck_organizations_name_length")
        ),
        sa.ForeignKeyConstraint(
            ["kommunenummer"],
            ["kommuner.kommunenummer"],
            name=op.f("fk_organizations_kommunenummer_kommuner"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["verified_by"],
            ["persons.id"],
            name=op.f("fk_organizations_verified_by_persons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint(
            "organisasjonsnummer", name=op.f("uq_organizations_organisasjonsnummer")
        ),
    )
    op.create_index("ix_organizations_kind", "organizations", ["kind"], unique=False)
    op.create_index(
        "ix_organizations_kommunenummer", "organizations", ["kommunenummer"], unique=False
    )
    op.create_index(
        "ix_organizations_name_trgm",
        "organizations",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "uq_organizations_verified_municipality",
        "organizations",
        ["kommunenummer"],
        unique=True,
        postgresql_where=sa.text("kind = 'municipality' AND verified_at IS NOT NULL"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scopes <@ ARRAY['listings:write', 'transactions:write', 'impact:read', 'organization:write']::text[] AND cardinality(scopes) > 0",
            name=op.f("ck_api_keys_scopes_known"),
        ),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_api_keys_name_length")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["persons.id"],
            name=op.f("fk_api_keys_created_by_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_keys_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index("ix_api_keys_organization_id", "api_keys", ["organization_id"], unique=False)
    op.create_table(
        "memberships",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'member')", name=op.f("ck_memberships_role_known")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_memberships_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_memberships_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "person_id", name=op.f("pk_memberships")),
    )
    op.create_index("ix_memberships_person_id", "memberships", ["person_id"], unique=False)
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_sessions.id"],
            name=op.f("fk_refresh_tokens_session_id_auth_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"], unique=False)

    # Every organization keeps at least one owner. Membership changes of one organization are
    # serialised on its row, and the check runs on a fresh snapshot (READ COMMITTED), so two
    # owners demoting each other at the same time cannot both succeed.
    op.execute(
        """
        CREATE FUNCTION memberships_keep_an_owner() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.role = 'owner' AND (TG_OP = 'DELETE' OR NEW.role <> 'owner'
                                       OR NEW.organization_id <> OLD.organization_id) THEN
                PERFORM 1 FROM organizations WHERE id = OLD.organization_id FOR UPDATE;
                IF FOUND AND NOT EXISTS (
                    SELECT 1 FROM memberships
                    WHERE organization_id = OLD.organization_id AND role = 'owner'
                ) THEN
                    RAISE EXCEPTION 'organization % would be left without an owner',
                        OLD.organization_id
                        USING ERRCODE = 'check_violation',
                              CONSTRAINT = 'memberships_keep_an_owner';
                END IF;
            END IF;
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER memberships_keep_an_owner
        AFTER UPDATE OR DELETE ON memberships
        DEFERRABLE INITIALLY IMMEDIATE
        FOR EACH ROW EXECUTE FUNCTION memberships_keep_an_owner()
        """
    )
    # ... and is created with one: checked at commit, after the owner membership is inserted.
    op.execute(
        """
        CREATE FUNCTION organizations_have_an_owner() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM organizations WHERE id = NEW.id) AND NOT EXISTS (
                SELECT 1 FROM memberships WHERE organization_id = NEW.id AND role = 'owner'
            ) THEN
                RAISE EXCEPTION 'organization % has no owner', NEW.id
                    USING ERRCODE = 'check_violation',
                          CONSTRAINT = 'organizations_have_an_owner';
            END IF;
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER organizations_have_an_owner
        AFTER INSERT ON organizations
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION organizations_have_an_owner()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS organizations_have_an_owner ON organizations")
    op.execute("DROP FUNCTION IF EXISTS organizations_have_an_owner()")
    op.execute("DROP TRIGGER IF EXISTS memberships_keep_an_owner ON memberships")
    op.execute("DROP FUNCTION IF EXISTS memberships_keep_an_owner()")
    op.drop_index("ix_refresh_tokens_session_id", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index("ix_memberships_person_id", table_name="memberships")
    op.drop_table("memberships")
    op.drop_index("ix_api_keys_organization_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(
        "uq_organizations_verified_municipality",
        table_name="organizations",
        postgresql_where=sa.text("kind = 'municipality' AND verified_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_organizations_name_trgm",
        table_name="organizations",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.drop_index("ix_organizations_kommunenummer", table_name="organizations")
    op.drop_index("ix_organizations_kind", table_name="organizations")
    op.drop_table("organizations")
    op.drop_index("ix_auth_sessions_person_id", table_name="auth_sessions")
    op.drop_table("auth_sessions")
    op.drop_table("persons")
    op.drop_index("ix_login_failures_address_at", table_name="login_failures")
    op.drop_index("ix_login_failures_account_at", table_name="login_failures")
    op.drop_table("login_failures")
