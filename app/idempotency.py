"""``Idempotency-Key`` for every POST (pure ASGI middleware).

A client that sends ``Idempotency-Key: <1-255 printable ASCII characters>`` with a POST may
retry it safely:

- the same key with the same request (method, path, query, body) replays the first response,
  with ``Idempotency-Replayed: true``, and runs nothing again;
- the same key with a different request is ``422 idempotency_key_reused``;
- the same key while the first request is still running is ``409 idempotency_in_progress``
  (the response is held until its record is stored, so a retry sent after the answer arrived
  never sees the first request as running);
- a first attempt that ended in a 5xx is forgotten, so the retry runs for real — unless its
  effect had committed: then the retry is ``409 idempotency_key_applied``, and never runs
  twice.

**Exactly once across crashes.** The request's own database transaction marks the key
``applied_at`` (``app.db.get_session``, just before its commit), so the effect and the mark
commit together. The response is then stored in a second short transaction before it is sent.
If the process dies between the two, the key stays in progress with its mark; a retry gets
``409 idempotency_in_progress`` for the first five minutes and ``409
idempotency_key_applied`` after — never a second run (an unmarked claim older than five minutes
was abandoned before its commit, and a retry takes it over).

Keys belong to the caller: the person (verified access token), the API key, or for
unauthenticated requests the client address, so no one can replay someone else's response.
A replay re-checks the credentials first: a token whose session ended (logout, erasure) or a
revoked API key gets the 401 a fresh request would, never the stored response. Records expire
after 24 hours. Responses that carry a secret (``Cache-Control: no-store``:
tokens, a new API key) are never stored; a retry of one is ``409 idempotency_key_consumed``,
saying the first request succeeded but its secret cannot be shown again. Sign-in, refresh and
logout accept the header and ignore it: their outcome is a secret or single-use by design.

Each other step of the bookkeeping is its own short transaction, committed before the request
runs, so a concurrent retry sees the claim.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import AuthSettings
from app.errors import (
    AppError,
    IdempotencyInProgressError,
    IdempotencyKeyAppliedError,
    IdempotencyKeyConsumedError,
    IdempotencyKeyReusedError,
    InvalidApiKeyError,
    InvalidIdempotencyKeyError,
    InvalidTokenError,
)
from app.problems import error_response
from app.repositories.auth import AuthRepository
from app.repositories.idempotency import IdempotencyRepository
from app.security import InvalidAccessTokenError, decode_access_token, sha256_hex

HEADER = "idempotency-key"
# Where the claim waits in the request's state for ``app.db.get_session``.
CLAIM_STATE = "idempotency_claim"
REPLAYED_HEADER = "Idempotency-Replayed"
TTL = timedelta(hours=24)
# An in-progress claim older than this was abandoned (a crashed worker); a retry may take it.
STALE_AFTER = timedelta(minutes=5)
EXEMPT_PATHS = frozenset({"/v1/auth/token", "/v1/auth/refresh", "/v1/auth/logout"})
_NOT_STORED_HEADERS = frozenset(
    {b"x-request-id", b"content-length", b"date", b"server", b"set-cookie"}
)


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= 255 and all(0x20 <= ord(c) <= 0x7E for c in key)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def _owner(self, scope: Scope, headers: Headers) -> str | None:
        """Whose key this is, or None when the credentials will be refused anyway."""
        state = scope["app"].state
        authorization = headers.get("authorization")
        api_key = headers.get("x-api-key")
        if authorization and api_key:
            return None
        if api_key:
            return sha256_hex("key:" + sha256_hex(api_key))
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token:
                return None
            try:
                claims = decode_access_token(token.strip(), state.settings.auth)
            except InvalidAccessTokenError:
                return None
            return sha256_hex(f"person:{claims.person_id}")
        client = scope.get("client")
        return sha256_hex(f"anon:{client[0] if client else '-'}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        if key is None or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if not _valid_key(key):
            await error_response(
                InvalidIdempotencyKeyError(
                    "An Idempotency-Key is 1 to 255 printable ASCII characters."
                ),
                scope["path"],
            )(scope, receive, send)
            return
        owner = self._owner(scope, headers)
        if owner is None:
            await self.app(scope, receive, send)
            return

        body_parts: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body_parts.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(body_parts)
        digest = hashlib.sha256()
        for part in (scope["path"].encode(), scope.get("query_string", b""), body):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        request_hash = digest.hexdigest()

        sessionmaker: async_sessionmaker[AsyncSession] = scope["app"].state.sessionmaker
        early = await self._claim(
            sessionmaker,
            owner=owner,
            key=key,
            request_hash=request_hash,
            headers=headers,
            auth=scope["app"].state.settings.auth,
        )
        if isinstance(early, AppError):
            await error_response(early, scope["path"])(scope, receive, send)
            return
        if early is not None:
            await _replay(early, send)
            return
        # The request's session marks the key applied in its own transaction (app.db).
        scope.setdefault("state", {})[CLAIM_STATE] = (owner, key)

        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        stored_headers: list[list[str]] = []
        response_body: list[bytes] = []
        secret = False
        # The response is held until its record is stored: a retry that arrives the moment
        # the client has the answer finds the key completed, never still in progress.
        held: list[Message] = []

        async def capture(message: Message) -> None:
            nonlocal status, secret
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() in _NOT_STORED_HEADERS:
                        continue
                    if name.lower() == b"cache-control" and b"no-store" in value.lower():
                        secret = True
                    stored_headers.append([name.decode("latin-1"), value.decode("latin-1")])
            elif message["type"] == "http.response.body":
                response_body.append(message.get("body", b""))
            held.append(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await self._finish(sessionmaker, owner=owner, key=key, status=500)
            raise
        await self._finish(
            sessionmaker,
            owner=owner,
            key=key,
            status=status,
            headers=stored_headers,
            body=b"".join(response_body),
            secret=secret,
        )
        for message in held:
            await send(message)

    async def _claim(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        owner: str,
        key: str,
        request_hash: str,
        headers: Headers,
        auth: AuthSettings,
    ) -> dict[str, Any] | AppError | None:
        """Claim the key for this request; or the outcome to send instead of running it: the
        stored response to replay, or the problem."""
        now = datetime.now(UTC)
        async with sessionmaker() as session, session.begin():
            repo = IdempotencyRepository(session)
            await repo.purge_expired(now)
            if await repo.claim(
                owner=owner, key=key, request_hash=request_hash, expires_at=now + TTL
            ):
                return None
            existing = await repo.get_for_update(owner=owner, key=key)
            if existing is None:  # purged between the two statements
                await repo.claim(
                    owner=owner, key=key, request_hash=request_hash, expires_at=now + TTL
                )
                return None
            if existing.request_hash != request_hash:
                return IdempotencyKeyReusedError(
                    "This Idempotency-Key was used for a different request; "
                    "use a new key for a new request."
                )
            if existing.state == "applied" or (
                existing.state == "in_progress"
                and existing.applied_at is not None
                and existing.created_at < now - STALE_AFTER
            ):
                return IdempotencyKeyAppliedError(
                    "The first request with this Idempotency-Key took effect, but its response "
                    "was lost; it is not run again. Read the resource to see the outcome."
                )
            if existing.state == "in_progress":
                if existing.applied_at is None and existing.created_at < now - STALE_AFTER:
                    await repo.restart(
                        owner=owner,
                        key=key,
                        request_hash=request_hash,
                        now=now,
                        expires_at=now + TTL,
                    )
                    return None
                return IdempotencyInProgressError("Retry when the first request has finished.")
            if existing.state == "completed_secret":
                return IdempotencyKeyConsumedError(
                    "The first request with this Idempotency-Key succeeded. Its response "
                    "contained a secret that is never stored, so it cannot be shown again."
                )
            refused = await _credentials_refused(session, headers, auth=auth, now=now)
            if refused is not None:
                return refused
            return {
                "status": existing.response_status,
                "headers": existing.response_headers or [],
                "body": existing.response_body or b"",
            }

    async def _finish(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        owner: str,
        key: str,
        status: int,
        headers: list[list[str]] | None = None,
        body: bytes | None = None,
        secret: bool = False,
    ) -> None:
        async with sessionmaker() as session, session.begin():
            repo = IdempotencyRepository(session)
            if status >= 500:
                await repo.release(owner=owner, key=key)
            else:
                await repo.complete(
                    owner=owner,
                    key=key,
                    status=status,
                    headers=None if secret else headers,
                    body=None if secret else body,
                    secret=secret,
                )


async def _credentials_refused(
    session: AsyncSession, headers: Headers, *, auth: AuthSettings, now: datetime
) -> AppError | None:
    """The 401 a fresh request with these credentials would get now, if any: the key's owner
    was derived from the credentials when they were good, but a session can have ended and an
    API key been revoked since."""
    repo = AuthRepository(session)
    api_key = headers.get("x-api-key")
    if api_key:
        if await repo.active_api_key(key_hash=sha256_hex(api_key), now=now) is None:
            return InvalidApiKeyError("The API key is unknown or has been revoked.")
        return None
    authorization = headers.get("authorization")
    if authorization:
        token = authorization.partition(" ")[2].strip()
        try:
            claims = decode_access_token(token, auth)
        except InvalidAccessTokenError:
            return InvalidTokenError("The access token is malformed, expired or not ours.")
        person = await repo.active_person_in_session(
            person_id=claims.person_id, session_id=claims.session_id
        )
        if person is None:
            return InvalidTokenError("The session behind this token has ended.")
    return None


async def _replay(stored: dict[str, Any], send: Send) -> None:
    raw_headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in stored["headers"]]
    raw_headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    raw_headers.append((b"content-length", str(len(stored["body"])).encode()))
    await send({"type": "http.response.start", "status": stored["status"], "headers": raw_headers})
    await send({"type": "http.response.body", "body": stored["body"]})
