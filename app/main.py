"""The application factory: ``uvicorn app.main:create_app --factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import __version__
from app.api import (
    auth,
    blocks,
    catalogue,
    categories,
    datapackage,
    docs,
    embed,
    evidence,
    fylker,
    geo,
    health,
    holds,
    impact,
    initiatives,
    kommuner,
    library_members,
    listings,
    matching,
    me,
    messages,
    notifications,
    ogc,
    organizations,
    people,
    photos,
    repairs,
    reports,
    reviews,
    saved_searches,
    targets,
    tiles,
    transactions,
    webhooks,
)
from app.api import metrics as metrics_routes
from app.config import Settings, get_settings
from app.db import create_engine, create_read_sessionmaker, create_sessionmaker
from app.idempotency import IdempotencyMiddleware
from app.metrics import Metrics, MetricsMiddleware
from app.middleware import (
    EXPOSED_HEADERS,
    REQUEST_ID_HEADER,
    BodySizeLimitMiddleware,
    PublicCorsMiddleware,
    RequestContextMiddleware,
)
from app.observability import configure_logging
from app.openapi import generate_operation_id, install_openapi
from app.problems import install_error_handlers
from app.ratelimit import RateLimitMiddleware
from app.services.health import migration_heads
from app.services.impact.frameworks import frameworks

DESCRIPTION = """
Sirkel is the backend of a sharing, reuse and repair marketplace for Norway. Every completed
reuse, repair or sharing transaction becomes evidence toward Norway's 2035 mission for the
circular economy.

**Conventions.** JSON everywhere; coordinates are WGS 84 — `[lon, lat]` in GeoJSON bodies,
explicit `lat` and `lon` in query parameters. Lists are keyset-paginated with `limit` and an
opaque `cursor`; responses carry `next_cursor` (null on the last page).

**Retries.** Every `POST` accepts an `Idempotency-Key`: the same key and request replay the
first response; see the parameter's description on each operation.

**Errors** are RFC 9457 problem details (`application/problem+json`) with a stable snake_case
`code` to branch on, the `request_id` (also in the `X-Request-ID` header) and, for 422, the
field `errors`.

**Reference data.** Kommune and fylke boundaries © Kartverket (CC BY 4.0), simplified via
robhop/fylker-og-kommuner. Population: Statistisk sentralbyrå, table 07459 (CC BY 4.0).
Reuse factors per product category: The Restart Project, environmental-impact-data
(CC BY-SA 4.0). Product categories of the Open Repair Data Standard: Open Repair Alliance
(CC BY-SA 4.0). List of waste: Commission Decision 2000/532/EC as amended by Decision
2014/955/EU, © European Union; data via Defra (Open Government Licence v3.0).
"""

OPENAPI_TAGS = [
    {"name": "auth", "description": "Registration, tokens and sessions for persons."},
    {"name": "me", "description": "The caller's own account and personal data."},
    {
        "name": "organizations",
        "description": "The public directory of organizations, their members and API keys.",
    },
    {
        "name": "categories",
        "description": "The taxonomy of what is offered, in bokmål and English, with each "
        "category's reuse-factor and Open Repair Data Standard mapping.",
    },
    {
        "name": "listings",
        "description": "Items, repair services, materials, energy and space offered or wanted: "
        "publish, change, the lifecycle, and search by place, kind, category and free text as "
        "JSON or GeoJSON.",
    },
    {
        "name": "saved searches",
        "description": "Searches that tell their owner of new listings that fit (instantly or "
        "daily), and an organization's new matches for its systems.",
    },
    {
        "name": "embed",
        "description": "The sharing map a municipality puts on its own site in an iframe, the "
        "page that makes the snippet, and the label glyphs of its style.",
    },
    {
        "name": "ogc",
        "description": "OGC API - Features (Core, GeoJSON) for GIS tools: QGIS, GDAL/OGR.",
    },
    {
        "name": "tiles",
        "description": "Mapbox Vector Tiles of active listings and of kommune and fylke "
        "boundaries for embedded maps, and their TileJSON.",
    },
    {
        "name": "transactions",
        "description": "What happens between two parties around a listing: handovers, loans, "
        "rentals, space shares, exchanges and repairs, each along its state machine; bookings "
        "that cannot collide; availability.",
    },
    {
        "name": "holds",
        "description": "Waitlists for lendable listings whose units are all out: holds in "
        "queue order, a unit kept for the first in line, and lending a ready hold out.",
    },
    {
        "name": "repairs",
        "description": "Repairs and repair events in the Open Repair Data Standard (ORDS v0.3): "
        "logging, import of ORDS files, and the open ORDS export.",
    },
    {
        "name": "evidence",
        "description": "The append-only, hash-chained evidence ledger: the incremental feed "
        "for analysts and its verification.",
    },
    {
        "name": "impact",
        "description": "The mission's indicators for its three sub-goals: the catalogue, "
        "aggregates by period, place, sector, category and initiative (JSON or CSV, with "
        "suppression of small cells), and the yearly report.",
    },
    {
        "name": "initiatives",
        "description": "Pilots, experiments, reuse stations and repair-café series: an owner "
        "organization, partners, kommuner and a period; listings, transactions and repair "
        "events tagged with them, so that their impact is counted per initiative (retagging "
        "never edits the evidence ledger).",
    },
    {
        "name": "people",
        "description": "Persons as others see them, and blocking.",
    },
    {
        "name": "notifications",
        "description": "One-click unsubscribe from e-mails (the caller's notifications and "
        "settings are under `me`).",
    },
    {
        "name": "reports",
        "description": "Anyone signed in reports a listing or a person to the moderators, "
        "and follows what became of it.",
    },
    {
        "name": "moderation",
        "description": "The moderators' queue of reports, oldest first, with decisions that "
        "can act on the target and an audit trail written by the database.",
    },
    {"name": "geography", "description": "The kommuner and fylker of 2024, and point lookup."},
    {"name": "health", "description": "Where to start (`/`), liveness and readiness probes."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json_logs=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database)
        app.state.engine = engine
        metrics.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.read_sessionmaker = create_read_sessionmaker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Sirkel API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        license_info={"name": "Proprietary; reference data under its own licences"},
        # Served from vendored assets by app.api.docs (no CDN).
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=generate_operation_id,
    )
    app.state.settings = settings
    app.state.migration_heads = migration_heads()
    frameworks()  # read and checked now: a broken mapping stops the start, not a request
    metrics = Metrics()
    app.state.metrics = metrics

    install_error_handlers(app)
    install_openapi(app)
    for module in (
        health,
        metrics_routes,
        docs,
        auth,
        me,
        saved_searches,
        people,
        blocks,
        notifications,
        organizations,
        catalogue,
        library_members,
        webhooks,
        categories,
        photos,  # before listings: /{id}/photos is not an {action}
        holds,  # and neither is /{id}/holds
        matching,  # and neither is /{id}/matches
        listings,
        messages,  # before transactions: /{id}/messages is not an {action}
        reviews,  # and neither is /{id}/review
        transactions,
        repairs,
        evidence,
        targets,  # before impact: /v1/impact/targets and /progress
        datapackage,
        impact,
        initiatives,
        reports,
        tiles,
        ogc,
        kommuner,
        fylker,
        geo,
        embed,
    ):
        app.include_router(module.router)

    # Starlette runs the last-added middleware first: request context wraps everything, so
    # even a 413 or a 500 carries X-Request-ID and an access-log line.
    if settings.http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.http.cors_origins,
            allow_credentials=settings.http.cors_allow_credentials,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-API-Key",
                "Idempotency-Key",
                "If-None-Match",
                REQUEST_ID_HEADER,
            ],
            expose_headers=list(EXPOSED_HEADERS),
            max_age=600,
        )
    app.add_middleware(PublicCorsMiddleware, configured=tuple(settings.http.cors_origins))
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.http.max_body_bytes)
    # Outside the body and idempotency work (a spent budget costs nothing), inside the request
    # context (a 429 has its request id and log line).
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # counts even a 413
    if settings.http.trusted_proxies:
        # Outermost: the client address and scheme are the proxy's word before anything reads
        # them (uvicorn itself runs with --no-proxy-headers; see the Makefile).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.http.trusted_proxies)
    return app
