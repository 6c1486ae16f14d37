"""/v1/auth — registration, tokens, refresh, logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import ClockDep, OptionalPrincipalDep, SettingsDep
from app.db import SessionDep
from app.errors import (
    EmailTakenError,
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    InvalidTokenError,
    TooManyAttemptsError,
    UnauthorizedError,
    UnknownKommuneError,
    problem_responses,
)
from app.schemas.auth import LogoutRequest, RefreshRequest, RegisterRequest, TokenRead
from app.schemas.person import PersonMe
from app.services import auth as service
from app.services.person import get_person_me

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Register a person",
    description="Create a household account. The e-mail is trimmed and lower-cased and must be "
    "unique; the password needs at least 10 characters and is stored as an Argon2id hash. "
    "Sign in afterwards with `POST /v1/auth/token`.",
    responses=problem_responses(EmailTakenError, UnknownKommuneError, 413, 422),
)
async def register_person(
    body: RegisterRequest, session: SessionDep, settings: SettingsDep
) -> PersonMe:
    person = await service.register(session, request=body, settings=settings.auth)
    return await get_person_me(session, person_id=person.id)


@router.post(
    "/token",
    summary="Sign in (OAuth2 password flow)",
    description="Exchange e-mail (`username`) and password, sent as an "
    "`application/x-www-form-urlencoded` form, for a 15-minute access token and a single-use "
    "refresh token. Failed attempts are counted per account and per client address; past the "
    "limit the answer is `429 too_many_attempts` with `Retry-After`, even for the right "
    "password.",
    responses=problem_responses(InvalidCredentialsError, TooManyAttemptsError, 422),
)
async def create_token(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    now: ClockDep,
) -> TokenRead:
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 section 5.1
    return await service.login(
        session,
        email=form.username[:320],
        password=form.password[:1024],
        client_address=request.client.host if request.client else None,
        settings=settings.auth,
        now=now,
    )


@router.post(
    "/refresh",
    summary="Rotate the refresh token",
    description="Spend a refresh token for a new access token and a new refresh token. Each "
    "refresh token works once: presenting a spent one again revokes its whole session (every "
    "token descended from the same sign-in), because it means the token was copied.",
    responses=problem_responses(InvalidRefreshTokenError, 422),
)
async def refresh_token(
    body: RefreshRequest,
    session: SessionDep,
    settings: SettingsDep,
    now: ClockDep,
    response: Response,
) -> TokenRead:
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 section 5.1
    return await service.refresh(
        session, refresh_token=body.refresh_token, settings=settings.auth, now=now
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
    description="Revoke the session of the bearer token, and/or the session of the refresh "
    "token in the body. Its access tokens stop working at once, not only when they expire.",
    responses=problem_responses(UnauthorizedError, InvalidTokenError, 422),
)
async def logout(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    now: ClockDep,
    body: LogoutRequest | None = None,
) -> Response:
    refresh = body.refresh_token if body else None
    session_id = principal.session_id if principal else None
    if session_id is None and refresh is None:
        raise UnauthorizedError("Send the bearer token or the refresh token to end.")
    await service.logout(session, session_id=session_id, refresh_token=refresh, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
