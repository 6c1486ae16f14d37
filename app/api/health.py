"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.db import SessionDep
from app.errors import NotReadyError, problem_responses
from app.services.health import ReadinessRead, check_readiness

router = APIRouter(tags=["health"])


class LivenessRead(BaseModel):
    status: str = "ok"


@router.get(
    "/healthz",
    summary="Liveness",
    description="The process is up and serving. Touches no dependency.",
)
async def get_liveness() -> LivenessRead:
    return LivenessRead()


@router.get(
    "/readyz",
    summary="Readiness",
    description="Ready to serve: the database is reachable, its schema is at the migrations' "
    "head and the reference geography is loaded. Otherwise a 503 `not_ready` problem whose "
    "`checks` member names what is missing.",
    responses=problem_responses(NotReadyError),
)
async def get_readiness(request: Request, session: SessionDep) -> ReadinessRead:
    return await check_readiness(session, heads=request.app.state.migration_heads)
