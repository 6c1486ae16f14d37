"""Prometheus metrics (prometheus-client, the reference client library): what a request did,
measured in an ASGI middleware, and what the system holds, read from the database and the
connection pool when ``GET /metrics`` is scraped.

Each application has its own ``CollectorRegistry`` (tests build many apps in one process).
Routes are labelled by their template (``/v1/listings/{listing_id}``), never the raw path,
and a path no route matches is ``<unmatched>``, so the number of series stays bounded
whatever clients send. The scrape endpoint is off unless ``SIRKEL_METRICS__TOKEN`` is set,
and then needs ``Authorization: Bearer <token>`` (``app.api.metrics``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Seconds; from a cached tile (a few ms) to an import or a photo upload (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "<unmatched>"


class Metrics:
    """One application's registry and request metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sirkel_http_requests",
            "HTTP requests answered, by method, route template and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "sirkel_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response body",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.state = StateCollector()
        self.registry.register(self.state)


class StateCollector(Collector):
    """Gauges read at scrape time: the pool from the engine, the rest from the values the
    scrape route loaded from the database just before (``set_database``)."""

    def __init__(self) -> None:
        self.engine: AsyncEngine | None = None
        self.database: dict[str, Any] = {}

    def describe(self) -> Iterable[Metric]:
        return []

    def set_database(self, values: dict[str, Any]) -> None:
        self.database = values

    def collect(self) -> Iterator[Metric]:
        if self.engine is not None:
            pool: Any = self.engine.sync_engine.pool
            connections = GaugeMetricFamily(
                "sirkel_db_pool_connections",
                "Connections of the API's pool by state (in_use: checked out by a request; "
                "idle: open and waiting in the pool; overflow: opened above the pool size)",
                labels=["state"],
            )
            for state, read in (
                ("in_use", "checkedout"),
                ("idle", "checkedin"),
                ("overflow", "overflow"),
            ):
                method = getattr(pool, read, None)
                if method is not None:
                    connections.add_metric([state], max(0, int(method())))
            yield connections
            size = getattr(pool, "size", None)
            if size is not None:
                yield GaugeMetricFamily(
                    "sirkel_db_pool_size", "The pool's configured size", value=int(size())
                )
        values = self.database
        if not values:
            return
        yield GaugeMetricFamily(
            "sirkel_outbox_unplanned_events",
            "Outbox events the worker has not planned deliveries for yet (webhook consumer)",
            value=values["unplanned_events"],
        )
        yield GaugeMetricFamily(
            "sirkel_outbox_lag_seconds",
            "Age of the oldest outbox event not yet planned (0 when none waits)",
            value=values["unplanned_age_s"],
        )
        pending = GaugeMetricFamily(
            "sirkel_deliveries_due",
            "Deliveries due now (pending, next attempt reached), by channel",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "sirkel_deliveries_oldest_due_seconds",
            "Age of the oldest due delivery, by channel (0 when none is due)",
            labels=["channel"],
        )
        for channel, (count, age) in sorted(values["due"].items()):
            pending.add_metric([channel], count)
            oldest.add_metric([channel], age)
        yield pending
        yield oldest
        yield GaugeMetricFamily(
            "sirkel_ledger_head_age_seconds",
            "Time since the newest evidence record was written (-1 for an empty ledger)",
            value=values["ledger_head_age_s"],
        )
        yield GaugeMetricFamily(
            "sirkel_ledger_records", "Evidence records in the ledger", value=values["ledger_seq"]
        )
        yield GaugeMetricFamily(
            "sirkel_photo_files_to_delete",
            "Removed photos whose files the worker's sweep has not deleted yet",
            value=values["photos_to_purge"],
        )
        imports = GaugeMetricFamily(
            "sirkel_repair_imports", "ORDS import jobs not finished, by state", labels=["state"]
        )
        imports.add_metric(["queued"], values["imports_queued"])
        imports.add_metric(["running"], values["imports_running"])
        yield imports
        yield GaugeMetricFamily(
            "sirkel_repair_import_oldest_seconds",
            "Age of the oldest unfinished ORDS import job (0 when none)",
            value=values["oldest_import_age_s"],
        )


class MetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client sees if the app raises before responding

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)
