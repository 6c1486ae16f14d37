"""GET /metrics — Prometheus text format, for the operator's scraper (``app.metrics``)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import ClockDep, SettingsDep
from app.db import SessionDep
from app.errors import InvalidTokenError, NotFoundError, problem_responses
from app.metrics import Metrics
from app.repositories.metrics import MetricsRepository

router = APIRouter(tags=["health"])


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


@router.get(
    "/metrics",
    response_class=Response,
    summary="Metrics (Prometheus)",
    description="For the operator's Prometheus: requests by method, route template and status "
    "with a latency histogram; the database pool (in use, idle, overflow); the outbox (events "
    "not yet planned and the oldest one's age, due deliveries per channel and the oldest's "
    "age); the ledger's size and the age of its newest record; photo files waiting for the "
    "sweep. Off unless `SIRKEL_METRICS__TOKEN` is set (`404 not_found`); then it needs "
    "`Authorization: Bearer <token>` (`401 invalid_token` otherwise).",
    responses={
        200: {
            "content": {
                CONTENT_TYPE_LATEST.split(";")[0]: {
                    "schema": {"type": "string"},
                    "example": "# TYPE sirkel_http_requests_total counter\n"
                    'sirkel_http_requests_total{method="GET",route="/v1/listings",'
                    'status="200"} 1027.0\n',
                }
            },
            "description": "The metrics in Prometheus' text exposition format",
        },
        **problem_responses(InvalidTokenError, NotFoundError),
    },
)
async def get_metrics(
    request: Request, settings: SettingsDep, session: SessionDep, now: ClockDep
) -> Response:
    token = settings.metrics.token
    if token is None:
        raise NotFoundError("Metrics are off (SIRKEL_METRICS__TOKEN is not set).")
    if not _authorized(request, token.get_secret_value()):
        raise InvalidTokenError(
            "Send the metrics token as a bearer token.", headers={"WWW-Authenticate": "Bearer"}
        )
    metrics: Metrics = request.app.state.metrics
    metrics.state.set_database(await MetricsRepository(session).state(now=now))
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
