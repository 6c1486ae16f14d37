"""Organizations' webhooks against a real HTTP receiver: registration and who may, SSRF
refusals, Standard Webhooks signatures checked with the reference verifier, event filters,
retries and the delivery log, turning off after a day of failures, retry, redirects, and a
worker killed with kill -9 mid-delivery."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from standardwebhooks import Webhook as ReferenceVerifier

from app.config import Settings
from app.db import create_sessionmaker
from app.models import Organization
from app.models.organization import ApiKeyScope, MemberRole
from app.outbound import UnsafeUrlError, resolve
from app.worker import SmtpMailer, run_pass
from tests.api.test_listing_races import _item, _signed_in
from tests.clock import Clock, frozen
from tests.conftest import PROJECT_ROOT, TEST_JWT_SECRET
from tests.factories import (
    Actor,
    create_api_key,
    create_listing,
    create_organization,
    create_person,
)
from tests.places import PLACES
from tests.problems import assert_problem
from tests.receiver import Receiver, receiver

__all__ = ["receiver"]

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


@pytest.fixture
def sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
async def admin(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Admin")


@pytest.fixture
async def member(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Medlem")


@pytest.fixture
async def org(session: AsyncSession, admin: Actor, member: Actor) -> Organization:
    return await create_organization(
        session, owner=admin, members={member.person_id: MemberRole.MEMBER}
    )


@pytest.fixture
async def taker(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings)


async def register(
    client: httpx.AsyncClient, headers: dict[str, str], org: Organization, **body: Any
) -> httpx.Response:
    return await client.post(f"/v1/organizations/{org.id}/webhooks", json=body, headers=headers)


async def work(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, at: datetime = NOW
) -> tuple[int, int, int]:
    report = await run_pass(sessions, settings, SmtpMailer(settings), lambda: at)
    return report.planned, report.sent, report.failed


async def request_org_listing(
    client: httpx.AsyncClient, session: AsyncSession, org: Organization, taker: Actor
) -> str:
    listing = await create_listing(session, at=OSLO, organization=org, title="Pall")
    response = await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id)}, headers=taker.headers
    )
    assert response.status_code == 201, response.text
    tx_id: str = response.json()["id"]
    return tx_id


async def test_a_signed_event_reaches_the_receiver_and_the_log(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    receiver: Receiver,
    admin: Actor,
    org: Organization,
    taker: Actor,
) -> None:
    created = await register(client, admin.headers, org, url=receiver.url)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_")
    assert hook["status"] == "active"
    assert hook["event_types"] == []
    listed = await client.get(f"/v1/organizations/{org.id}/webhooks", headers=admin.headers)
    assert "secret" not in listed.json()[0]
    sealed = await session.scalar(text("SELECT secret_sealed FROM webhooks"))
    assert hook["secret"].encode() not in bytes(sealed)

    tx = await request_org_listing(client, session, org, taker)
    assert await work(sessions, settings) == (1, 1, 0)
    [got] = receiver.requests
    assert got.path == "/hooks/sirkel"
    # The reference verifier of the Standard Webhooks scheme accepts the signature.
    payload = ReferenceVerifier(hook["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "transaction.requested"
    assert payload["data"]["transaction_id"] == tx
    assert payload["data"]["organization_id"] == str(org.id)
    assert payload["timestamp"] == NOW.isoformat()
    with pytest.raises(Exception, match="signature"):
        ReferenceVerifier(hook["secret"]).verify(got.body + b" ", got.headers)

    log = await client.get(
        f"/v1/organizations/{org.id}/webhooks/{hook['id']}/deliveries", headers=admin.headers
    )
    [entry] = log.json()["items"]
    assert entry["status"] == "delivered"
    assert entry["event_type"] == "transaction.requested"
    assert entry["event_id"] == got.headers["webhook-id"]
    assert entry["response_status"] == 200
    assert entry["response_body"] == "ok"
    # Nothing twice.
    assert await work(sessions, settings) == (0, 0, 0)


async def test_only_admins_and_scoped_keys_manage_webhooks(
    client: httpx.AsyncClient,
    session: AsyncSession,
    receiver: Receiver,
    admin: Actor,
    member: Actor,
    taker: Actor,
    org: Organization,
) -> None:
    refused = await register(client, member.headers, org, url=receiver.url)
    assert_problem(refused, 403, "insufficient_role")
    outsider = await register(client, taker.headers, org, url=receiver.url)
    assert_problem(outsider, 403, "not_a_member")
    wrong_scope = await create_api_key(
        session, organization_id=org.id, scopes=[ApiKeyScope.LISTINGS_WRITE]
    )
    assert_problem(
        await register(client, wrong_scope, org, url=receiver.url), 403, "insufficient_scope"
    )
    key = await create_api_key(
        session, organization_id=org.id, scopes=[ApiKeyScope.ORGANIZATION_WRITE]
    )
    assert (await register(client, key, org, url=receiver.url)).status_code == 201
    missing = await client.post(
        f"/v1/organizations/{uuid.uuid4()}/webhooks", json={"url": receiver.url}, headers=key
    )
    assert_problem(missing, 404, "organization_not_found")
    for _ in range(9):
        assert (await register(client, admin.headers, org, url=receiver.url)).status_code == 201
    eleventh = await register(client, admin.headers, org, url=receiver.url)
    assert_problem(eleventh, 409, "too_many_webhooks")
    hooks = (await client.get(f"/v1/organizations/{org.id}/webhooks", headers=key)).json()
    gone = await client.delete(
        f"/v1/organizations/{org.id}/webhooks/{hooks[0]['id']}", headers=admin.headers
    )
    assert gone.status_code == 204
    again = await client.delete(
        f"/v1/organizations/{org.id}/webhooks/{hooks[0]['id']}", headers=admin.headers
    )
    assert_problem(again, 404, "webhook_not_found")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "ftp://example.no/hook",
        "https://user:secret@example.no/hook",
        "https://example.no:99999/hook",
        "https://does-not-exist.invalid/hook",
    ],
)
async def test_unsafe_urls_are_refused(
    client: httpx.AsyncClient, admin: Actor, org: Organization, url: str
) -> None:
    response = await register(client, admin.headers, org, url=url)
    problem = assert_problem(response, 422, "unsafe_webhook_url")
    assert problem["errors"][0]["field"] == "url"
    listed = await client.get(f"/v1/organizations/{org.id}/webhooks", headers=admin.headers)
    assert listed.json() == []


async def test_loopback_is_refused_outside_development_and_test() -> None:
    for url in ("http://127.0.0.1:8080/hook", "https://localhost/hook", "https://[::1]/hook"):
        with pytest.raises(UnsafeUrlError):
            await resolve(url, allow_loopback=False)
    target = await resolve("http://127.0.0.1:8080/a?b=c", allow_loopback=True)
    assert (target.url, target.host, target.hostname) == (
        "http://127.0.0.1:8080/a?b=c",
        "127.0.0.1:8080",
        "127.0.0.1",
    )


async def test_event_types_filter_what_is_sent(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    receiver: Receiver,
    admin: Actor,
    org: Organization,
    taker: Actor,
) -> None:
    created = await register(
        client, admin.headers, org, url=receiver.url, event_types=["message.received"]
    )
    assert created.json()["event_types"] == ["message.received"]
    tx = await request_org_listing(client, session, org, taker)
    said = await client.post(
        f"/v1/transactions/{tx}/messages", json={"body": "Hei"}, headers=taker.headers
    )
    assert said.status_code == 201
    await work(sessions, settings)
    assert [orjson.loads(r.body)["type"] for r in receiver.requests] == ["message.received"]
    bad = await register(client, admin.headers, org, url=receiver.url, event_types=["nope"])
    assert_problem(bad, 422, "validation_failed")


async def test_failures_retry_then_turn_the_webhook_off_and_a_retry_turns_it_on(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    receiver: Receiver,
    admin: Actor,
    member: Actor,
    org: Organization,
    taker: Actor,
) -> None:
    hook = (await register(client, admin.headers, org, url=receiver.url)).json()
    await request_org_listing(client, session, org, taker)
    receiver.status, receiver.answer = 500, b"x" * 5000
    assert await work(sessions, settings) == (1, 0, 1)
    log_url = f"/v1/organizations/{org.id}/webhooks/{hook['id']}/deliveries"
    [entry] = (await client.get(log_url, headers=admin.headers)).json()["items"]
    assert (entry["status"], entry["attempts"], entry["response_status"]) == ("pending", 1, 500)
    assert entry["response_body"] == "x" * 1024
    assert entry["next_attempt_at"] == (NOW + timedelta(seconds=30)).isoformat().replace(
        "+00:00", "Z"
    )
    at = NOW
    for _ in range(40):
        at += timedelta(hours=1)
        await work(sessions, settings, at)
    [entry] = (await client.get(log_url, headers=admin.headers)).json()["items"]
    assert entry["status"] == "dead"
    [off] = (await client.get(f"/v1/organizations/{org.id}/webhooks", headers=admin.headers)).json()
    assert off["status"] == "disabled"
    assert off["disabled_reason"].startswith("deliveries failed for a day")
    for who in (admin, member):
        notes = (await client.get("/v1/me/notifications", headers=who.headers)).json()["items"]
        assert notes[0]["type"] == "webhook.disabled"
    sent_before = len(receiver.requests)
    await work(sessions, settings, at + timedelta(days=1))
    assert len(receiver.requests) == sent_before  # a disabled webhook gets nothing

    receiver.status, receiver.answer = 204, b""
    retried = await client.post(f"{log_url}/{entry['id']}/retry", headers=admin.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending"
    _, sent, failed = await work(sessions, settings, at)
    assert (sent >= 1, failed) == (True, 0)
    assert entry["event_id"] in [r.headers["webhook-id"] for r in receiver.requests[sent_before:]]
    [on] = (await client.get(f"/v1/organizations/{org.id}/webhooks", headers=admin.headers)).json()
    assert on["status"] == "active"
    again = await client.post(f"{log_url}/{entry['id']}/retry", headers=admin.headers)
    assert_problem(again, 409, "delivery_already_delivered")
    missing = await client.post(f"{log_url}/{uuid.uuid4()}/retry", headers=admin.headers)
    assert_problem(missing, 404, "delivery_not_found")


async def test_redirects_are_not_followed(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    receiver: Receiver,
    admin: Actor,
    org: Organization,
    taker: Actor,
) -> None:
    await register(client, admin.headers, org, url=receiver.url)
    receiver.status, receiver.headers = 302, {"Location": "http://169.254.169.254/"}
    await request_org_listing(client, session, org, taker)
    assert await work(sessions, settings) == (1, 0, 1)
    assert len(receiver.requests) == 1
    error = await session.scalar(text("SELECT last_error FROM deliveries"))
    assert error == "the receiver answered 302"


async def test_a_worker_killed_mid_delivery_loses_nothing(
    committed_client: httpx.AsyncClient,
    committed_engine: AsyncEngine,
    committed_database_url: str,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await _signed_in(committed_client)
    org = await committed_client.post(
        "/v1/organizations",
        json={"name": f"Lager {uuid.uuid4().hex[:8]}", "kind": "company"},
        headers=owner,
    )
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    hook = await committed_client.post(
        f"/v1/organizations/{org_id}/webhooks", json={"url": receiver.url}, headers=owner
    )
    assert hook.status_code == 201, hook.text
    listing = await committed_client.post(
        "/v1/listings", json={**_item("Pall"), "organization_id": org_id}, headers=owner
    )
    assert listing.status_code == 201, listing.text
    asker = await _signed_in(committed_client)
    tx = await committed_client.post(
        "/v1/transactions", json={"listing_id": listing.json()["id"]}, headers=asker
    )
    assert tx.status_code == 201, tx.text

    receiver.delay_s = 30  # the first delivery hangs; the worker dies while it waits
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "worker",
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "SIRKEL_DATABASE__URL": committed_database_url,
            "SIRKEL_ENVIRONMENT": "test",
            "SIRKEL_AUTH__JWT_SECRET": TEST_JWT_SECRET,  # the secret the webhook was sealed with
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        arrived = await asyncio.to_thread(receiver.arrived.wait, 30)
        assert arrived, "the worker never posted"
        os.kill(worker.pid, signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), timeout=10)
    finally:
        if worker.returncode is None:
            worker.kill()
    first = receiver.requests[0]
    receiver.delay_s = 0
    sessions = create_sessionmaker(committed_engine)
    for _ in range(10):
        report = await run_pass(sessions, settings, SmtpMailer(settings))
        if not (report.planned or report.sent or report.failed):
            break
    mine = [r for r in receiver.requests if r.headers["webhook-id"] == first.headers["webhook-id"]]
    assert len(mine) == 2  # delivered again after the crash, with the same webhook-id
    async with sessions() as check:
        status = await check.scalar(
            text(
                "SELECT d.status FROM deliveries AS d JOIN webhooks AS w ON w.id = d.webhook_id "
                "WHERE w.organization_id = :org"
            ),
            {"org": org_id},
        )
    assert status == "delivered"


async def test_a_secret_sealed_under_another_key_fails_the_delivery_not_the_worker(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    receiver: Receiver,
    admin: Actor,
    org: Organization,
    taker: Actor,
) -> None:
    await register(client, admin.headers, org, url=receiver.url)
    await request_org_listing(client, session, org, taker)
    rotated = settings.model_copy(
        update={"auth": settings.auth.model_copy(update={"jwt_secret": SecretStr("x" * 40)})}
    )
    assert await work(sessions, rotated) == (1, 0, 1)
    assert receiver.requests == []
    error = await session.scalar(text("SELECT last_error FROM deliveries"))
    assert error is not None
    assert "cannot be unsealed" in error


async def test_three_workers_at_once_post_each_event_once_and_in_order(
    committed_client: httpx.AsyncClient,
    committed_engine: AsyncEngine,
    settings: Settings,
    receiver: Receiver,
) -> None:
    owner = await _signed_in(committed_client)
    org = await committed_client.post(
        "/v1/organizations",
        json={"name": f"Tre {uuid.uuid4().hex[:8]}", "kind": "company"},
        headers=owner,
    )
    org_id = org.json()["id"]
    hook = await committed_client.post(
        f"/v1/organizations/{org_id}/webhooks", json={"url": receiver.url}, headers=owner
    )
    assert hook.status_code == 201, hook.text
    listing = await committed_client.post(
        "/v1/listings", json={**_item("Hylle"), "organization_id": org_id}, headers=owner
    )
    asker = await _signed_in(committed_client)
    tx = await committed_client.post(
        "/v1/transactions", json={"listing_id": listing.json()["id"]}, headers=asker
    )
    for i in range(15):
        said = await committed_client.post(
            f"/v1/transactions/{tx.json()['id']}/messages",
            json={"body": f"Melding {i}"},
            headers=asker,
        )
        assert said.status_code == 201
    sessions = create_sessionmaker(committed_engine)
    receiver.delay_s = 0.01

    async def one_worker() -> None:
        for _ in range(20):
            report = await run_pass(sessions, settings, SmtpMailer(settings))
            if not (report.planned or report.sent or report.failed):
                return

    await asyncio.gather(one_worker(), one_worker(), one_worker())
    mine = [
        orjson.loads(r.body)
        for r in receiver.requests
        if orjson.loads(r.body)["data"].get("organization_id") == org_id
    ]
    ids = [
        r.headers["webhook-id"]
        for r in receiver.requests
        if orjson.loads(r.body)["data"].get("organization_id") == org_id
    ]
    assert len(mine) == 16  # the request and fifteen messages
    assert len(set(ids)) == 16  # each once
    async with sessions() as check:
        expected = (
            await check.execute(
                text(
                    "SELECT e.id FROM outbox_events AS e WHERE e.recipient_organization_id = :o "
                    "ORDER BY e.seq"
                ),
                {"o": org_id},
            )
        ).scalars()
        assert ids == [str(e) for e in expected]  # in the order they happened
