"""/embed — the sharing map a municipality puts on its own site, and the page that makes
the iframe snippet.

``GET /embed/map`` draws the listings of a kommune or fylke from Sirkel's vector tiles on a
basemap of Sirkel's own kommune and fylke boundaries (or an operator's raster tiles), with
labelled clusters, popups, filter chips and a list of what is in view for keyboard and
screen-reader users. ``GET /embed`` chooses the kommune and filters, previews the map and
gives the snippet. Everything the pages load comes from Sirkel (``app.render.embed``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from app.api.deps import ClockDep, SettingsDep
from app.api.listing_filters import CategoryQuery, KindQuery, ModeQuery
from app.api.params import KOMMUNENUMMER_PATTERN, FylkeQuery, KommuneQuery
from app.config import Settings
from app.db import SessionDep
from app.errors import (
    EmbedAssetsMissingError,
    GlyphsNotFoundError,
    NotFoundError,
    UnknownCategoryError,
    UnknownFylkeError,
    UnknownKommuneError,
    problem_responses,
)
from app.render import embed as pages
from app.render import glyphs
from app.services import embed as service
from app.services import tile
from app.services.listing import ListingFilters

router = APIRouter(prefix="/embed", tags=["embed"])

HTML = "text/html"
PBF = "application/x-protobuf"
YEAR = "public, max-age=31536000, immutable"
# The pages name the current assets' hashes; a few minutes of caching lets a new version in.
PAGE_CACHE_CONTROL = "public, max-age=300"
GLYPH_CACHE_CONTROL = "public, max-age=86400"


class Lang(StrEnum):
    nb = "nb"
    en = "en"


LangQuery = Annotated[Lang, Query(description="The page's language: Norwegian bokmål or English")]
_HTML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {HTML: {"schema": {"type": "string"}}},
        "headers": {
            "Content-Security-Policy": {
                "description": "Only Sirkel's own origin (and a configured basemap host); "
                "frame-ancestors from SIRKEL_EMBED__FRAME_ANCESTORS",
                "schema": {"type": "string"},
            }
        },
    }
}


def _assets(settings: Settings) -> dict[str, pages.Asset]:
    try:
        return pages.assets(settings.embed.assets_dir)
    except glyphs.AssetsMissingError as exc:
        raise EmbedAssetsMissingError(str(exc)) from None


def _page(html: str, settings: Settings) -> HTMLResponse:
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": pages.content_security_policy(settings.embed),
            "Cache-Control": PAGE_CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
        },
    )


@router.get(
    "/map",
    response_class=HTMLResponse,
    summary="The embeddable map of a kommune's listings",
    description="An HTML page to put in an `<iframe>`: fits the kommune (or fylke, or all of "
    "Norway), draws the active listings matching the filters from `/v1/tiles/listings` — "
    f"counted clusters below zoom {tile.POINTS_MIN_ZOOM}, points with popups above — on "
    "Sirkel's own kommune and fylke boundaries, with filter chips and a list of the listings "
    "in view. It loads nothing from elsewhere, unless the operator set a raster basemap "
    "(`SIRKEL_EMBED__BASEMAP_TILES`). Popups link to `SIRKEL_EMBED__LISTING_URL_TEMPLATE` "
    "with the listing's id. Any site may frame it unless `SIRKEL_EMBED__FRAME_ANCESTORS` "
    "says otherwise. `GET /embed` builds the snippet.",
    responses={
        **_HTML_RESPONSE,
        **problem_responses(UnknownKommuneError, UnknownFylkeError, UnknownCategoryError, 422),
        **problem_responses(EmbedAssetsMissingError),
    },
)
async def embed_map(
    session: SessionDep,
    settings: SettingsDep,
    kommune: KommuneQuery = None,
    fylke: FylkeQuery = None,
    kind: KindQuery = None,
    mode: ModeQuery = None,
    category: CategoryQuery = None,
    lang: LangQuery = Lang.nb,
) -> HTMLResponse:
    files = _assets(settings)
    filters = ListingFilters(
        kind=kind.value if kind else None,
        mode=mode.value if mode else None,
        category=category,
        kommune=kommune,
        fylke=fylke,
    )
    view = await service.map_view(session, filters)
    html = pages.map_page(
        view, filters=filters, lang=lang.value, files=files, settings=settings.embed
    )
    return _page(html, settings)


@router.get(
    "",
    response_class=HTMLResponse,
    summary="Make a map for your web site",
    description="An HTML page for a municipality's web editor: choose the kommune (or fylke), "
    "kind, mode and language, see the map as it will be, and copy the `<iframe>` snippet "
    "for `GET /embed/map`.",
    responses={**_HTML_RESPONSE, **problem_responses(EmbedAssetsMissingError, 422)},
)
async def embed_builder(
    session: SessionDep, settings: SettingsDep, lang: LangQuery = Lang.nb
) -> HTMLResponse:
    files = _assets(settings)
    html = pages.render(
        "builder.html",
        lang=lang.value,
        words=pages.STRINGS[lang.value],
        files=files,
        fylker=await service.kommune_choices(session),
        kinds=pages.KINDS,
        modes=pages.MODES,
        languages=pages.LANGUAGES,
    )
    return _page(html, settings)


@router.get(
    "/impact",
    response_class=HTMLResponse,
    summary="A kommune's numbers to embed",
    description="An HTML page to put in an `<iframe>` beside the map: the kommune's headline "
    "indicators for the last 12 months (reuse handovers, repairs, loans, emissions avoided by "
    "reuse) in total and per 1,000 inhabitants beside its fylke and Norway, with a small "
    "chart of each month. Every figure is what `GET /v1/impact` answers for the same place "
    "and months, suppressed by the same rules (a withheld figure is `•`). No script.",
    responses={
        **_HTML_RESPONSE,
        **problem_responses(UnknownKommuneError, 422),
        **problem_responses(EmbedAssetsMissingError),
    },
)
async def embed_impact(
    session: SessionDep,
    settings: SettingsDep,
    now: ClockDep,
    kommune: Annotated[
        str,
        Query(pattern=KOMMUNENUMMER_PATTERN, description="Kommunenummer", examples=["0301"]),
    ],
    lang: LangQuery = Lang.nb,
) -> HTMLResponse:
    files = _assets(settings)
    view = await service.impact_view(session, kommune=kommune, now=now)
    return _page(pages.impact_page(view, lang=lang.value, files=files), settings)


@router.get(
    "/glyphs/{fontstack}/{range}.pbf",
    response_class=Response,
    summary="Glyphs for map labels",
    description="Signed-distance-field glyphs of 256 code points (`0-255`, `256-511`, …) in "
    "MapLibre's protobuf format, made by Sirkel from the Noto Sans font (SIL OFL 1.1) of a "
    "pinned npm package: the `glyphs` of the embedded map's style. Font stacks: "
    f"{', '.join(f'`{name}`' for name in glyphs.FONT_STACKS)}; in a comma-separated stack "
    "the first known font is used. A range the font has nothing in is a valid, empty "
    "response.",
    responses={
        200: {"content": {PBF: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(GlyphsNotFoundError, EmbedAssetsMissingError, 422),
    },
)
async def embed_glyphs(
    settings: SettingsDep,
    fontstack: Annotated[str, Path(max_length=200, description="Font names, comma-separated")],
    range: Annotated[  # the URL template's name, as MapLibre fills it
        str,
        Path(
            pattern=r"^[0-9]{1,5}-[0-9]{1,5}$",
            description="First and last code point",
            examples=["0-255"],
        ),
    ],
) -> Response:
    font = next(
        (name.strip() for name in fontstack.split(",") if name.strip() in glyphs.FONT_STACKS),
        None,
    )
    first, last = (int(part) for part in range.split("-"))
    if font is None:
        raise GlyphsNotFoundError(f"No font {fontstack!r}; known: {', '.join(glyphs.FONT_STACKS)}.")
    if first % glyphs.RANGE or last != first + glyphs.RANGE - 1 or last > glyphs.MAX_CODE_POINT:
        raise GlyphsNotFoundError(
            f"{range} is no glyph range: ranges are 256 code points from a multiple of 256, "
            "up to 65535."
        )
    try:
        content = glyphs.glyph_range(settings.embed.assets_dir, font, first)
    except glyphs.AssetsMissingError as exc:
        raise EmbedAssetsMissingError(str(exc)) from None
    return Response(content, media_type=PBF, headers={"Cache-Control": GLYPH_CACHE_CONTROL})


@router.get(
    "/assets/{digest}/{name}",
    include_in_schema=False,
    responses=problem_responses(NotFoundError, EmbedAssetsMissingError),
)
async def embed_asset(
    settings: SettingsDep,
    digest: str = Path(max_length=16),
    name: str = Path(max_length=64),
) -> Response:
    if name not in pages.ASSET_NAMES:
        raise NotFoundError(f"No map asset {name}.")
    file = _assets(settings)[name]
    if digest != file.digest:
        raise NotFoundError(f"No map asset {digest}/{name}: the current one is {file.url}.")
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Cache-Control": YEAR, "X-Content-Type-Options": "nosniff"},
    )
