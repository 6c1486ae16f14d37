"""Accept-header negotiation."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from app.api.media import GEOJSON, JSON, negotiate
from app.errors import NotAcceptableError


def _request(accept: str | None) -> Request:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("application/geo+json", GEOJSON),
        ("application/geo+json, */*;q=0.8", GEOJSON),
        ("application/*", JSON),
        ("application/json;q=0.5, application/geo+json", GEOJSON),
        ("application/geo+json;q=0, */*", JSON),
        ("text/html, application/json;q=0.9", JSON),
    ],
)
def test_negotiation(accept: str | None, expected: str) -> None:
    assert negotiate(_request(accept), [JSON, GEOJSON]) == expected


@pytest.mark.parametrize("accept", ["text/csv", "image/png, text/*", "application/json;q=0"])
def test_nothing_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptableError):
        negotiate(_request(accept), [JSON, GEOJSON])
