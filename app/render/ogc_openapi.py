"""The OGC API's own definition, in OpenAPI 3.0 (the conformance class ``oas30``).

Sirkel's whole API is described at ``/openapi.json`` in OpenAPI 3.1. OGC API - Features Part 1
asks for an OpenAPI 3.0 definition of the OGC endpoints; this is it, written out here rather
than converted from the 3.1 document: the six operations under ``/ogc``, their parameters and
what they answer. ``tests/api/test_ogc.py`` validates it with openapi-spec-validator.
"""

from __future__ import annotations

from typing import Any

_GEOJSON = "application/geo+json"
_JSON = "application/json"
_HTML = "text/html"
_PROBLEM = "application/problem+json"


def _param(name: str, where: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
        **({"style": "form", "explode": False} if name == "bbox" else {}),
    }


_F = _param(
    "f",
    "query",
    {"type": "string", "enum": ["json", "html"]},
    "`html` for a page, `json` for the document; unset: `Accept` decides",
)
_COLLECTION = _param(
    "collectionId",
    "path",
    {"type": "string", "enum": ["listings", "repair-events", "initiatives", "kommuner", "fylker"]},
    "The collection",
)


def _ok(description: str, media: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {media: {"schema": {"type": "object"}}, _HTML: {"schema": {"type": "string"}}},
    }


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": "An RFC 9457 problem",
            "content": {_PROBLEM: {"schema": {"type": "object"}}},
        }
        for status in statuses
    }


def definition(server: str) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of the OGC API served under ``server`` (…/ogc)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Sirkel OGC API - Features",
            "version": "1.0.0",
            "description": "Public listings (at their blurred public points), repair events, "
            "initiatives, kommuner and fylker for GIS tools. The whole Sirkel API is described "
            "at /openapi.json (OpenAPI 3.1).",
        },
        "servers": [{"url": server}],
        "paths": {
            "/": {
                "get": {
                    "operationId": "ogc-landing",
                    "summary": "Landing page",
                    "parameters": [_F],
                    "responses": {"200": _ok("The landing page", _JSON), **_problems(422)},
                }
            },
            "/conformance": {
                "get": {
                    "operationId": "ogc-conformance",
                    "summary": "Conformance classes",
                    "parameters": [_F],
                    "responses": {"200": _ok("The conformance classes", _JSON), **_problems(422)},
                }
            },
            "/collections": {
                "get": {
                    "operationId": "ogc-collections",
                    "summary": "The collections",
                    "parameters": [_F],
                    "responses": {"200": _ok("The collections", _JSON), **_problems(422)},
                }
            },
            "/collections/{collectionId}": {
                "get": {
                    "operationId": "ogc-collection",
                    "summary": "One collection",
                    "parameters": [_COLLECTION, _F],
                    "responses": {"200": _ok("The collection", _JSON), **_problems(404, 422)},
                }
            },
            "/collections/{collectionId}/items": {
                "get": {
                    "operationId": "ogc-items",
                    "summary": "A page of features",
                    "parameters": [
                        _COLLECTION,
                        _param(
                            "bbox",
                            "query",
                            {
                                "type": "array",
                                "minItems": 4,
                                "maxItems": 4,
                                "items": {"type": "number"},
                            },
                            "minLon,minLat,maxLon,maxLat (CRS84)",
                        ),
                        _param(
                            "limit",
                            "query",
                            {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10},
                            "Features per page",
                        ),
                        _param(
                            "datetime",
                            "query",
                            {"type": "string"},
                            "An instant, a date or an interval (`..` for an open end): "
                            "listings by publication, repair events by start, initiatives by "
                            "the days they are active",
                        ),
                        _param(
                            "cursor",
                            "query",
                            {"type": "string"},
                            "From a `next` link (listings, repair events, initiatives)",
                        ),
                        _param(
                            "offset",
                            "query",
                            {"type": "integer", "minimum": 0},
                            "From a `next` or `prev` link (kommuner, fylker)",
                        ),
                        _F,
                    ],
                    "responses": {
                        "200": _ok("A GeoJSON FeatureCollection", _GEOJSON),
                        **_problems(404, 422),
                    },
                }
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "operationId": "ogc-feature",
                    "summary": "One feature",
                    "parameters": [
                        _COLLECTION,
                        _param("featureId", "path", {"type": "string"}, "The feature's id"),
                        _F,
                    ],
                    "responses": {
                        "200": _ok("A GeoJSON Feature", _GEOJSON),
                        **_problems(404, 422),
                    },
                }
            },
        },
    }
