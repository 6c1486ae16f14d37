"""Accept-header negotiation."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from app.api.media import GEOJSON, JSON, negotiate
from app.errors import NotAcceptableError


def _request(accept: str | None) -> Request:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    return Request(
        {"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""}
    )


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


def _request_f(accept: str | None, f: str) -> Request:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": headers,
            "query_string": f"f={f}".encode(),
        }
    )


@pytest.mark.parametrize(
    ("accept", "f", "expected"),
    [
        (None, "geojson", GEOJSON),  # GDAL, a browser's address bar
        ("*/*", "geojson", GEOJSON),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "geojson", GEOJSON),
        ("application/json", "geojson", JSON),  # an Accept naming a type wins
        ("application/geo+json", "json", GEOJSON),
        (None, "json", JSON),
        (None, "csv", JSON),  # not offered here: Accept (none) decides
    ],
)
def test_f_chooses_unless_accept_names_a_type(accept: str | None, f: str, expected: str) -> None:
    assert negotiate(_request_f(accept, f), [JSON, GEOJSON]) == expected
