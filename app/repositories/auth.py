"""SQL for authentication: resolving credentials, login sessions, refresh tokens and the
failed-login throttle."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey, AuthSession, LoginFailure, Organization, Person, RefreshToken

# last_used_at of an API key is written at most once a minute, not on every request.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ActivePerson:
    id: uuid.UUID
    roles: list[str]


@dataclass(frozen=True, slots=True)
class ActiveApiKey:
    id: uuid.UUID
    organization_id: uuid.UUID
    scopes: list[str]


@dataclass(frozen=True, slots=True)
class RefreshTokenState:
    token_id: uuid.UUID
    session_id: uuid.UUID
    person_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None
    session_revoked_at: datetime | None
    person_erased: bool


@dataclass(frozen=True, slots=True)
class LoginFailures:
    account: int  # for the account, from any address
    account_here: int  # for the account, from this address
    account_here_oldest: datetime | None
    address: int  # from this address, for any account
    address_oldest: datetime | None


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_person_in_session(
        self, *, person_id: uuid.UUID, session_id: uuid.UUID
    ) -> ActivePerson | None:
        stmt = (
            select(Person.id, Person.roles)
            .join(AuthSession, AuthSession.person_id == Person.id)
            .where(
                Person.id == person_id,
                Person.erased_at.is_(None),
                AuthSession.id == session_id,
                AuthSession.revoked_at.is_(None),
            )
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return ActivePerson(id=row.id, roles=list(row.roles)) if row else None

    async def active_api_key(self, *, key_hash: str, now: datetime) -> ActiveApiKey | None:
        stmt = select(ApiKey.id, ApiKey.organization_id, ApiKey.scopes, ApiKey.last_used_at).where(
            ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        if row is None:
            return None
        if row.last_used_at is None or row.last_used_at < now - API_KEY_TOUCH_INTERVAL:
            await self.session.execute(
                update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now)
            )
        return ActiveApiKey(id=row.id, organization_id=row.organization_id, scopes=list(row.scopes))

    async def organization_name(self, organization_id: uuid.UUID) -> str | None:
        stmt = select(Organization.name).where(Organization.id == organization_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # --- login sessions and refresh tokens ---------------------------------------------

    async def create_session(self, *, person_id: uuid.UUID) -> uuid.UUID:
        auth_session = AuthSession(person_id=person_id)
        self.session.add(auth_session)
        await self.session.flush()
        return auth_session.id

    async def add_refresh_token(
        self, *, session_id: uuid.UUID, token_hash: str, expires_at: datetime
    ) -> None:
        self.session.add(
            RefreshToken(session_id=session_id, token_hash=token_hash, expires_at=expires_at)
        )
        await self.session.flush()

    async def refresh_token_for_update(self, token_hash: str) -> RefreshTokenState | None:
        """The token and its session, locked so that two concurrent refreshes with the same
        token are serialised (the second one sees it used)."""
        stmt = (
            select(
                RefreshToken.id,
                RefreshToken.session_id,
                RefreshToken.expires_at,
                RefreshToken.used_at,
                AuthSession.person_id,
                AuthSession.revoked_at,
                Person.erased_at,
            )
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .join(Person, Person.id == AuthSession.person_id)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update(of=[RefreshToken, AuthSession])
        )
        row = (await self.session.execute(stmt)).one_or_none()
        if row is None:
            return None
        return RefreshTokenState(
            token_id=row.id,
            session_id=row.session_id,
            person_id=row.person_id,
            expires_at=row.expires_at,
            used_at=row.used_at,
            session_revoked_at=row.revoked_at,
            person_erased=row.erased_at is not None,
        )

    async def mark_refresh_token_used(self, token_id: uuid.UUID, *, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken).where(RefreshToken.id == token_id).values(used_at=now)
        )

    async def touch_session(self, session_id: uuid.UUID, *, now: datetime) -> None:
        await self.session.execute(
            update(AuthSession).where(AuthSession.id == session_id).values(last_refreshed_at=now)
        )

    async def revoke_session(self, session_id: uuid.UUID, *, now: datetime, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )

    async def revoke_all_sessions(
        self, person_id: uuid.UUID, *, now: datetime, reason: str
    ) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.person_id == person_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )

    async def session_ended_by_erasure(self, session_id: uuid.UUID) -> bool:
        stmt = select(AuthSession.id).where(
            AuthSession.id == session_id, AuthSession.revoked_reason == "erasure"
        )
        return (await self.session.execute(stmt)).first() is not None

    # --- failed-login throttle ---------------------------------------------------------

    async def failures_since(
        self, *, account_hash: str, client_address: str | None, since: datetime
    ) -> LoginFailures:
        """The failed logins of the window: for the account (from anywhere and from this
        address) and from the address (for any account), each with its oldest, in one
        statement."""
        recent = LoginFailure.at > since
        for_account = LoginFailure.account_hash == account_hash
        from_address = (
            LoginFailure.client_address == client_address if client_address is not None else false()
        )
        both = and_(for_account, from_address)
        stmt = select(
            func.count().filter(for_account),
            func.count().filter(both),
            func.min(LoginFailure.at).filter(both),
            func.count().filter(from_address),
            func.min(LoginFailure.at).filter(from_address),
        ).where(recent, or_(for_account, from_address))
        row = (await self.session.execute(stmt)).one()
        return LoginFailures(
            account=int(row[0]),
            account_here=int(row[1]),
            account_here_oldest=row[2],
            address=int(row[3]),
            address_oldest=row[4],
        )

    async def record_failure(
        self, *, account_hash: str, client_address: str | None, now: datetime
    ) -> None:
        self.session.add(
            LoginFailure(account_hash=account_hash, client_address=client_address, at=now)
        )
        await self.session.flush()

    async def forget_failures_before(self, cutoff: datetime) -> None:
        await self.session.execute(delete(LoginFailure).where(LoginFailure.at < cutoff))

    async def forget_account_failures(self, account_hash: str) -> None:
        await self.session.execute(
            delete(LoginFailure).where(LoginFailure.account_hash == account_hash)
        )
