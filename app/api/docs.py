"""/docs and /redoc without the internet: Swagger UI and ReDoc served by Sirkel itself.

The assets come from the ``fastapi-offline`` wheel (pinned in constraints.txt), used only as a
package of files: Swagger UI 5 (which reads OpenAPI 3.1) and ReDoc 2, both MIT/Apache
licensed. They are served under a path that names the package's version, so they are cached
for a year and a new version is a new URL. The pages load nothing from elsewhere — no CDN, no
Google Fonts, no favicon from fastapi.tiangolo.com, no Swagger validator badge — and say so
in their Content-Security-Policy, which a municipality's own policy can rely on.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata, resources

from fastapi import APIRouter, Path, Request, Response
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)

from app.errors import NotFoundError, problem_responses

router = APIRouter(include_in_schema=False)

ASSETS_PACKAGE = "fastapi_offline"
ASSETS_VERSION = metadata.version("fastapi-offline")
ASSETS_PREFIX = f"/static/docs/{ASSETS_VERSION}"
_MEDIA = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
# Inline scripts start the UIs; everything else is Sirkel's own. ReDoc renders its search in
# a worker built from a blob, and both draw some images as data: URLs.
CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_OAUTH2_REDIRECT = "/docs/oauth2-redirect"


@lru_cache(maxsize=len(_MEDIA))
def _asset(name: str) -> bytes:
    return (resources.files(ASSETS_PACKAGE) / "static" / name).read_bytes()


def _secured(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/docs")
async def swagger_ui(request: Request) -> Response:
    return _secured(
        get_swagger_ui_html(
            openapi_url=str(request.app.openapi_url),
            title="Sirkel API",
            swagger_js_url=f"{ASSETS_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PREFIX}/favicon.png",
            oauth2_redirect_url=_OAUTH2_REDIRECT,
            # No badge that asks validator.swagger.io about the document.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )
    )


@router.get(_OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> Response:
    return _secured(get_swagger_ui_oauth2_redirect_html())


@router.get("/redoc")
async def redoc(request: Request) -> Response:
    return _secured(
        get_redoc_html(
            openapi_url=str(request.app.openapi_url),
            title="Sirkel API",
            redoc_js_url=f"{ASSETS_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PREFIX}/favicon.png",
            with_google_fonts=False,
        )
    )


@router.get(
    "/static/docs/{version}/{name}",
    responses=problem_responses(NotFoundError),
)
async def docs_asset(
    version: str = Path(max_length=32), name: str = Path(max_length=64)
) -> Response:
    media = _MEDIA.get(name)
    if media is None or version != ASSETS_VERSION:
        raise NotFoundError(f"No documentation asset {version}/{name}.")
    return Response(
        _asset(name),
        media_type=media,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
