"""Organizations, their members and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, uuid_pk


class OrganizationKind(StrEnum):
    REPAIR_SHOP = "repair_shop"
    LIBRARY_OF_THINGS = "library_of_things"
    COMPANY = "company"
    MUNICIPALITY = "municipality"
    CIVIL_SOCIETY = "civil_society"
    PUBLIC_AGENCY = "public_agency"


class Sector(StrEnum):
    HOUSEHOLDS = "households"
    BUSINESS = "business"
    CIVIL_SOCIETY = "civil_society"
    PUBLIC_SECTOR = "public_sector"


# The sector of each kind, for SG1 reporting. The database derives the same (generated column).
SECTOR_OF_KIND: dict[OrganizationKind, Sector] = {
    OrganizationKind.REPAIR_SHOP: Sector.BUSINESS,
    OrganizationKind.COMPANY: Sector.BUSINESS,
    OrganizationKind.LIBRARY_OF_THINGS: Sector.CIVIL_SOCIETY,
    OrganizationKind.CIVIL_SOCIETY: Sector.CIVIL_SOCIETY,
    OrganizationKind.MUNICIPALITY: Sector.PUBLIC_SECTOR,
    OrganizationKind.PUBLIC_AGENCY: Sector.PUBLIC_SECTOR,
}

_SECTOR_SQL = (
    "CASE kind WHEN 'repair_shop' THEN 'business' WHEN 'company' THEN 'business' "
    "WHEN 'library_of_things' THEN 'civil_society' WHEN 'civil_society' THEN 'civil_society' "
    "WHEN 'municipality' THEN 'public_sector' WHEN 'public_agency' THEN 'public_sector' END"
)


class MemberRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"

    @property
    def rank(self) -> int:
        return {"member": 1, "admin": 2, "owner": 3}[self.value]


class ApiKeyScope(StrEnum):
    LISTINGS_WRITE = "listings:write"
    TRANSACTIONS_WRITE = "transactions:write"
    IMPACT_READ = "impact:read"
    ORGANIZATION_WRITE = "organization:write"


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('repair_shop', 'library_of_things', 'company', 'municipality', "
            "'civil_society', 'public_agency')",
            name="kind_known",
        ),
        CheckConstraint("organisasjonsnummer ~ '^[0-9]{9}$'", name="orgnr_format"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        # A municipality is bound to its kommune.
        CheckConstraint(
            "kind <> 'municipality' OR kommunenummer IS NOT NULL", name="municipality_has_kommune"
        ),
        CheckConstraint(
            "(verified_at IS NULL) = (verified_by IS NULL)", name="verified_has_moderator"
        ),
        # A permit to receive hazardous waste, recorded by a moderator (migration 0023): only
        # then does matching offer the organization hazardous material (app.services.matching).
        CheckConstraint(
            "(waste_permit_reference IS NULL) = (waste_permit_verified_at IS NULL)",
            name="waste_permit_recorded",
        ),
        CheckConstraint(
            "char_length(waste_permit_reference) BETWEEN 1 AND 100",
            name="waste_permit_reference_length",
        ),
        # Only one verified municipality organization per kommune holds its powers.
        Index(
            "uq_organizations_verified_municipality",
            "kommunenummer",
            unique=True,
            postgresql_where=text("kind = 'municipality' AND verified_at IS NOT NULL"),
        ),
        Index("ix_organizations_kind", "kind"),
        Index("ix_organizations_kommunenummer", "kommunenummer"),
        Index(
            "ix_organizations_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    sector: Mapped[str] = mapped_column(Text, Computed(_SECTOR_SQL, persisted=True))
    organisasjonsnummer: Mapped[str | None] = mapped_column(String(9), unique=True)
    kommunenummer: Mapped[str | None] = mapped_column(
        String(4), ForeignKey("kommuner.kommunenummer", ondelete="RESTRICT")
    )
    description: Mapped[str | None] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    waste_permit_reference: Mapped[str | None] = mapped_column(Text)
    waste_permit_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    waste_permit_verified_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Membership(Base):
    """A person's role in an organization. The database keeps at least one owner per
    organization (trigger ``memberships_keep_an_owner``)."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'admin', 'member')", name="role_known"),
        Index("ix_memberships_person_id", "person_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "scopes <@ ARRAY['listings:write', 'transactions:write', 'impact:read', "
            "'organization:write']::text[] AND cardinality(scopes) > 0",
            name="scopes_known",
        ),
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        Index("ix_api_keys_organization_id", "organization_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("persons.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
