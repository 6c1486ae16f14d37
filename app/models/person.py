"""Persons (household members), their login sessions, refresh tokens and failed logins."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, INET
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, uuid_pk


class PlatformRole(StrEnum):
    MODERATOR = "moderator"
    ANALYST = "analyst"


class Language(StrEnum):
    NB = "nb"
    EN = "en"


class Person(Base):
    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("language IN ('nb', 'en')", name="language_known"),
        CheckConstraint("roles <@ ARRAY['moderator', 'analyst']::text[]", name="roles_known"),
        CheckConstraint("email = lower(btrim(email))", name="email_normalised"),
        CheckConstraint(
            "public_name IS NULL OR char_length(public_name) BETWEEN 1 AND 60",
            name="public_name_length",
        ),
        CheckConstraint(
            "erased_at IS NULL OR public_name IS NULL", name="erased_has_no_public_name"
        ),
        # Erasure leaves nothing personal behind; the database refuses a half-erased row.
        CheckConstraint(
            "erased_at IS NULL OR (email IS NULL AND display_name IS NULL "
            "AND password_hash IS NULL)",
            name="erased_is_empty",
        ),
        CheckConstraint(
            "erased_at IS NOT NULL OR (email IS NOT NULL AND display_name IS NOT NULL "
            "AND password_hash IS NOT NULL)",
            name="active_is_complete",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str | None] = mapped_column(Text, unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(Text)
    # What others see: the public name (else the display name) when ``show_name``, otherwise
    # a neighbourly label ("Nabo i Oslo"); SQL ``sirkel_person_label`` (migration 0017).
    public_name: Mapped[str | None] = mapped_column(Text)
    show_name: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    home_kommune: Mapped[str | None] = mapped_column(
        String(4), ForeignKey("kommuner.kommunenummer", ondelete="RESTRICT")
    )
    language: Mapped[str] = mapped_column(String(2), server_default="nb")
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    # The only handle evidence records keep: random, stable, unrelated to the id. The default
    # is written as PostgreSQL prints it back, so that `alembic check` sees no drift.
    pseudonym: Mapped[str] = mapped_column(
        Text,
        unique=True,
        server_default=text(
            "('p_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text))"
        ),
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthSession(Base):
    """One login: the family of refresh tokens that rotate from it. Revoking the session
    (logout, theft detection, erasure) also invalidates its access tokens (claim ``sid``)."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_person_id", "person_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("persons.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("auth_sessions.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when this token was exchanged for the next one; presenting it again is reuse.
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """A failed password login, kept for the throttling window only. The account is stored as
    a SHA-256 of the normalised e-mail, so erasing a person leaves no address here."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_at", "account_hash", "at"),
        Index("ix_login_failures_address_at", "client_address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_hash: Mapped[str] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(INET)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
