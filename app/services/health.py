"""Readiness: the database answers, its schema is at the migrations' head, and the reference
data (geography, categories) is loaded."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import PROJECT_ROOT
from app.errors import NotReadyError
from app.repositories.health import HealthRepository

logger = logging.getLogger("sirkel.health")


class ReadinessRead(BaseModel):
    status: str
    checks: dict[str, str]


@lru_cache
def migration_heads(project_root: Path = PROJECT_ROOT) -> frozenset[str]:
    config = Config(str(project_root / "alembic.ini"))
    config.set_main_option("script_location", str(project_root / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


async def check_readiness(session: AsyncSession, *, heads: frozenset[str]) -> ReadinessRead:
    repo = HealthRepository(session)
    checks: dict[str, str] = {}
    try:
        await repo.ping()
        checks["database"] = "ok"
        current = await repo.migration_revisions()
        checks["migrations"] = (
            "ok"
            if current == set(heads)
            else f"at {sorted(current) or 'nothing'}, head is {sorted(heads)}"
        )
        checks["reference_data"] = "ok" if await repo.reference_data_loaded() else "not loaded"
    except (OSError, TimeoutError, DBAPIError, SQLAlchemyError) as exc:
        # The cause goes to the log; the response only says which check failed.
        logger.warning("readiness: database unreachable", extra={"error": type(exc).__name__})
        checks["database"] = "unreachable"
    failed = {k: v for k, v in checks.items() if v != "ok"}
    if failed or "reference_data" not in checks:
        raise NotReadyError(
            "Not ready: " + ", ".join(f"{k} {v}" for k, v in failed.items()),
            extra={"checks": checks},
        )
    return ReadinessRead(status="ready", checks=checks)
