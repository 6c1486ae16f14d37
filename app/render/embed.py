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
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from app.config import EmbedSettings
from app.render.glyphs import AssetsMissingError

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
