"""Content negotiation on the ``Accept`` header (RFC 9110 §12.5.1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import Query, Request, Response
from pydantic import BaseModel

from app.errors import NotAcceptableError

JSON = "application/json"
GEOJSON = "application/geo+json"
CSV = "text/csv"


def parse_accept(header: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    return ranges


def _matches(media_range: str, offered: str) -> int:
    """Specificity of the match: 3 exact, 2 type/*, 1 */*, 0 none."""
    if media_range == offered:
        return 3
    main, _, _ = offered.partition("/")
    if media_range == f"{main}/*":
        return 2
    if media_range == "*/*":
        return 1
    return 0


GeoJsonFormat = Annotated[
    Literal["json", "geojson"] | None,
    Query(
        description="`geojson` or `json`, for clients that cannot set `Accept` (GDAL, QGIS, a "
        "browser); an `Accept` naming one of the two exactly wins"
    ),
]
CsvFormat = Annotated[
    Literal["json", "csv"] | None,
    Query(description="`csv` or `json`, for clients that cannot set `Accept`"),
]

# ``?f=`` names a format where a client cannot set ``Accept`` (a URL typed into GDAL, QGIS or a
# browser's address bar).
FORMATS: dict[str, str] = {"json": JSON, "geojson": GEOJSON, "csv": CSV}


def negotiate(request: Request, offered: list[str]) -> str:
    """The offered media type the client prefers; the first offered when it does not say.

    An ``Accept`` that names one of the offered types exactly wins; otherwise ``?f=json``,
    ``f=geojson`` or ``f=csv`` chooses (the routes declare which, so an unknown one is a
    422 before this runs); otherwise ``Accept`` with its wildcards. Raises
    ``NotAcceptableError`` (406) when the client accepts none of them.
    """
    header = request.headers.get("accept")
    ranges = parse_accept(header) if header and header.strip() else []
    named = {r for r, q in ranges if q > 0} & set(offered)
    wanted = FORMATS.get(request.query_params.get("f", ""))
    if not named and wanted in offered:
        assert wanted is not None
        return wanted
    if not ranges:
        return offered[0]
    best: tuple[float, int, int] | None = None
    choice: str | None = None
    for index, media in enumerate(offered):
        # The q of the most specific range that matches this type decides (RFC 9110).
        matches = [(spec, q) for r, q in ranges if (spec := _matches(r, media))]
        if not matches:
            continue
        spec, q = max(matches)
        if q <= 0:
            continue
        # Higher q first; then an explicitly named type over one reached by a wildcard;
        # then the server's order.
        key = (q, spec, -index)
        if best is None or key > best:
            best, choice = key, media
    if choice is None:
        raise NotAcceptableError(f"This resource is available as {', '.join(offered)}.")
    return choice


async def feature_or_json(
    request: Request,
    *,
    feature: Callable[[], Awaitable[bytes]],
    read: Callable[[], Awaitable[BaseModel]],
    cache_control: str,
) -> Response:
    """A reference area as an RFC 7946 Feature when the client asks for GeoJSON, else as its
    JSON read model; both cached alike and varying on ``Accept``."""
    headers = {"Cache-Control": cache_control, "Vary": "Accept"}
    if negotiate(request, [JSON, GEOJSON]) == GEOJSON:
        return Response(content=await feature(), media_type=GEOJSON, headers=headers)
    return Response(content=(await read()).model_dump_json(), media_type=JSON, headers=headers)
