"""Who the client is: the connection's peer, unless it is a trusted proxy (then the
``X-Forwarded-For`` client); and the login throttle built on it, which a stranger cannot use
to lock an owner out."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import AuthSettings, HttpSettings, Settings
from app.errors import InvalidCredentialsError
from app.models import LoginFailure
from app.repositories.auth import AuthRepository
from app.security import sha256_hex
from app.services.auth import login
from tests.factories import DEFAULT_PASSWORD, create_person
from tests.problems import assert_problem

WRONG = "feil passord, helt klart"
ClientFor = Callable[[Settings], Awaitable[httpx.AsyncClient]]


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post(
        "/v1/auth/token", data={"username": email, "password": password}, headers=headers
    )


@pytest.fixture
async def behind_proxy(settings: Settings, client_for: ClientFor) -> httpx.AsyncClient:
    """The app behind a proxy on loopback (the test transport's peer is 127.0.0.1)."""
    http = settings.http.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    return await client_for(settings.model_copy(update={"http": http}))


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    for i in range(settings.auth.login_max_failures_per_account):
        wrong = await sign_in(client, owner.email, WRONG, forwarded_for=f"198.51.100.{i + 1}")
        assert_problem(wrong, 401, "invalid_credentials")
    # A fresh X-Forwarded-For does not make a fresh address: the peer is still 127.0.0.1.
    blocked = await sign_in(client, owner.email, DEFAULT_PASSWORD, forwarded_for="203.0.113.9")
    problem = assert_problem(blocked, 429, "too_many_attempts")
    assert "from this address" in problem["detail"]
    stored = {
        str(a) for a in (await session.execute(select(LoginFailure.client_address))).scalars()
    }
    assert stored == {"127.0.0.1"}


async def test_a_stranger_cannot_lock_the_owner_out(
    behind_proxy: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    stranger = "198.51.100.66"
    for _ in range(settings.auth.login_max_failures_per_account):
        wrong = await sign_in(behind_proxy, owner.email, WRONG, forwarded_for=stranger)
        assert_problem(wrong, 401, "invalid_credentials")
    locked = await sign_in(behind_proxy, owner.email, DEFAULT_PASSWORD, forwarded_for=stranger)
    assert_problem(locked, 429, "too_many_attempts")
    # The owner, from home, signs in.
    home = await sign_in(behind_proxy, owner.email, DEFAULT_PASSWORD, forwarded_for="203.0.113.7")
    assert home.status_code == 200, home.text


async def test_the_client_is_the_rightmost_untrusted_address(
    behind_proxy: httpx.AsyncClient, session: AsyncSession
) -> None:
    # A client may send its own X-Forwarded-For; the proxy appends the address it saw.
    chain = "10.9.8.7, 203.0.113.50"
    wrong = await sign_in(behind_proxy, "nobody@example.no", WRONG, forwarded_for=chain)
    assert_problem(wrong, 401, "invalid_credentials")
    stored = [
        str(a) for a in (await session.execute(select(LoginFailure.client_address))).scalars()
    ]
    assert stored == ["203.0.113.50"]


def test_trusted_proxies_must_be_addresses() -> None:
    assert HttpSettings(trusted_proxies="10.0.0.0/8, 127.0.0.1").trusted_proxies == [  # type: ignore[arg-type]
        "10.0.0.0/8",
        "127.0.0.1",
    ]
    with pytest.raises(ValidationError, match="not an IP address or network"):
        HttpSettings(trusted_proxies=["proxy.example.no"])


async def test_guessing_spread_over_addresses_slows_down_but_blocks_nobody(
    session: AsyncSession, settings: Settings
) -> None:
    owner = await create_person(session, settings)
    auth: AuthSettings = settings.auth.model_copy(
        update={"login_slow_after_failures": 3, "login_slow_delay_s": 0.3}
    )
    repo = AuthRepository(session)
    now = datetime.now(UTC)
    for i in range(3):  # three addresses, one failure each: none is locked
        await repo.record_failure(
            account_hash=sha256_hex(owner.email), client_address=f"198.51.100.{i}", now=now
        )
    started = time.perf_counter()
    with pytest.raises(InvalidCredentialsError):
        await login(
            session,
            email=owner.email,
            password=WRONG,
            client_address="198.51.100.200",
            settings=auth,
            now=now + timedelta(seconds=1),
        )
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    tokens = await login(
        session,
        email=owner.email,
        password=DEFAULT_PASSWORD,
        client_address="203.0.113.7",
        settings=auth,
        now=now + timedelta(seconds=2),
    )
    assert tokens.access_token
    assert time.perf_counter() - started >= 0.6  # one more failure: the wait doubled
