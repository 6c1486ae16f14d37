"""What the metrics and rate-limit middlewares add to a request (``app.metrics``,
``app.ratelimit``): the same trivial ASGI endpoint called in process with and without each,
best of five runs of 50,000 calls (the limiter with a budget it never spends, over 1,000
callers). Run: ``python -m bench.middleware_cost``; prints JSON."""

from __future__ import annotations

import asyncio
import json
import time

from starlette.types import Message, Receive, Scope, Send

from app.config import RateLimitSettings, Settings
from app.metrics import Metrics, MetricsMiddleware
from app.ratelimit import RateLimitMiddleware

CALLS = 50_000


class _Route:
    path = "/v1/listings/{listing_id}"


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG001
    scope["route"] = _Route()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:  # noqa: ARG001
    return None


async def per_call(app: object) -> float:
    best = float("inf")
    calls = 0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(CALLS):
            scope: Scope = {
                "type": "http",
                "method": "GET",
                "path": "/v1/listings/x",
                "headers": [],
                "client": (f"10.0.{calls % 4}.{calls % 250}", 1234),
            }
            calls += 1
            await app(scope, _receive, _send)  # type: ignore[operator]
        best = min(best, (time.perf_counter() - start) / CALLS)
    return best


def main() -> None:
    bare = asyncio.run(per_call(endpoint))
    metered = asyncio.run(per_call(MetricsMiddleware(endpoint, Metrics())))
    settings = Settings(rate_limits=RateLimitSettings(reads_per_minute=10**9))
    limited = asyncio.run(per_call(RateLimitMiddleware(endpoint, settings)))
    print(
        json.dumps(
            {
                "bare_us": round(bare * 1e6, 2),
                "metrics_added_us": round((metered - bare) * 1e6, 2),
                "rate_limit_added_us": round((limited - bare) * 1e6, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
