"""/v1/auth: registration, sign-in, throttling, refresh rotation, logout, token attacks."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import utcnow
from app.config import Settings
from app.models import AuthSession, LoginFailure, Person
from app.security import issue_access_token
from tests.factories import DEFAULT_PASSWORD, create_person
from tests.problems import assert_problem

PASSWORD = "et langt passord"


async def register(client: httpx.AsyncClient, email: str, **extra: object) -> httpx.Response:
    body = {"email": email, "password": PASSWORD, "display_name": "Ola", **extra}
    return await client.post("/v1/auth/register", json=body)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": email, "password": password})


@pytest.fixture
def clock(app: FastAPI) -> Iterator[list[datetime]]:
    """The app's clock; tests move it with ``clock[0] += timedelta(...)``."""
    now = [datetime.now(UTC)]
    app.dependency_overrides[utcnow] = lambda: now[0]
    yield now
    app.dependency_overrides.pop(utcnow, None)


# --- registration -----------------------------------------------------------------------


async def test_register_normalises_email_and_hashes_with_argon2id(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await register(client, "  Ola.Nordmann@Example.NO ", home_kommune="4601")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "ola.nordmann@example.no"
    assert body["display_name"] == "Ola"
    assert body["home_kommune"] == "4601"
    assert body["language"] == "nb"
    assert body["roles"] == []
    stored = await session.scalar(select(Person.password_hash).where(Person.id == body["id"]))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_register_same_email_twice_is_409_email_taken(client: httpx.AsyncClient) -> None:
    assert (await register(client, "kari@example.no")).status_code == 201
    body = assert_problem(await register(client, "KARI@example.no"), 409, "email_taken")
    assert body["title"] == "E-mail address already registered"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "x" * 101}, "display_name"),
        ({"language": "sv"}, "language"),
        ({"home_kommune": "12"}, "home_kommune"),
        ({"is_moderator": True}, "is_moderator"),
        ({"roles": ["moderator"]}, "roles"),
    ],
)
async def test_register_rejects_bad_input(
    client: httpx.AsyncClient, session: AsyncSession, changes: dict[str, object], field: str
) -> None:
    body = {"email": "bad@example.no", "password": PASSWORD, "display_name": "Ola", **changes}
    response = await client.post("/v1/auth/register", json=body)
    problem = assert_problem(response, 422, "validation_failed")
    assert field in [e["field"] for e in problem["errors"]]
    assert await session.scalar(select(func.count()).select_from(Person)) == 0


async def test_register_with_unknown_kommune_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(
        await register(client, "a@example.no", home_kommune="9999"), 422, "unknown_kommune"
    )


# --- sign-in and throttling ---------------------------------------------------------------


async def test_sign_in_issues_tokens_that_work(client: httpx.AsyncClient) -> None:
    await register(client, "per@example.no")
    response = await sign_in(client, "PER@example.no")
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("srt_")
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "per@example.no"


@pytest.mark.parametrize("email", ["per@example.no", "nobody@example.no"])
async def test_wrong_password_and_unknown_account_look_the_same(
    client: httpx.AsyncClient, session: AsyncSession, email: str
) -> None:
    await register(client, "per@example.no")
    body = assert_problem(await sign_in(client, email, "feil passord!"), 401, "invalid_credentials")
    assert body["detail"] == "Wrong e-mail or password."
    # The failure is stored (and survives the error response).
    assert await session.scalar(select(func.count()).select_from(LoginFailure)) == 1
    stored = await session.scalar(select(LoginFailure.account_hash))
    assert stored is not None
    assert email not in stored


async def test_account_throttle_blocks_even_the_right_password_until_the_window_ends(
    client: httpx.AsyncClient, settings: Settings, clock: list[datetime]
) -> None:
    await register(client, "ida@example.no")
    limit = settings.auth.login_max_failures_per_account
    for _ in range(limit):
        assert (await sign_in(client, "ida@example.no", "gjett gjett")).status_code == 401
    blocked = await sign_in(client, "ida@example.no")
    body = assert_problem(blocked, 429, "too_many_attempts")
    retry_after = int(blocked.headers["retry-after"])
    assert 0 < retry_after <= settings.auth.login_window_s
    assert body["retry_after"] == retry_after
    clock[0] += timedelta(seconds=retry_after + 1)
    assert (await sign_in(client, "ida@example.no")).status_code == 200


async def test_address_throttle_spans_accounts(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for i in range(settings.auth.login_max_failures_per_address):
        response = await sign_in(client, f"guess{i}@example.no", "gjett gjett")
        assert response.status_code == 401
    body = assert_problem(await sign_in(client, "fresh@example.no", "x"), 429, "too_many_attempts")
    assert "address" in str(body["detail"])


async def test_sign_in_without_form_fields_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/token", data={"username": "a@example.no"})
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"][0]["field"] == "password"


# --- refresh and logout -------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_whole_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await register(client, "eva@example.no")
    first = (await sign_in(client, "eva@example.no")).json()
    second = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]

    # The first token is replayed (stolen copy): the session ends for everyone.
    replay = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(replay, 401, "invalid_refresh_token")
    revoked = await session.scalar(select(AuthSession.revoked_reason))
    assert revoked == "refresh_token_reuse"
    after = await client.post("/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert_problem(after, 401, "invalid_refresh_token")
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {rotated['access_token']}"})
    assert_problem(me, 401, "invalid_token")


async def test_expired_refresh_token_is_refused(
    client: httpx.AsyncClient, settings: Settings, clock: list[datetime]
) -> None:
    await register(client, "eva@example.no")
    tokens = (await sign_in(client, "eva@example.no")).json()
    clock[0] += timedelta(seconds=settings.auth.refresh_token_ttl_s + 1)
    response = await client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    body = assert_problem(response, 401, "invalid_refresh_token")
    assert "expired" in str(body["detail"])


@pytest.mark.parametrize("token", ["srt_unknown", "x" * 512])
async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post("/v1/auth/refresh", json={"refresh_token": token})
    assert_problem(response, 401, "invalid_refresh_token")


async def test_logout_ends_the_access_token_at_once(client: httpx.AsyncClient) -> None:
    await register(client, "jon@example.no")
    tokens = (await sign_in(client, "jon@example.no")).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.post("/v1/auth/logout", headers=headers)).status_code == 204
    assert_problem(await client.get("/v1/me", headers=headers), 401, "invalid_token")
    refresh = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(refresh, 401, "invalid_refresh_token")


async def test_logout_with_only_the_refresh_token(client: httpx.AsyncClient) -> None:
    await register(client, "jon@example.no")
    tokens = (await sign_in(client, "jon@example.no")).json()
    response = await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 204
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert_problem(me, 401, "invalid_token")


async def test_logout_without_any_credential_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/logout")
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["detail"]


# --- token attacks ------------------------------------------------------------------------


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _forged_tokens(session: AsyncSession, settings: Settings) -> dict[str, str]:
    actor = await create_person(session, settings)
    good = actor.headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(good, options={"verify_signature": False})
    now = datetime.now(UTC)
    expired, _ = issue_access_token(
        person_id=actor.person_id,
        session_id=uuid.UUID(claims["sid"]),
        settings=settings.auth,
        now=now - timedelta(hours=1),
    )
    other_secret = settings.auth.model_copy(
        update={"jwt_secret": settings.auth.jwt_secret.__class__("another-secret-" + "z" * 40)}
    )
    wrong_key, _ = issue_access_token(
        person_id=actor.person_id,
        session_id=uuid.UUID(claims["sid"]),
        settings=other_secret,
        now=now,
    )
    header, payload, signature = good.split(".")
    return {
        "expired": expired,
        "wrong_key": wrong_key,
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "tampered": f"{header}.{_b64({**claims, 'sub': str(uuid.uuid4())})}.{signature}",
        "wrong_audience": jwt.encode(
            {**claims, "aud": "someone-else"},
            settings.auth.jwt_secret.get_secret_value(),
            algorithm="HS256",
        ),
        "refresh_type": jwt.encode(
            {**claims, "typ": "refresh"},
            settings.auth.jwt_secret.get_secret_value(),
            algorithm="HS256",
        ),
        "unknown_session": jwt.encode(
            {**claims, "sid": str(uuid.uuid4())},
            settings.auth.jwt_secret.get_secret_value(),
            algorithm="HS256",
        ),
        "garbage": "not.a.jwt",
        "huge": "a" * 5000,
    }


@pytest.mark.parametrize(
    "kind",
    [
        "expired",
        "wrong_key",
        "alg_none",
        "tampered",
        "wrong_audience",
        "refresh_type",
        "unknown_session",
        "garbage",
        "huge",
    ],
)
async def test_bad_access_tokens_are_401_invalid_token(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, kind: str
) -> None:
    token = (await _forged_tokens(session, settings))[kind]
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert token not in response.text
    assert body["request_id"] == response.headers["x-request-id"]


async def test_bearer_and_api_key_together_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    response = await client.get("/v1/me", headers={**actor.headers, "X-API-Key": "sk_x"})
    assert_problem(response, 401, "ambiguous_credentials")


async def test_unknown_api_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me", headers={"X-API-Key": "sk_not-a-real-key"})
    assert_problem(response, 401, "invalid_api_key")
    assert response.headers["www-authenticate"] == "ApiKey"


async def test_default_factory_password_signs_in(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    actor = await create_person(session, settings)
    assert (await sign_in(client, actor.email, DEFAULT_PASSWORD)).status_code == 200


async def test_a_fullwidth_look_alike_is_the_same_account(client: httpx.AsyncClient) -> None:
    assert (await register(client, "kari@example.no")).status_code == 201
    fullwidth = "".join(chr(0xFF41 + ord(c) - ord("a")) for c in "kari") + "@example.no"
    again = await register(client, fullwidth)
    assert_problem(again, 409, "email_taken")
    # And signs in to the one account.
    assert (await sign_in(client, fullwidth)).status_code == 200


@pytest.mark.parametrize(
    "email",
    [
        "k\u0430ri@example.no",  # a Cyrillic a in a Latin name
        "kari@ex\u0430mple.no",  # in the domain
        "\u03bfla@example.no",  # a Greek omicron before Latin letters
    ],
)
async def test_mixed_alphabet_look_alikes_are_refused(
    client: httpx.AsyncClient, email: str
) -> None:
    problem = assert_problem(await register(client, email), 422, "validation_failed")
    assert "alphabets" in problem["errors"][0]["message"]


async def test_an_address_in_one_other_alphabet_is_fine(client: httpx.AsyncClient) -> None:
    response = await register(client, "\u043a\u0430\u0440\u0438@example.no")  # кари
    assert response.status_code == 201, response.text
