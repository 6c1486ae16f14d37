"""Pure ASGI middleware: request ids, access logs, the last-resort 500 and the body-size limit.

Pure ASGI rather than ``BaseHTTPMiddleware`` so that streaming responses, background tasks
and context variables behave as without middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLargeError, RequestTimeoutError
from app.observability import new_request_id, request_id_var
from app.problems import error_response, internal_error_response, outage

access_logger = logging.getLogger("sirkel.access")
error_logger = logging.getLogger("sirkel.errors")

REQUEST_ID_HEADER = "X-Request-ID"


class RequestContextMiddleware:
    """Gives every request an id (a valid incoming ``X-Request-ID`` is kept), returns it as a
    header on every response, writes one structured access-log line per request, and turns
    any exception that escaped the app into the generic 500 problem, with the traceback in
    the log only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            unavailable = outage(exc)
            if unavailable is None:
                error_logger.exception("unhandled exception")
            status = 500 if unavailable is None else unavailable.status_code
            if not response_started:
                response = (
                    internal_error_response(scope.get("path"))
                    if unavailable is None
                    else error_response(unavailable, scope.get("path"))
                )
                await response(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            client = scope.get("client")
            access_logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "query": scope.get("query_string", b"").decode("latin-1") or None,
                    "status": status,
                    "duration_ms": duration_ms,
                    "client": client[0] if client else None,
                },
            )
            request_id_var.reset(token)


_PHOTO_UPLOAD = re.compile(r"^/v1/listings/[^/]+/photos$")
_MULTIPART_ALLOWANCE = 64 * 1024


class BodySizeLimitMiddleware:
    """Answers 408 ``request_timeout`` when a part of the request body does not arrive within
    ``SIRKEL_HTTP__BODY_READ_TIMEOUT_S``, and 413 ``payload_too_large`` for request bodies
    above the limit: ``max_bytes``, or
    for the paths in the app's ``settings.http.max_body_bytes_by_path`` (read from
    ``app.state.settings`` as the idempotency middleware does) the limit given there.

    A declared ``Content-Length`` above the limit is refused before the app runs. A body
    without a length (chunked) is read up to the limit first and then replayed to the app,
    so the app never starts on a body that will turn out too large.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _limit(self, scope: Scope) -> int:
        state = getattr(scope.get("app"), "state", None)
        settings = getattr(state, "settings", None)
        if settings is None:
            return self.max_bytes
        by_path: dict[str, int] = settings.http.max_body_bytes_by_path
        path: str = scope["path"]
        if _PHOTO_UPLOAD.match(path):
            # One image up to the photo limit, plus the multipart envelope and the alt text.
            return int(settings.photos.max_upload_bytes) + _MULTIPART_ALLOWANCE
        if path == "/v1/repairs/import" and path not in by_path:
            return int(settings.imports.max_bytes)
        return by_path.get(path, self.max_bytes)

    def _too_large(self, scope: Scope, limit: int) -> ASGIApp:
        return error_response(
            PayloadTooLargeError(
                f"Request bodies are limited to {limit} bytes.", headers={"Connection": "close"}
            ),
            scope.get("path"),
        )

    def _timeout(self, scope: Scope) -> float:
        settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
        return float(settings.http.body_read_timeout_s) if settings is not None else 30.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timeout = self._timeout(scope)

        timed_out: RequestTimeoutError | None = None

        async def timed_receive() -> Message:
            # A client that stops sending its body mid-way would hold a worker and a
            # connection for ever (a slow-body attack): each part must come in time.
            nonlocal timed_out
            try:
                return await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                timed_out = RequestTimeoutError(
                    f"The request body did not arrive within {timeout:g} s.",
                    headers={"Connection": "close"},
                )
                raise timed_out from None

        started = False

        async def tracking_send(message: Message) -> None:
            # Whatever the app makes of the failed read (FastAPI: a 400 "error parsing the
            # body") is replaced by the 408 below.
            nonlocal started
            if timed_out is not None:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(RequestTimeoutError):
            await self._limited(scope, timed_receive, tracking_send)
        if timed_out is not None and not started:
            await error_response(timed_out, scope.get("path"))(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope)
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = limit + 1
            if declared > limit:
                await self._too_large(scope, limit)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return

        buffered: list[Message] = []
        total = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > limit:
                await self._too_large(scope, limit)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            if buffered:
                return buffered.pop(0)
            return await receive()

        await self.app(scope, replay, send)


# Response headers a browser script may read (configured origins and public reads alike).
EXPOSED_HEADERS = (
    "X-Request-ID",
    "Retry-After",
    "Location",
    "Idempotency-Replayed",
    "ETag",
    "RateLimit",
    "RateLimit-Policy",
    "Content-Disposition",  # the file name of a report's PDF or a data package
)
# Request headers a cross-origin public read may send: none carries credentials.
_PUBLIC_REQUEST_HEADERS = frozenset(
    {"accept", "accept-language", "content-language", "if-none-match", "x-request-id"}
)
_READS = frozenset({"GET", "HEAD"})


class PublicCorsMiddleware:
    """Public reads from any origin; everything else only from the configured origins.

    A ``GET`` or ``HEAD`` from any web page gets ``Access-Control-Allow-Origin: *`` (errors
    included, so that a map embedded on a municipality's site can read why a tile failed).
    With ``*`` a browser sends no credentials and reads no credentialed response, so such a
    page sees exactly what an anonymous caller sees. A preflight for a read with only harmless
    headers (``If-None-Match``, ``Accept-Language`` …) is answered here too. A request that
    carries credentials or writes needs a preflight that only ``SIRKEL_HTTP__CORS_ORIGINS``
    pass (Starlette's ``CORSMiddleware``, inside this one, answers those origins)."""

    def __init__(self, app: ASGIApp, *, configured: tuple[str, ...] = ()) -> None:
        self.app = app
        self.configured = frozenset(configured)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and origin in self.configured:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        # (Also without an Origin: a shared cache then keeps one answer for every page.)
        if (
            origin is not None
            and method == "OPTIONS"
            and "access-control-request-method" in headers
        ):
            await self._preflight(scope, receive, send, headers)
            return
        if method not in _READS:
            await self.app(scope, receive, send)
            return

        async def send_public(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = "*"
                out["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
                if "access-control-allow-credentials" in out:
                    del out["Access-Control-Allow-Credentials"]
            await send(message)

        await self.app(scope, receive, send_public)

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        requested = headers["access-control-request-method"].upper()
        wanted = {
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        }
        if requested not in _READS or not wanted <= _PUBLIC_REQUEST_HEADERS:
            # Not a public read: the browser gets no permission and refuses the request.
            await self.app(scope, receive, send)
            return
        allow = {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "GET, HEAD",
            "Access-Control-Max-Age": "600",
        }
        if wanted:
            allow["Access-Control-Allow-Headers"] = ", ".join(sorted(wanted))
        await Response(status_code=204, headers=allow)(scope, receive, send)
