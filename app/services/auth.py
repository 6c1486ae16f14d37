"""Registration, password login with a database-backed throttle, refresh-token rotation with
reuse detection, and logout."""

from __future__ import annotations

import asyncio
import math
import unicodedata
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import AuthSettings
from app.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    TooManyAttemptsError,
    UnknownKommuneError,
)
from app.models import Person
from app.repositories.auth import AuthRepository
from app.repositories.geography import GeographyRepository
from app.repositories.person import PersonRepository
from app.schemas.auth import RegisterRequest, TokenRead
from app.security import (
    hash_password,
    issue_access_token,
    new_refresh_token,
    sha256_hex,
    verify_password,
)


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively (in practice no provider treats the
    local part as case-sensitive), stored lower-case and trimmed, after Unicode NFKC: the
    fullwidth ``kari@example.no`` (U+FF4B …) is the ASCII one, not a second account. (Not
    ``casefold``: it would make ``ß`` ``ss`` and merge two real addresses.)"""
    return unicodedata.normalize("NFKC", email).strip().lower()


def mixed_scripts(email: str) -> bool:
    """Does a part of the address (the local part, a domain label) mix letters of different
    alphabets — a Latin name with one Cyrillic a (U+0430) in it, the look-alike trick of Unicode
    TR39? Addresses written wholly in one script stay allowed."""
    local, _, domain = email.rpartition("@")
    for part in (local, *domain.split(".")):
        scripts = {
            unicodedata.name(character, "UNKNOWN").split(" ")[0]
            for character in part
            if character.isalpha()
        }
        if len(scripts) > 1:
            return True
    return False


async def ensure_kommune(session: AsyncSession, kommunenummer: str | None) -> None:
    if kommunenummer is not None and not await GeographyRepository(session).kommune_exists(
        kommunenummer
    ):
        raise UnknownKommuneError(f"No kommune has the number {kommunenummer}.")


async def register(
    session: AsyncSession, *, request: RegisterRequest, settings: AuthSettings
) -> Person:
    await ensure_kommune(session, request.home_kommune)
    return await PersonRepository(session).create(
        email=normalise_email(request.email),
        password_hash=await hash_password(request.password, settings),
        display_name=request.display_name,
        language=request.language.value,
        home_kommune=request.home_kommune,
    )


async def _issue(
    repo: AuthRepository,
    *,
    person_id: uuid.UUID,
    session_id: uuid.UUID,
    settings: AuthSettings,
    now: datetime,
) -> TokenRead:
    refresh = new_refresh_token()
    await repo.add_refresh_token(
        session_id=session_id,
        token_hash=sha256_hex(refresh),
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
    )
    access, expires_in = issue_access_token(
        person_id=person_id, session_id=session_id, settings=settings, now=now
    )
    return TokenRead(
        access_token=access,
        expires_in=expires_in,
        refresh_token=refresh,
        refresh_expires_in=settings.refresh_token_ttl_s,
    )


def _retry_after(oldest: datetime | None, window: timedelta, now: datetime) -> int:
    if oldest is None:
        return int(window.total_seconds())
    return max(1, math.ceil((oldest + window - now).total_seconds()))


# The longest an attempt for a much-guessed account waits before its password is checked.
MAX_LOGIN_DELAY_S = 4.0


async def login(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    client_address: str | None,
    settings: AuthSettings,
    now: datetime,
) -> TokenRead:
    """Exchange e-mail and password for tokens.

    Failed attempts are counted in the database per account (a hash of the e-mail, so the
    throttle also covers addresses without an account) and per client address, and refused
    with 429 before the password is even checked, so a correct guess inside a blocked window
    does not get through:

    * an account is locked **from one address** after ``login_max_failures_per_account``
      failures from it — a stranger guessing from their address never locks the owner out
      of theirs;
    * an address is locked after ``login_max_failures_per_address`` failures for any
      accounts (one guesser trying many accounts);
    * past ``login_slow_after_failures`` failures for the account from anywhere (guessing
      spread over many addresses), every attempt for it waits first — doubling from
      ``login_slow_delay_s`` up to 4 s — which slows the guessing and blocks nobody.

    The client address is the connection's peer, or the ``X-Forwarded-For`` client when the
    peer is one of ``SIRKEL_HTTP__TRUSTED_PROXIES`` (``app.main``).
    """
    repo = AuthRepository(session)
    account_hash = sha256_hex(normalise_email(email))
    window = timedelta(seconds=settings.login_window_s)
    failures = await repo.failures_since(
        account_hash=account_hash, client_address=client_address, since=now - window
    )
    if failures.account_here >= settings.login_max_failures_per_account:
        raise TooManyAttemptsError(
            "Too many failed logins for this account from this address; wait before trying again.",
            retry_after_s=_retry_after(failures.account_here_oldest, window, now),
        )
    if failures.address >= settings.login_max_failures_per_address:
        raise TooManyAttemptsError(
            "Too many failed logins from this address; wait before trying again.",
            retry_after_s=_retry_after(failures.address_oldest, window, now),
        )
    beyond = failures.account - settings.login_slow_after_failures
    if beyond >= 0:
        await asyncio.sleep(min(settings.login_slow_delay_s * 2**beyond, MAX_LOGIN_DELAY_S))

    person = await PersonRepository(session).get_by_email(normalise_email(email))
    ok = await verify_password(password, person.password_hash if person else None, settings)
    if person is None or not ok:
        await repo.forget_failures_before(now - window)
        await repo.record_failure(account_hash=account_hash, client_address=client_address, now=now)
        raise InvalidCredentialsError("Wrong e-mail or password.")

    await repo.forget_account_failures(account_hash)
    session_id = await repo.create_session(person_id=person.id)
    return await _issue(
        repo, person_id=person.id, session_id=session_id, settings=settings, now=now
    )


async def refresh(
    session: AsyncSession, *, refresh_token: str, settings: AuthSettings, now: datetime
) -> TokenRead:
    """Rotate: the presented token is spent and a new pair issued in the same session.

    Presenting a spent token again means it was copied: the whole session (every token that
    rotated from the same login, and their access tokens) is revoked.
    """
    repo = AuthRepository(session)
    state = await repo.refresh_token_for_update(sha256_hex(refresh_token))
    if state is None:
        raise InvalidRefreshTokenError("Unknown refresh token.")
    if state.session_revoked_at is not None or state.person_erased:
        raise InvalidRefreshTokenError("This session has ended; sign in again.")
    if state.used_at is not None:
        await repo.revoke_session(state.session_id, now=now, reason="refresh_token_reuse")
        raise InvalidRefreshTokenError(
            "This refresh token was already used; the session has been revoked. Sign in again."
        )
    if state.expires_at <= now:
        raise InvalidRefreshTokenError("The refresh token has expired; sign in again.")
    await repo.mark_refresh_token_used(state.token_id, now=now)
    await repo.touch_session(state.session_id, now=now)
    return await _issue(
        repo, person_id=state.person_id, session_id=state.session_id, settings=settings, now=now
    )


async def logout(
    session: AsyncSession,
    *,
    session_id: uuid.UUID | None,
    refresh_token: str | None,
    now: datetime,
) -> None:
    """Revoke the login session of the bearer token and/or of the refresh token. Unknown
    refresh tokens are ignored, so the answer does not reveal which tokens exist."""
    repo = AuthRepository(session)
    if session_id is not None:
        await repo.revoke_session(session_id, now=now, reason="logout")
    if refresh_token is not None:
        state = await repo.refresh_token_for_update(sha256_hex(refresh_token))
        if state is not None:
            await repo.revoke_session(state.session_id, now=now, reason="logout")
