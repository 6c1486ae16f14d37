"""What the metrics middleware adds to a request (``app.metrics.MetricsMiddleware``): the same
trivial ASGI endpoint called in process with and without it, best of five runs of 50,000
calls. Run: ``python -m bench.metrics_cost``; prints JSON."""

from __future__ import annotations

import asyncio
import json
import time

from starlette.types import Message, Receive, Scope, Send

from app.metrics import Metrics, MetricsMiddleware

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
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(CALLS):
            scope: Scope = {"type": "http", "method": "GET", "path": "/v1/listings/x"}
            await app(scope, _receive, _send)  # type: ignore[operator]
        best = min(best, (time.perf_counter() - start) / CALLS)
    return best


def main() -> None:
    bare = asyncio.run(per_call(endpoint))
    metered = asyncio.run(per_call(MetricsMiddleware(endpoint, Metrics())))
    print(
        json.dumps(
            {
                "bare_us": round(bare * 1e6, 2),
                "with_metrics_us": round(metered * 1e6, 2),
                "added_us": round((metered - bare) * 1e6, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
