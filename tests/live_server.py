"""An app on a real loopback port, for what needs HTTP: a browser, GDAL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import uvicorn
from fastapi import FastAPI


@contextmanager
def serve(
    app: FastAPI, *, lifespan: Literal["on", "off"] = "on", linger_s: float = 0.0
) -> Iterator[str]:
    """Runs ``app`` with uvicorn in a thread on a free port; yields its base URL. ``linger_s``
    waits before stopping, for clients whose last requests are still arriving."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if linger_s:
            threading.Event().wait(linger_s)
        server.should_exit = True
        thread.join(timeout=10)
