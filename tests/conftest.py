"""Test harness: a real PostGIS per test session (per xdist worker), migrated once with the
project's own Alembic revisions and loaded with the shipped reference data through the same
CLI that ``make run`` uses; then one outer transaction per test, rolled back afterwards, with
the app's commits turned into savepoints."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.config import (
    AuthSettings,
    DatabaseSettings,
    Environment,
    PhotoSettings,
    RateLimitSettings,
    Settings,
)
from app.db import create_engine
from app.main import create_app
from tests.conformance import ResponseContract
from tests.pg_cluster import Cluster, cluster_from_url, start_cluster

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def run_project_command(args: list[str], database_url: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m …`` in the project as a user would, against ``database_url``."""
    env = {**os.environ, "SIRKEL_DATABASE__URL": database_url, "SIRKEL_ENVIRONMENT": "test"}
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def alembic(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_project_command(["alembic", "-x", f"url={database_url}", *args], database_url)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield cluster_from_url(external)
        return
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(pg_cluster: Cluster) -> str:
    name = f"sirkel_test_{_worker_suffix()}"
    pg_cluster.create_database(name)
    url = pg_cluster.url(name)
    for step in (
        alembic(url, "upgrade", "head"),
        run_project_command(["app.cli", "load-reference"], url),
    ):
        if step.returncode != 0:
            pytest.fail(f"preparing the test database failed:\n{step.stdout}\n{step.stderr}")
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        environment=Environment.TEST,
        # Photos go to a throw-away directory, never the checkout's data/.
        photos=PhotoSettings(local_dir=tmp_path_factory.mktemp("photos")),
        # Every test client is 127.0.0.1: the budgets are tested on their own
        # (tests/api/test_rate_limits.py).
        rate_limits=RateLimitSettings(enabled=False),
        database=DatabaseSettings(url=database_url, pool_size=5),  # type: ignore[arg-type]
        # Argon2id stays Argon2id, at a cost that keeps the suite fast.
        auth=AuthSettings(
            jwt_secret=TEST_JWT_SECRET,  # type: ignore[arg-type]
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
        ),
        log_json=True,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction: its commits are savepoints."""
    async with AsyncSession(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        yield session


@pytest.fixture
async def app(settings: Settings, connection: AsyncConnection) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        # Requests run in savepoints of the test's transaction, which is rolled back at the end.
        application.state.sessionmaker = async_sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        # Reads too: in production they run in autocommit, which a test's transaction cannot.
        application.state.read_sessionmaker = application.state.sessionmaker
        # Snapshot reads (app.db.get_snapshot_session) cannot set their isolation inside it.
        application.state.snapshot_isolation = False
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    hooks: dict[str, list[Callable[..., Any]]] = {"response": [ResponseContract(app)]}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", event_hooks=hooks
    ) as client:
        yield client


@pytest.fixture(scope="session")
def committed_database_url(pg_cluster: Cluster) -> str:
    """A second migrated database whose data is really committed, for tests that race
    parallel requests over separate connections. Tests here use unique data of their own."""
    name = f"sirkel_race_{_worker_suffix()}"
    pg_cluster.create_database(name)
    url = pg_cluster.url(name)
    for step in (
        alembic(url, "upgrade", "head"),
        run_project_command(["app.cli", "load-reference"], url),
    ):
        if step.returncode != 0:
            pytest.fail(f"preparing the race database failed:\n{step.stdout}\n{step.stderr}")
    return url


@pytest.fixture
async def client_for(
    connection: AsyncConnection,
) -> AsyncIterator[Callable[[Settings], Awaitable[httpx.AsyncClient]]]:
    """Clients of apps with other settings (``await client_for(settings.model_copy(...))``),
    inside the test's transaction like ``client``."""
    async with AsyncExitStack() as stack:

        async def make(configured: Settings) -> httpx.AsyncClient:
            application = create_app(configured)
            await stack.enter_async_context(application.router.lifespan_context(application))
            application.state.sessionmaker = async_sessionmaker(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            application.state.read_sessionmaker = application.state.sessionmaker
            application.state.snapshot_isolation = False
            hooks: dict[str, list[Callable[..., Any]]] = {
                "response": [ResponseContract(application)]
            }
            return await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=application),
                    base_url="http://testserver",
                    event_hooks=hooks,
                )
            )

        yield make


@pytest.fixture
async def committed_client(
    settings: Settings, committed_database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with its real engine and pool (40 connections): every request is
    its own transaction, committed before the response, as in production."""
    database = DatabaseSettings(url=committed_database_url, pool_size=40)  # type: ignore[arg-type]
    application = create_app(settings.model_copy(update={"database": database}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        hooks: dict[str, list[Callable[..., Any]]] = {"response": [ResponseContract(application)]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", event_hooks=hooks
        ) as c:
            yield c


@pytest.fixture
async def committed_engine(committed_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(DatabaseSettings(url=committed_database_url, pool_size=5))  # type: ignore[arg-type]
    yield engine
    await engine.dispose()
