"""Administrative commands: ``python -m app.cli COMMAND``.

load-reference [--force]   load data/ (kommuner, fylker, population) idempotently
demo-data                  fill the database with the demo set (reference data included)
tick                       periodic work (run it from cron or a systemd timer every few minutes):
                           expire item listings past their expiry (search already hides them),
                           expire unanswered transaction requests, lapse bookings never picked
                           up, mark loans not returned by the end of their period overdue,
                           remind borrowers, lapse holds whose pickup window passed and move
                           every waitlist with a free unit on
maintain                   CLUSTER listings on the spatial index, rebuild the tile rollup, ANALYZE
rebuild-impact             recompute the impact rollups from the evidence ledger (after a bulk
                           load or a restore; the trigger keeps them current otherwise)
grant-role / revoke-role   give or take a platform role (moderator, analyst)
worker [--once]            deliver the outbox by e-mail until stopped (SIGTERM/SIGINT), or one
                           pass; several may run at once
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Environment, get_settings
from app.db import create_engine, create_sessionmaker
from app.errors import PersonNotFoundError
from app.models.person import PlatformRole
from app.observability import configure_logging
from app.services import alerts
from app.services import hold as hold_service
from app.services import listing as listing_service
from app.services import review as review_service
from app.services import transaction as transaction_service
from app.services.demo_data import DEMO_PASSWORD, load_demo_data
from app.services.impact import query as impact_service
from app.services.platform_roles import set_platform_role
from app.services.reference_data import LoadReport, ReferenceDataError, load_reference_data
from app.worker import SmtpMailer, run_pass
from app.worker import run as run_worker


async def _in_transaction(work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    settings = get_settings()
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await work(session)
    finally:
        await engine.dispose()


def _print_report(report: LoadReport) -> None:
    for name, count in report.loaded.items():
        print(f"loaded {name}: {count}")
    for name in report.skipped:
        print(f"unchanged {name}: skipped")


async def _load_reference(force: bool) -> None:
    settings = get_settings()

    async def work(session: AsyncSession) -> None:
        _print_report(await load_reference_data(session, data_dir=settings.data_dir, force=force))

    await _in_transaction(work)


async def _demo_data() -> None:
    settings = get_settings()
    if settings.environment not in (Environment.DEVELOPMENT, Environment.TEST):
        raise DemoRefusedError(
            f"demo data has published passwords; refusing in {settings.environment}"
        )
    await _load_reference(force=False)

    async def work(session: AsyncSession) -> None:
        report = await load_demo_data(session, settings=settings, now=datetime.now(UTC))
        for email in report.created_people:
            print(f"created person {email}")
        for name in report.created_organizations:
            print(f"created organization {name}")
        for title in report.created_listings:
            print(f"created listing {title}")
        for handover in report.created_handovers:
            print(f"handed over {handover}")
        for line in report.created_reports:
            print(line)
        for line in report.created_repairs:
            print(f"logged {line}")
        for title in report.created_targets:
            print(f"target: {title}")
        for name in report.created_saved_searches:
            print(f"saved search: {name}")

    await _in_transaction(work)
    print(f"demo data ready; every demo account signs in with the password {DEMO_PASSWORD!r}")
    print("  e.g. kari@demo.sirkel.no (owner of two organizations), moderator@demo.sirkel.no")
    print("  (a report waits in GET /v1/moderation/reports)")


class DemoRefusedError(Exception):
    pass


async def _set_role(email: str, role: PlatformRole, *, granted: bool) -> None:
    async def work(session: AsyncSession) -> None:
        roles = await set_platform_role(session, email=email, role=role, granted=granted)
        print(f"{email}: roles now {', '.join(roles) or '(none)'}")

    await _in_transaction(work)


async def _tick() -> None:
    async def work(session: AsyncSession) -> None:
        now = datetime.now(UTC)
        expired = await listing_service.expire_listings(session, now=now)
        print(f"listings expired: {expired}")
        reminded = await listing_service.remind_expiring(session, now=now)
        print(f"owners reminded of listings expiring: {reminded}")
        report = await transaction_service.tick(session, now=now)
        lapsed = await hold_service.lapse(session, now=now, settings=get_settings())
        print(f"holds lapsed (their pickup window passed): {lapsed}")
        revealed = await review_service.reveal_due(session, now=now)
        print(f"reviews revealed (their window closed): {revealed}")
        digests = await alerts.send_digests(session, now=now)
        print(f"saved-search digests sent: {digests}")
        print(
            f"requests expired: {report.expired_requests}, bookings lapsed: "
            f"{report.lapsed_bookings}, loans overdue: {report.overdue}, "
            f"borrowers reminded: {report.due_reminders}"
        )

    await _in_transaction(work)


async def _maintain() -> None:
    async def work(session: AsyncSession) -> None:
        await listing_service.recluster(session)
        print("listings clustered on their spatial index, tile rollup rebuilt, analysed")

    await _in_transaction(work)


async def _rebuild_impact() -> None:
    async def work(session: AsyncSession) -> None:
        await impact_service.rebuild_rollups(session)
        print("impact rollups rebuilt from the evidence ledger")

    await _in_transaction(work)


async def _worker(once: bool) -> None:
    settings = get_settings()
    engine = create_engine(settings.database)
    sessions = create_sessionmaker(engine)
    mailer = SmtpMailer(settings)
    try:
        if once:
            report = await run_pass(sessions, settings, mailer)
            print(f"planned {report.planned}, sent {report.sent}, failed {report.failed}")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(sessions, settings, mailer, stop)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load-reference", help="load the shipped reference data")
    load.add_argument("--force", action="store_true", help="reload even if unchanged")
    sub.add_parser("demo-data", help="fill the database with a realistic demo set")
    sub.add_parser(
        "tick",
        help="the periodic work: expire listings and unanswered requests, mark late loans",
    )
    sub.add_parser(
        "maintain",
        help="re-cluster listings on their spatial index, rebuild the tile rollup, analyse",
    )
    sub.add_parser("rebuild-impact", help="recompute the impact rollups from the evidence ledger")
    worker = sub.add_parser("worker", help="deliver the outbox by e-mail until stopped")
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    for name, text in (("grant-role", "give"), ("revoke-role", "take away")):
        cmd = sub.add_parser(name, help=f"{text} a platform role")
        cmd.add_argument("email")
        cmd.add_argument("role", choices=[r.value for r in PlatformRole])
    args = parser.parse_args(argv)
    try:
        if args.command == "load-reference":
            asyncio.run(_load_reference(args.force))
        elif args.command == "demo-data":
            asyncio.run(_demo_data())
        elif args.command == "tick":
            asyncio.run(_tick())
        elif args.command == "maintain":
            asyncio.run(_maintain())
        elif args.command == "rebuild-impact":
            asyncio.run(_rebuild_impact())
        elif args.command == "worker":
            configure_logging(get_settings().log_level, json_logs=get_settings().log_json)
            asyncio.run(_worker(args.once))
        elif args.command in ("grant-role", "revoke-role"):
            granted = args.command == "grant-role"
            asyncio.run(_set_role(args.email, PlatformRole(args.role), granted=granted))
    except (ReferenceDataError, DemoRefusedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except PersonNotFoundError:
        print(f"error: no active person has the e-mail {args.email}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
