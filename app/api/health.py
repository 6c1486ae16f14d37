"""The root document, and the liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from app import __version__
from app.db import SessionDep
from app.errors import NotReadyError, problem_responses
from app.services.health import ReadinessRead, check_readiness

router = APIRouter(tags=["health"])


class RootLink(BaseModel):
    rel: str
    href: str
    type: str
    title: str


_ROOT_LINKS = [
    RootLink(
        rel="service-desc",
        href="/openapi.json",
        type="application/json",
        title="The OpenAPI 3.1 document",
    ),
    RootLink(
        rel="service-doc", href="/docs", type="text/html", title="API documentation (Swagger UI)"
    ),
    RootLink(rel="service-doc", href="/redoc", type="text/html", title="API documentation (ReDoc)"),
    RootLink(
        rel="data", href="/ogc", type="application/json", title="OGC API - Features, for GIS tools"
    ),
    RootLink(
        rel="alternate",
        href="/embed",
        type="text/html",
        title="Make an embeddable map for a municipality's site",
    ),
    RootLink(rel="status", href="/readyz", type="application/json", title="Readiness"),
]


class RootRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Sirkel",
                    "version": "0.1.0",
                    "description": "The backend of a sharing, reuse and repair marketplace "
                    "for Norway.",
                    "links": [link.model_dump() for link in _ROOT_LINKS[:2]],
                }
            ]
        }
    )

    name: str
    version: str
    description: str
    links: list[RootLink]


@router.get(
    "/",
    summary="Where to start",
    description="Links to the OpenAPI document, the API documentation, the OGC API for GIS "
    "tools and the embeddable map's builder.",
)
async def get_root() -> RootRead:
    return RootRead(
        name="Sirkel",
        version=__version__,
        description="The backend of a sharing, reuse and repair marketplace for Norway.",
        links=_ROOT_LINKS,
    )


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
