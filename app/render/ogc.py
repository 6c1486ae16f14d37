"""OGC API - Features as HTML (the conformance class ``html``): the same documents as the
JSON and GeoJSON answers, as pages a person reads in a browser — a kommune's GIS staff
looking before they add the layer in QGIS. No script; the embed pages' stylesheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.render import embed

# Feature properties shown as table columns, in this order when present (the rest are in
# each feature's own page).
_COLUMNS = (
    "title",
    "kind",
    "mode",
    "name",
    "short_name",
    "kommunenummer",
    "fylkesnummer",
    "starts_at",
    "address",
    "status",
)


def with_format(url: str, f: str) -> str:
    """The URL with ``f`` set (replacing any ``f`` it had)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "f"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("f", f)])))


def _where(geometry: dict[str, Any] | None) -> str:
    if not geometry:
        return ""
    if geometry.get("type") == "Point":
        lon, lat = geometry["coordinates"]
        return f"{lon:.5f}, {lat:.5f}"
    return str(geometry.get("type", ""))


def page(
    doc: dict[str, Any],
    *,
    url: str,
    root: str,
    title: str,
    assets_dir: Path,
    trail: list[tuple[str, str]] | None = None,
    json_label: str = "This page as JSON",
) -> str:
    """One OGC document as HTML: its links, collections, conformance classes, features (a
    FeatureCollection) or properties (a Feature)."""
    features = None
    columns: list[str] = []
    if doc.get("type") == "FeatureCollection":
        features = []
        base = urlsplit(url)._replace(query="").geturl()
        for feature in doc.get("features", []):
            props = feature.get("properties") or {}
            features.append(
                {
                    "id": feature.get("id"),
                    "href": with_format(f"{base}/{feature.get('id')}", "html"),
                    "where": _where(feature.get("geometry")),
                    "properties": props,
                }
            )
            columns += [c for c in _COLUMNS if c in props and c not in columns]
    properties = None
    if doc.get("type") == "Feature":
        properties = [
            ("where", _where(doc.get("geometry"))),
            *((k, v) for k, v in (doc.get("properties") or {}).items() if v is not None),
        ]
    collections = [
        {
            "id": c["id"],
            "title": c.get("title", ""),
            "description": c.get("description", ""),
            "href": with_format(
                next(link["href"] for link in c["links"] if link["rel"] == "self"), "html"
            ),
        }
        for c in doc.get("collections", [])
    ]
    links = [
        {**link, "href": with_format(link["href"], "html"), "type": "text/html"}
        if link.get("type") in ("application/json", "application/geo+json")
        and link.get("rel") not in ("service-desc",)
        else link
        for link in doc.get("links", [])
        if link.get("rel") not in ("self", "alternate")
    ]
    return embed.TEMPLATES.get_template("ogc/page.html").render(
        lang="en",
        files={"embed.css": embed.asset(assets_dir, "embed.css")},
        title=title,
        description=doc.get("description", ""),
        root=with_format(root, "html"),
        trail=trail or [],
        json_href=with_format(url, "json"),
        json_label=json_label,
        links=links,
        collections=collections,
        conforms=doc.get("conformsTo", []),
        features=features,
        columns=columns,
        properties=properties,
    )
