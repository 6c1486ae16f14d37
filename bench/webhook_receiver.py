"""The outbox benchmark's webhook receiver: a tiny ASGI app run by uvicorn in its own process
(so that neither the load generator nor the GIL of the bench process slows it down). Each
delivery's message id and arrival time (``time.monotonic()``, one clock for every process on
the machine) go to the file ``BENCH_RECEIVER_LOG`` names; it answers 204."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

_LOG = open(os.environ.get("BENCH_RECEIVER_LOG", "/dev/null"), "a", buffering=1)  # noqa: SIM115


async def app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    arrived = time.monotonic()
    try:
        message_id = orjson.loads(body)["data"].get("message_id")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        message_id = None
    if message_id:
        _LOG.write(f"{message_id} {arrived}\n")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
