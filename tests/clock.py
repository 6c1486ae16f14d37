"""A settable clock for the API's ``utcnow`` dependency (shared by the API test modules)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi import FastAPI

from app.api.deps import utcnow


class Clock:
    """``clock.now = ...`` moves the time every following request sees."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def frozen(app: FastAPI, now: datetime) -> Iterator[Clock]:
    """The app's clock stands at ``now`` (until moved) inside the block."""
    clock = Clock(now)
    app.dependency_overrides[utcnow] = clock
    try:
        yield clock
    finally:
        app.dependency_overrides.pop(utcnow, None)
