"""Request budgets on every route (pure ASGI middleware), with the IETF ``RateLimit-Policy`` and
``RateLimit`` headers (draft-ietf-httpapi-ratelimit-headers) and ``429 rate_limited``.

**Policies.** Each request falls in one policy by route: ``register`` (new accounts, per hour),
``token`` (sign-in and refresh), ``search`` (``GET /v1/listings``), ``tiles``, ``imports`` (ORDS
files, per hour), ``writes`` (every other POST, PUT, PATCH and DELETE) and ``reads`` (every
other GET). Budgets come from ``SIRKEL_RATE_LIMITS__*``.

**The caller** is the person (a valid access token's subject) or the API key, and otherwise the
client address — which is the connection's peer unless ``SIRKEL_HTTP__TRUSTED_PROXIES`` says a
proxy's ``X-Forwarded-For`` may be believed (``app.main``), so a sender cannot pick a fresh
address per request. A token is verified before it counts as a caller: a forged one cannot
spend someone else's budget.

**Counting** is a sliding window approximated from two fixed windows (the previous one
weighted by how much of it still overlaps), kept in this process's memory: about a microsecond
per request and no database round trip, which would cost more than the request it limits on a
cached tile. The price is that budgets are per process (documented with the settings); at most
``MAX_KEYS`` callers are remembered, the longest idle forgotten first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import RateLimitSettings, Settings
from app.errors import RateLimitedError
from app.problems import error_response
from app.security import InvalidAccessTokenError, decode_access_token, sha256_hex

MAX_KEYS = 100_000
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    limit: int
    window_s: int


def policy_for(method: str, path: str, limits: RateLimitSettings) -> Policy | None:
    """The policy a request spends from (None: not limited — preflights, health probes)."""
    if method == "OPTIONS" or path in ("/healthz", "/readyz", "/metrics"):
        return None
    if method == "POST":
        if path == "/v1/auth/register":
            return Policy("register", limits.register_per_hour, 3600)
        if path in ("/v1/auth/token", "/v1/auth/refresh"):
            return Policy("token", limits.token_per_minute, 60)
        if path == "/v1/repairs/import":
            return Policy("imports", limits.imports_per_hour, 3600)
    if method in _WRITES:
        return Policy("writes", limits.writes_per_minute, 60)
    if path == "/v1/listings":
        return Policy("search", limits.search_per_minute, 60)
    if path.startswith("/v1/tiles/"):
        return Policy("tiles", limits.tiles_per_minute, 60)
    return Policy("reads", limits.reads_per_minute, 60)


class SlidingWindow:
    """Requests per (policy, caller) over a sliding window, from two fixed windows."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        # (policy, caller) -> [window number, count in it, count in the one before]
        self.counts: OrderedDict[tuple[str, str], list[int]] = OrderedDict()

    def hit(self, policy: Policy, caller: str) -> tuple[bool, int, int]:
        """(allowed, remaining, seconds until the window moves on)."""
        now = self.clock()
        window = int(now // policy.window_s)
        key = (policy.name, caller)
        entry = self.counts.get(key)
        if entry is None:
            entry = [window, 0, 0]
            self.counts[key] = entry
            if len(self.counts) > MAX_KEYS:
                self.counts.popitem(last=False)
        else:
            self.counts.move_to_end(key)
        if entry[0] != window:
            entry[2] = entry[1] if entry[0] == window - 1 else 0
            entry[0], entry[1] = window, 0
        elapsed = now - window * policy.window_s
        overlap = 1 - elapsed / policy.window_s
        used = entry[1] + entry[2] * overlap
        reset = max(1, math.ceil(policy.window_s - elapsed))
        if used + 1 > policy.limit:
            return False, 0, reset
        entry[1] += 1
        return True, max(0, math.floor(policy.limit - used - 1)), reset


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.window = SlidingWindow()

    def _caller(self, scope: Scope, headers: Headers) -> str:
        api_key = headers.get("x-api-key")
        if api_key:
            return "key:" + sha256_hex(api_key)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token:
            try:
                claims = decode_access_token(token.strip(), self.settings.auth)
            except InvalidAccessTokenError:
                pass
            else:
                return f"person:{claims.person_id}"
        client = scope.get("client")
        return f"address:{client[0] if client else '-'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self.settings.rate_limits
        if scope["type"] != "http" or not limits.enabled:
            await self.app(scope, receive, send)
            return
        policy = policy_for(scope["method"], scope["path"], limits)
        if policy is None:
            await self.app(scope, receive, send)
            return
        caller = self._caller(scope, Headers(scope=scope))
        allowed, remaining, reset = self.window.hit(policy, caller)
        described = f'"{policy.name}";q={policy.limit};w={policy.window_s}'
        state = f'"{policy.name}";r={remaining};t={reset}'
        if not allowed:
            error = RateLimitedError(
                f"The {policy.name} budget of {policy.limit} requests per {policy.window_s} s "
                "is spent; try again after Retry-After seconds.",
                retry_after_s=reset,
            )
            error.headers |= {"RateLimit-Policy": described, "RateLimit": state}
            await error_response(error, scope["path"])(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["RateLimit-Policy"] = described
                out["RateLimit"] = state
            await send(message)

        await self.app(scope, receive, with_headers)
