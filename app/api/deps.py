"""Resolving the caller: ``Authorization: Bearer <access token>`` for persons, ``X-API-Key``
for organizations. Both appear as security schemes in the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from app.config import Settings
from app.db import SessionDep
from app.errors import (
    AmbiguousCredentialsError,
    InvalidApiKeyError,
    InvalidTokenError,
    UnauthorizedError,
)
from app.repositories.auth import AuthRepository
from app.security import InvalidAccessTokenError, decode_access_token, sha256_hex
from app.services.policy import Principal

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    scheme_name="bearer",
    description="A person's access token from `POST /v1/auth/token` (15 minutes).",
    auto_error=False,
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    scheme_name="apiKey",
    description="An organization's API key (`/v1/organizations/{id}/api-keys`).",
    auto_error=False,
)

MAX_CREDENTIAL_LENGTH = 4096


def get_settings_from_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]


def utcnow() -> datetime:
    return datetime.now(UTC)


# Tests override this dependency to move time; everything that asks for "now" goes through it.
ClockDep = Annotated[datetime, Depends(utcnow)]


async def get_optional_principal(
    session: SessionDep,
    settings: SettingsDep,
    now: ClockDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal | None:
    if token and api_key:
        raise AmbiguousCredentialsError()
    repo = AuthRepository(session)
    if api_key:
        if len(api_key) > MAX_CREDENTIAL_LENGTH:
            raise InvalidApiKeyError()
        key = await repo.active_api_key(key_hash=sha256_hex(api_key), now=now)
        if key is None:
            raise InvalidApiKeyError("The API key is unknown or has been revoked.")
        return Principal(
            api_key_id=key.id, organization_id=key.organization_id, scopes=frozenset(key.scopes)
        )
    if token:
        if len(token) > MAX_CREDENTIAL_LENGTH:
            raise InvalidTokenError()
        try:
            claims = decode_access_token(token, settings.auth)
        except InvalidAccessTokenError:
            raise InvalidTokenError("The access token is malformed, expired or not ours.") from None
        person = await repo.active_person_in_session(
            person_id=claims.person_id, session_id=claims.session_id
        )
        if person is None:
            raise InvalidTokenError("The session behind this token has ended.")
        return Principal(
            person_id=person.id, session_id=claims.session_id, roles=frozenset(person.roles)
        )
    return None


async def get_principal(
    principal: Annotated[Principal | None, Depends(get_optional_principal)],
) -> Principal:
    if principal is None:
        raise UnauthorizedError("Send a bearer token or an X-API-Key.")
    return principal


OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


ERASED = "erased"


async def get_principal_or_erased(
    session: SessionDep,
    settings: SettingsDep,
    now: ClockDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal | str:
    """Like ``get_principal``, but a valid token whose session ended because its person erased
    their account resolves to ``ERASED`` — so that ``DELETE /v1/me`` can be retried."""
    try:
        principal = await get_optional_principal(session, settings, now, token, api_key)
    except InvalidTokenError:
        if token:
            try:
                claims = decode_access_token(token, settings.auth)
            except InvalidAccessTokenError:
                raise InvalidTokenError() from None
            if await AuthRepository(session).session_ended_by_erasure(claims.session_id):
                return ERASED
        raise
    if principal is None:
        raise UnauthorizedError("Send a bearer token or an X-API-Key.")
    return principal


PrincipalOrErasedDep = Annotated[Principal | str, Depends(get_principal_or_erased)]
