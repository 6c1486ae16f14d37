"""E-mail from the outbox through a real SMTP server (aiosmtpd): what arrives, settings and
one-click unsubscribe, retries with backoff in order per person, giving up, the planner's
cursor over gaps, and three workers at once without a double send."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings, SmtpSettings
from app.db import create_sessionmaker
from app.models import Listing
from app.models.organization import MemberRole
from app.repositories import delivery as delivery_repository
from app.worker import SmtpMailer, run_pass
from tests.api.test_listing_races import _item, _signed_in
from tests.clock import Clock, frozen
from tests.factories import Actor, create_listing, create_organization, create_person
from tests.places import PLACES
from tests.problems import assert_problem
from tests.smtp import Inbox, smtp_server

__all__ = ["smtp_server"]

OSLO = (PLACES["oslo_city_hall"].lat, PLACES["oslo_city_hall"].lon)
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(app: FastAPI) -> Iterator[Clock]:
    with frozen(app, NOW) as c:
        yield c


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: tuple[Inbox, int]) -> Settings:
    _, port = smtp_server
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout_s=5)
    return settings.model_copy(update={"smtp": smtp, "public_base_url": "https://sirkel.test"})


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int]) -> Inbox:
    return smtp_server[0]


@pytest.fixture
def sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """The worker's sessions, inside the test's transaction (their commits are savepoints)."""
    return async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
async def giver(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Kari")


@pytest.fixture
async def taker(session: AsyncSession, settings: Settings) -> Actor:
    return await create_person(session, settings, display_name="Ola")


@pytest.fixture
async def listing(session: AsyncSession, giver: Actor) -> Listing:
    return await create_listing(
        session, at=OSLO, person=giver, title="Sofa", category="sofas-and-armchairs"
    )


async def ask(client: httpx.AsyncClient, who: Actor, listing: Listing) -> str:
    response = await client.post(
        "/v1/transactions", json={"listing_id": str(listing.id)}, headers=who.headers
    )
    assert response.status_code == 201, response.text
    tx_id: str = response.json()["id"]
    return tx_id


async def work(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, at: datetime = NOW
) -> tuple[int, int, int]:
    report = await run_pass(sessions, settings, SmtpMailer(settings), lambda: at)
    return report.planned, report.sent, report.failed


async def statuses(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        text("SELECT status, attempts FROM deliveries ORDER BY event_seq, person_id")
    )
    return [(r[0], r[1]) for r in rows.all()]


async def test_an_event_arrives_as_an_e_mail_in_the_readers_language(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    mail_settings: Settings,
    inbox: Inbox,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    await ask(client, taker, listing)
    assert await work(sessions, mail_settings) == (1, 1, 0)
    [mail] = inbox.messages
    assert mail["To"] == f"Kari <{giver.email}>"
    assert mail["Subject"] == "Ny forespørsel på «Sofa»"
    assert mail["Content-Language"] == "nb"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"].startswith("<https://sirkel.test/v1/unsubscribe?token=")
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert "Hei Kari!" in plain.get_content()
    assert "<h1" in html.get_content()
    assert "Ny forespørsel på «Sofa»" in html.get_content()
    # Nothing twice: the next pass has nothing to plan or send.
    assert await work(sessions, mail_settings) == (0, 0, 0)
    assert len(inbox.messages) == 1

    changed = await client.patch("/v1/me", json={"language": "en"}, headers=taker.headers)
    assert changed.status_code == 200
    chair = await create_listing(session, at=OSLO, person=giver, title="Stol")
    tx = await ask(client, taker, chair)
    await client.post(f"/v1/transactions/{tx}/accept", headers=giver.headers)
    await work(sessions, mail_settings)
    english = inbox.to(taker.email)
    assert [m["Subject"] for m in english] == ["Your request for “Stol” was accepted"]
    english_plain = english[0].get_body(preferencelist=("plain",))
    assert english_plain is not None
    assert "Hi Ola!" in english_plain.get_content()


async def test_settings_and_one_click_unsubscribe(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    mail_settings: Settings,
    inbox: Inbox,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    defaults = await client.get("/v1/me/notification-settings", headers=giver.headers)
    assert defaults.json() == {
        "email": {
            "transactions": True,
            "messages": True,
            "listings": True,
            "moderation": True,
            "account": True,
        }
    }
    tx = await ask(client, taker, listing)
    await work(sessions, mail_settings)
    [mail] = inbox.messages
    url = urlsplit(mail["List-Unsubscribe"].strip("<>"))
    token = parse_qs(url.query)["token"][0]

    # The mail client's one-click POST, without any login.
    done = await client.post(
        f"{url.path}?{url.query}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["category"] == "transactions"
    assert done.json()["settings"]["email"]["transactions"] is False
    again = await client.post(f"{url.path}?{url.query}")
    assert again.status_code == 200  # idempotent

    for bad in (token[:-2] + "xx", f"{uuid.uuid4().hex}.transactions.{token.split('.')[-1]}"):
        forged = await client.post("/v1/unsubscribe", params={"token": bad})
        problem = assert_problem(forged, 422, "invalid_input")
        assert problem["errors"][0]["field"] == "token"

    # A message is another category: it still comes by e-mail; the acceptance does not.
    await client.post(
        f"/v1/transactions/{tx}/messages", json={"body": "Hei!"}, headers=taker.headers
    )
    await work(sessions, mail_settings)
    assert [m["Subject"] for m in inbox.to(giver.email)] == [
        "Ny forespørsel på «Sofa»",
        "Ny melding om «Sofa»",
    ]
    off = await client.patch(
        "/v1/me/notification-settings", json={"email": {"messages": False}}, headers=giver.headers
    )
    assert off.json()["email"] == {
        "transactions": False,
        "messages": False,
        "listings": True,
        "moderation": True,
        "account": True,
    }
    await client.post(
        f"/v1/transactions/{tx}/messages", json={"body": "Hallo?"}, headers=taker.headers
    )
    assert await work(sessions, mail_settings) == (0, 0, 0)
    # In-app notifications are always on.
    notes = await client.get("/v1/me/notifications", headers=giver.headers)
    assert len(notes.json()["items"]) == 3
    bad = await client.patch(
        "/v1/me/notification-settings", json={"email": {"spam": False}}, headers=giver.headers
    )
    assert_problem(bad, 422, "validation_failed")


async def test_failures_back_off_keep_each_persons_order_and_give_up(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    mail_settings: Settings,
    inbox: Inbox,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    tx = await ask(client, taker, listing)
    await client.post(f"/v1/transactions/{tx}/messages", json={"body": "1"}, headers=taker.headers)
    inbox.refuse = True
    # The first e-mail fails; the second waits behind it (order per person).
    assert await work(sessions, mail_settings) == (2, 0, 1)
    assert await statuses(session) == [("pending", 1), ("pending", 0)]
    # Not due before its backoff (30 s, then 60 s …).
    assert await work(sessions, mail_settings, NOW + timedelta(seconds=29)) == (0, 0, 0)
    inbox.refuse = False
    assert await work(sessions, mail_settings, NOW + timedelta(seconds=31)) == (0, 2, 0)
    assert [m["Subject"] for m in inbox.to(giver.email)] == [
        "Ny forespørsel på «Sofa»",
        "Ny melding om «Sofa»",
    ]
    assert await statuses(session) == [("delivered", 1), ("delivered", 0)]

    # A server that refuses for a day: the delivery is given up (dead), and the next one
    # goes out.
    await client.post(f"/v1/transactions/{tx}/messages", json={"body": "2"}, headers=taker.headers)
    inbox.refuse = True
    at = NOW
    for _ in range(40):
        await work(sessions, mail_settings, at)
        at += timedelta(hours=1)
    assert (await statuses(session))[-1][0] == "dead"
    inbox.refuse = False
    await client.post(f"/v1/transactions/{tx}/messages", json={"body": "3"}, headers=taker.headers)
    assert (await work(sessions, mail_settings, at))[1] == 1


async def test_an_unreachable_server_is_a_failure_not_a_crash(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    mail_settings: Settings,
    taker: Actor,
    listing: Listing,
) -> None:
    await ask(client, taker, listing)
    closed = mail_settings.model_copy(
        update={"smtp": mail_settings.smtp.model_copy(update={"port": 9})}
    )
    assert await work(sessions, closed) == (1, 0, 1)
    error = await session.scalar(text("SELECT last_error FROM deliveries"))
    assert error is not None
    assert error.startswith(("SMTPConnect", "ConnectionRefused", "OSError"))


async def test_no_smtp_host_means_no_e_mail(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    taker: Actor,
    listing: Listing,
) -> None:
    assert not settings.smtp.enabled
    await ask(client, taker, listing)
    assert await work(sessions, settings) == (0, 0, 0)
    assert await session.scalar(text("SELECT count(*) FROM deliveries")) == 0


async def test_an_organizations_members_each_get_one(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mail_settings: Settings,
    inbox: Inbox,
    taker: Actor,
) -> None:
    owner = await create_person(session, settings)
    member = await create_person(session, settings)
    org = await create_organization(
        session, owner=owner, members={member.person_id: MemberRole.MEMBER}
    )
    listing = await create_listing(session, at=OSLO, organization=org, title="Drill")
    await ask(client, taker, listing)
    assert await work(sessions, mail_settings) == (2, 2, 0)
    assert sorted(str(m["To"]) for m in inbox.messages) == sorted(
        [f"{owner.display_name} <{owner.email}>", f"{member.display_name} <{member.email}>"]
    )


async def test_the_planner_waits_at_a_gap_and_plans_past_it_meanwhile(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    mail_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    giver: Actor,
    taker: Actor,
    listing: Listing,
) -> None:
    # Earlier tests' rolled-back events left gaps too: start the cursor after them.
    await session.execute(
        text(
            "INSERT INTO outbox_cursors (consumer, last_seq) SELECT 'email', "
            "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM "
            "outbox_events_seq_seq)"
        )
    )
    tx = await ask(client, taker, listing)
    # A request that rolls back after its event was written leaves a gap in the seq.
    rolled_back = await session.begin_nested()
    await session.execute(
        text(
            "INSERT INTO outbox_events (type, recipient_person_id, payload, created_at) "
            f"VALUES ('message.received', '{giver.person_id}', '{{}}', now())"
        )
    )
    await rolled_back.rollback()
    await client.post(f"/v1/transactions/{tx}/messages", json={"body": "x"}, headers=taker.headers)
    seqs = [r[0] for r in (await session.execute(text("SELECT seq FROM outbox_events"))).all()]
    assert seqs[1] - seqs[0] == 2
    assert await work(sessions, mail_settings) == (2, 2, 0)
    email_cursor = text("SELECT last_seq FROM outbox_cursors WHERE consumer = 'email'")
    cursor = await session.scalar(email_cursor)
    assert cursor == seqs[0]  # the gap may still be a running transaction
    assert await work(sessions, mail_settings) == (0, 0, 0)  # planned again: nothing new
    monkeypatch.setattr(delivery_repository, "GAP_GRACE_S", 0.0)
    await work(sessions, mail_settings)
    assert await session.scalar(email_cursor) == seqs[1]


async def test_three_workers_at_once_send_each_e_mail_once_and_in_order(
    committed_client: httpx.AsyncClient,
    committed_engine: AsyncEngine,
    settings: Settings,
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    owner = await _signed_in(committed_client)
    me = (await committed_client.get("/v1/me", headers=owner)).json()
    created = await committed_client.post("/v1/listings", json=_item("Bord"), headers=owner)
    asker = await _signed_in(committed_client)
    tx = await committed_client.post(
        "/v1/transactions", json={"listing_id": created.json()["id"]}, headers=asker
    )
    for i in range(20):
        said = await committed_client.post(
            f"/v1/transactions/{tx.json()['id']}/messages",
            json={"body": f"Melding {i}"},
            headers=asker,
        )
        assert said.status_code == 201
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False)
    worker_settings = settings.model_copy(update={"smtp": smtp})
    sessions = create_sessionmaker(committed_engine)
    inbox.delay_s = 0.01  # long enough for the workers to overlap

    async def one_worker() -> int:
        sent = 0
        for _ in range(10):  # the committed database holds other tests' events too
            report = await run_pass(sessions, worker_settings, SmtpMailer(worker_settings))
            sent += report.sent
            if not (report.planned or report.sent or report.failed):
                break
        return sent

    await asyncio.gather(one_worker(), one_worker(), one_worker())
    mine = inbox.to(me["email"])
    assert len(mine) == 21  # the request and twenty messages, once each
    assert len({m["Message-ID"] for m in mine}) == 21
    async with sessions() as session:
        seqs = (
            await session.execute(
                text(
                    "SELECT e.id FROM deliveries AS d JOIN outbox_events AS e "
                    "ON e.seq = d.event_seq WHERE d.person_id = :p ORDER BY e.seq"
                ),
                {"p": me["id"]},
            )
        ).all()
    # In the order the events happened.
    sent_events = [str(m["Message-ID"]).strip().strip("<>").split(".")[0] for m in mine]
    assert sent_events == [r[0].hex for r in seqs]
