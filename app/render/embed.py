"""The embeddable map's pages: templates, the files they load, their security policy.

Everything a page loads comes from Sirkel's own origin:

- MapLibre GL JS's CSP build (``maplibre-gl-csp.js`` and its worker, which needs no ``blob:``
  worker) and its stylesheet, from the ``maplibre-gl`` npm package that ``web/package-lock.json``
  pins and ``scripts/dev.sh web`` installs into ``web/node_modules``;
- the pages' own script and style from ``app/render/static/embed/``;
- label glyphs made from the ``@fontsource/noto-sans`` package (``app.render.glyphs``);
- vector tiles of listings and of kommune and fylke boundaries (``/v1/tiles/``).

Each file is served under ``/embed/assets/{hash}/{name}``, where the hash is the first 16 hex
digits of the file's SHA-256: a new version is a new URL, so a file may be cached for a year;
the pages also carry its SHA-384 as Subresource Integrity.

The pages' ``Content-Security-Policy`` allows scripts, styles, fonts and connections from
``'self'`` only (plus an operator's basemap host when ``SIRKEL_EMBED__BASEMAP_TILES`` is
set), no inline script, and ``frame-ancestors`` from ``SIRKEL_EMBED__FRAME_ANCESTORS``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from app.config import EmbedSettings
from app.render.glyphs import AssetsMissingError
from app.render.svg import SUPPRESSED, Point, month_chart
from app.services import tile
from app.services.embed import ImpactView, MapView
from app.services.impact.suppression import MIN_HOUSEHOLDS, MIN_RECORDS
from app.services.listing import ListingFilters

_STATIC = Path(__file__).parent / "static" / "embed"

# name served → (where it is: "npm" under the assets dir, or "own" under static/embed,
# its path there, its media type)
_FILES: dict[str, tuple[str, str, str]] = {
    "maplibre-gl.js": ("npm", "maplibre-gl/dist/maplibre-gl-csp.js", "text/javascript"),
    "maplibre-gl-worker.js": (
        "npm",
        "maplibre-gl/dist/maplibre-gl-csp-worker.js",
        "text/javascript",
    ),
    "maplibre-gl.css": ("npm", "maplibre-gl/dist/maplibre-gl.css", "text/css"),
    "map.js": ("own", "map.js", "text/javascript"),
    "builder.js": ("own", "builder.js", "text/javascript"),
    "embed.css": ("own", "embed.css", "text/css"),
}
ASSET_NAMES = frozenset(_FILES)


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    content: bytes
    media_type: str
    digest: str  # first 16 hex digits of the SHA-256: the URL's version
    integrity: str  # "sha384-…" for the integrity attribute

    @property
    def url(self) -> str:
        return f"/embed/assets/{self.digest}/{self.name}"


@cache
def asset(assets_dir: Path, name: str) -> Asset:
    origin, relative, media = _FILES[name]
    path = (assets_dir if origin == "npm" else _STATIC) / relative
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise AssetsMissingError(
            f"{path} is missing: install the map's browser assets with `scripts/dev.sh web` "
            "(npm ci in web/)"
        ) from None
    return Asset(
        name=name,
        content=content,
        media_type=f"{media}; charset=utf-8",
        digest=hashlib.sha256(content).hexdigest()[:16],
        integrity="sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode(),
    )


def assets(assets_dir: Path) -> dict[str, Asset]:
    return {name: asset(assets_dir, name) for name in _FILES}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: EmbedSettings) -> str:
    extra = f" {_origin(settings.basemap_tiles)}" if settings.basemap_tiles else ""
    ancestors = " ".join(dict.fromkeys([*settings.frame_ancestors, "'self'"]))
    if "*" in settings.frame_ancestors:
        ancestors = "*"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; "
        f"img-src 'self' data: blob:{extra}; connect-src 'self'{extra}; worker-src 'self'; "
        "frame-src 'self'; "
        f"base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    )


# --- words ---------------------------------------------------------------------------------

LANGUAGES = ("nb", "en")
KINDS = ("item", "repair_service", "material", "energy", "space")
MODES = ("give", "sell", "lend", "rent", "wanted")

STRINGS: dict[str, dict[str, Any]] = {
    "nb": {
        "title_place": "Del, lån og gjenbruk i {place}",
        "title_norway": "Del, lån og gjenbruk i Norge",
        "map_label": "Kart over annonser",
        "filters": "Filtrer",
        "kind": "Type",
        "mode": "Måte",
        "all": "Alle",
        "kinds": {
            "item": "Ting",
            "repair_service": "Reparasjon",
            "material": "Materialer",
            "energy": "Energi",
            "space": "Lokaler",
        },
        "modes": {
            "give": "Gis bort",
            "sell": "Selges",
            "lend": "Lånes ut",
            "rent": "Leies ut",
            "wanted": "Ønskes",
        },
        "list_heading": "Annonser i kartutsnittet",
        "in_view_one": "1 annonse i kartutsnittet",
        "in_view_many": "{count} annonser i kartutsnittet",
        "none_in_view": "Ingen annonser i kartutsnittet",
        "cluster_one": "1 annonse her",
        "cluster": "{count} annonser her",
        "zoom_in": "Zoom inn",
        "show_on_map": "Vis i kartet",
        "open": "Åpne annonsen",
        "photo_of": "Bilde: {title}",
        "builder_title": "Lag et kart til nettsiden",
        "builder_intro": "Velg kommune og filtre, se kartet og kopier koden til nettsiden.",
        "kommune": "Kommune",
        "fylke": "Fylke",
        "whole_norway": "Hele Norge",
        "language": "Språk",
        "snippet": "Kode til nettsiden",
        "copy_button": "Kopier",
        "copied": "Kopiert",
        "preview": "Forhåndsvisning",
        "numbers_snippet": "Kode for kommunens tall (siste 12 måneder)",
        "numbers_only_kommune": "Velg en kommune for å få tallene.",
        "maplibre": {
            "Map.Title": "Kart",
            "NavigationControl.ZoomIn": "Zoom inn",
            "NavigationControl.ZoomOut": "Zoom ut",
            "NavigationControl.ResetBearing": "Tilbakestill retningen",
            "Popup.Close": "Lukk",
            "AttributionControl.ToggleAttribution": "Vis eller skjul kildene",
            "CooperativeGesturesHandler.WindowsHelpText": "Hold Ctrl og rull for å zoome",
            "CooperativeGesturesHandler.MacHelpText": "Hold ⌘ og rull for å zoome",
            "CooperativeGesturesHandler.MobileHelpText": "Bruk to fingre for å flytte kartet",
        },
    },
    "en": {
        "title_place": "Share, borrow and reuse in {place}",
        "title_norway": "Share, borrow and reuse in Norway",
        "map_label": "Map of listings",
        "filters": "Filter",
        "kind": "Kind",
        "mode": "Mode",
        "all": "All",
        "kinds": {
            "item": "Items",
            "repair_service": "Repairs",
            "material": "Materials",
            "energy": "Energy",
            "space": "Spaces",
        },
        "modes": {
            "give": "Free",
            "sell": "For sale",
            "lend": "To borrow",
            "rent": "To rent",
            "wanted": "Wanted",
        },
        "list_heading": "Listings in the map view",
        "in_view_one": "1 listing in the map view",
        "in_view_many": "{count} listings in the map view",
        "none_in_view": "No listings in the map view",
        "cluster_one": "1 listing here",
        "cluster": "{count} listings here",
        "zoom_in": "Zoom in",
        "show_on_map": "Show on the map",
        "open": "Open the listing",
        "photo_of": "Photo: {title}",
        "builder_title": "Make a map for your web site",
        "builder_intro": "Choose a kommune and filters, preview the map and copy the code.",
        "kommune": "Kommune",
        "fylke": "Fylke",
        "whole_norway": "All of Norway",
        "language": "Language",
        "snippet": "Code for your web site",
        "copy_button": "Copy",
        "copied": "Copied",
        "preview": "Preview",
        "numbers_snippet": "Code for the kommune's numbers (the last 12 months)",
        "numbers_only_kommune": "Choose a kommune for its numbers.",
        "maplibre": {},
    },
}


TEMPLATES = Environment(
    loader=PackageLoader("app.render", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def script_json(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` as
    ``\\u`` escapes, so no text in it (a listing title, a place name) can close the element."""
    text = json.dumps(value, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def render(template: str, **context: Any) -> str:
    return TEMPLATES.get_template(f"embed/{template}").render(**context)


# --- a kommune's numbers (GET /embed/impact) --------------------------------------------------

MONTHS = {
    "nb": ("jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
IMPACT_WORDS: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Deling, gjenbruk og reparasjon i {kommune}",
        "period": "Siste 12 måneder: {start}\u2013{end}",
        "indicator": "Indikator",
        "total": "{kommune}, i alt",
        "per_1000": "Per 1 000 innbyggere",
        "norway": "Norge",
        "fylke": "fylke",
        "trend": "Måned for måned i {kommune}",
        "suppressed": "• skjult: færre enn {records} registreringer eller færre enn {households} "
        "husholdninger, og det som ellers kunne regnes ut fra dem (samme regler som /v1/impact).",
        "population": "Folketall: SSB {year}.",
        "source": "Tallene som data",
        "chart_desc": "{name} i {kommune} per måned fra {start} til {end}.",
    },
    "en": {
        "title": "Sharing, reuse and repair in {kommune}",
        "period": "The last 12 months: {start}\u2013{end}",
        "indicator": "Indicator",
        "total": "{kommune}, total",
        "per_1000": "Per 1,000 inhabitants",
        "norway": "Norway",
        "fylke": "fylke",
        "trend": "Month by month in {kommune}",
        "suppressed": "• withheld: fewer than {records} records or fewer than {households} "
        "households, and whatever could be worked out from them (the rules of /v1/impact).",
        "population": "Population: Statistics Norway {year}.",
        "source": "These figures as data",
        "chart_desc": "{name} in {kommune} by month from {start} to {end}.",
    },
}
UNITS = {
    "nb": {"count": "antall", "t CO2e": "tonn CO₂e"},
    "en": {"count": "count", "t CO2e": "t CO₂e"},
}


def figure_text(value: Decimal | None, decimals: int, lang: str) -> str:
    """A number as the page's language writes it (bokmål: 1 234,5 with a no-break space)."""
    if value is None:
        return "•"
    text = f"{value:,.{decimals}f}"
    if lang == "nb":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text.replace("-", "\u2212")


def month_label(month: date, lang: str) -> str:
    return f"{MONTHS[lang][month.month - 1]} {month.year}"


def trend_svg(
    chart_id: str,
    *,
    title: str,
    desc: str,
    months: list[tuple[date, Decimal | None, bool]],
    decimals: int,
    lang: str,
) -> Markup:
    """A small month-by-month chart; a withheld month is a hatched stub with its mark."""
    points = [
        Point(
            label=MONTHS[lang][month.month - 1],
            value=value,
            text=figure_text(value, decimals, lang) if value is not None else "",
            mark=SUPPRESSED if suppressed else "",
        )
        for month, value, suppressed in months
    ]
    return Markup(
        month_chart(chart_id, title=title, desc=desc, points=points, width=280, height=96)
    )


LISTING_API_URL = "/v1/listings/{id}"


def map_page(
    view: MapView,
    *,
    filters: ListingFilters,
    lang: str,
    files: dict[str, Asset],
    settings: EmbedSettings,
) -> str:
    """The map page: its words, and the settings map.js reads from the page (the tiles,
    glyphs and worker it loads, the filters, the place to fit, the link for popups)."""
    words = STRINGS[lang]
    chosen = {
        "kommune": filters.kommune,
        "fylke": filters.fylke,
        "kind": filters.kind,
        "mode": filters.mode,
        "category": filters.category,
    }
    config = {
        "lang": lang,
        "strings": words,
        "filters": chosen,
        "bounds": list(view.bounds),
        "tiles": {
            "listings": "/v1/tiles/listings/{z}/{x}/{y}.mvt",
            "boundaries": "/v1/tiles/kommuner/{z}/{x}/{y}.mvt",
            "glyphs": "/embed/glyphs/{fontstack}/{range}.pbf",
        },
        "zoom": {
            "points": tile.POINTS_MIN_ZOOM,
            "boundaries_max": tile.BOUNDARY_MAX_ZOOM,
            "kommuner": tile.KOMMUNE_MIN_ZOOM,
            "kommune_labels": tile.KOMMUNE_LABEL_MIN_ZOOM,
        },
        "worker": files["maplibre-gl-worker.js"].url,
        "listing_url": settings.listing_url_template or LISTING_API_URL,
        "basemap": (
            {
                "tiles": settings.basemap_tiles,
                "attribution": settings.basemap_attribution,
                "max_zoom": settings.basemap_max_zoom,
            }
            if settings.basemap_tiles
            else None
        ),
        "attribution": "© Kartverket (CC BY 4.0) · Sirkel",
        "kinds": KINDS,
        "modes": MODES,
    }
    title = words["title_place"].format(place=view.place) if view.place else words["title_norway"]
    return render(
        "map.html",
        lang=lang,
        title=title,
        words=words,
        files=files,
        config=script_json(config),
        kinds=KINDS,
        modes=MODES,
        filters=chosen,
    )


def impact_page(view: ImpactView, *, lang: str, files: dict[str, Asset]) -> str:
    words = IMPACT_WORDS[lang]
    start, end = month_label(view.month_from, lang), month_label(view.month_to, lang)
    rows = []
    for row in view.rows:
        ind = row.indicator
        name = ind.name_nb if lang == "nb" else ind.name_en
        per_decimals = ind.decimals or 2
        # Every month of the span; a month without a row counted nothing (zero).
        by_month = {m.keys["month"]: m for m in row.months}
        months: list[tuple[date, Decimal | None, bool]] = []
        month = view.month_from
        while month <= view.month_to:
            found = by_month.get(f"{month:%Y-%m}")
            if found is not None and found.suppressed:
                months.append((month, None, True))
            else:
                value = found.value if found is not None else None
                months.append((month, value if value is not None else Decimal(0), False))
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        rows.append(
            {
                "id": ind.id,
                "name": name,
                "unit": UNITS[lang].get(ind.unit, ind.unit),
                "total": figure_text(row.kommune.value, ind.decimals, lang),
                "kommune": figure_text(row.kommune.per_1000, per_decimals, lang),
                "fylke": figure_text(row.fylke.per_1000, per_decimals, lang),
                "norway": figure_text(row.norway.per_1000, per_decimals, lang),
                "chart": trend_svg(
                    f"trend-{ind.id.replace('.', '-')}",
                    title=f"{name} ({words['trend'].format(kommune=view.kommune)})",
                    desc=words["chart_desc"].format(
                        name=name, kommune=view.kommune, start=start, end=end
                    ),
                    months=months,
                    decimals=ind.decimals,
                    lang=lang,
                ),
            }
        )
    return render(
        "impact.html",
        lang=lang,
        words=words,
        files=files,
        title=words["title"].format(kommune=view.kommune),
        period=words["period"].format(start=start, end=end),
        total_heading=words["total"].format(kommune=view.kommune),
        trend_heading=words["trend"].format(kommune=view.kommune),
        view=view,
        rows=rows,
        suppressed=words["suppressed"].format(records=MIN_RECORDS, households=MIN_HOUSEHOLDS),
        population=words["population"].format(year=view.population_year)
        if view.population_year
        else "",
        data_url="/v1/impact?kommune="
        + view.kommunenummer
        + "&indicator="
        + ",".join(r.indicator.id for r in view.rows),
    )
