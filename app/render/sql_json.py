"""Bodies stitched from JSON documents that PostgreSQL already built.

The hot reads (a search page, a FeatureCollection of results) get each listing's document from
SQL (``app.repositories.listing``); these functions only join the documents and add the page's
own members, so a page of 100 listings never passes through Python objects. Everything else
leaves through ``response_model``.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.schemas.listing import FeatureLink


def _joined(docs: list[bytes]) -> bytes:
    return b"[" + b",".join(docs) + b"]"


def item_page(items: list[bytes], *, next_cursor: str | None) -> bytes:
    """``{"items": [...], "next_cursor": ...}`` (``app.schemas.common.Page``)."""
    return b'{"items":' + _joined(items) + b',"next_cursor":' + orjson.dumps(next_cursor) + b"}"


def feature_collection(
    features: list[bytes], *, links: list[FeatureLink], next_cursor: str | None
) -> bytes:
    """An RFC 7946 FeatureCollection with OGC API ``links`` (``ListingFeatureCollection``)."""
    return (
        b'{"type":"FeatureCollection","features":'
        + _joined(features)
        + b',"links":'
        + orjson.dumps([link.model_dump() for link in links])
        + b',"next_cursor":'
        + orjson.dumps(next_cursor)
        + b"}"
    )


def ogc_items(head: dict[str, object], features: list[bytes]) -> bytes:
    """An OGC API - Features items page: ``head`` (type, numberReturned, links …) and the
    SQL-built features, joined without parsing them."""
    return orjson.dumps(head)[:-1] + b',"features":' + _joined(features) + b"}"


def match_page(matches: list[tuple[bytes, dict[str, Any]]], *, next_cursor: str | None) -> bytes:
    """``{"items": [{score, distance_m, reasons, listing}], "next_cursor"}``
    (``app.schemas.matching.MatchPage``): each match's head from Python, its listing JSON as
    the database built it."""
    items = [orjson.dumps(head)[:-1] + b',"listing":' + doc + b"}" for doc, head in matches]
    return item_page(items, next_cursor=next_cursor)
