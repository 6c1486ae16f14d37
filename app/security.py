"""Secrets: password hashing, access tokens, opaque refresh tokens and API keys.

- Passwords: Argon2id (argon2-cffi), verified in a worker thread so that the ~50 ms of work
  does not block the event loop. A login for an unknown e-mail still verifies against a dummy
  hash, so response time does not reveal which addresses have accounts.
- Access tokens: JWT, HS256 only (the algorithm is allow-listed on decode, so ``alg: none``
  and RS/HS confusion are refused), with ``iss``, ``aud``, ``exp``, ``iat``, ``sub`` (person)
  and ``sid`` (the login session, so that logout takes effect before ``exp``).
- Refresh tokens and API keys: 256 random bits, shown once, stored as SHA-256. A slow hash
  adds nothing for secrets of that entropy and would make every API request pay for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import anyio.to_thread
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import AuthSettings

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "sirkel"
JWT_AUDIENCE = "sirkel-api"

REFRESH_TOKEN_PREFIX = "srt_"
API_KEY_PREFIX = "sk_"
API_KEY_LOOKUP_CHARS = 8  # shown in listings so people can tell their keys apart


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def password_hasher(settings: AuthSettings) -> PasswordHasher:
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


async def hash_password(password: str, settings: AuthSettings) -> str:
    return await anyio.to_thread.run_sync(password_hasher(settings).hash, password)


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash(secrets.token_urlsafe(16))


async def verify_password(password: str, password_hash: str | None, settings: AuthSettings) -> bool:
    """True if the password matches. ``password_hash=None`` (no such account) costs the same."""
    hasher = password_hasher(settings)
    target = password_hash or _dummy_hash(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )

    def check() -> bool:
        try:
            return bool(hasher.verify(target, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    ok = await anyio.to_thread.run_sync(check)
    return ok and password_hash is not None


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """A new key and its display prefix, e.g. ``sk_Ab3dE9xQ…`` and ``sk_Ab3dE9xQ``."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[: len(API_KEY_PREFIX) + API_KEY_LOOKUP_CHARS]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    person_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


class InvalidAccessTokenError(Exception):
    """The token is malformed, forged, expired or not ours."""


def issue_access_token(
    *, person_id: uuid.UUID, session_id: uuid.UUID, settings: AuthSettings, now: datetime
) -> tuple[str, int]:
    ttl = settings.access_token_ttl_s
    claims = {
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "sub": str(person_id),
        "sid": str(session_id),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=JWT_ALGORITHM)
    return token, ttl


def decode_access_token(token: str, settings: AuthSettings) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "iss", "aud"]},
            leeway=5,
        )
        if claims.get("typ") != "access":
            raise InvalidAccessTokenError("not an access token")
        return AccessClaims(
            person_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise InvalidAccessTokenError(str(exc)) from exc


# --- one-click unsubscribe (RFC 8058) ---------------------------------------------------------
#
# The link in every e-mail names the person and the category and is signed with an HMAC of the
# JWT secret under its own label, so it cannot be forged or moved to another person, needs no
# login (mail clients post it without cookies) and stays valid: unsubscribing is idempotent.


def _unsubscribe_mac(secret: str, person_id: uuid.UUID, category: str) -> str:
    key = hashlib.sha256(b"sirkel-unsubscribe:" + secret.encode()).digest()
    message = f"{person_id}:{category}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()[:24]).decode()


def unsubscribe_token(person_id: uuid.UUID, category: str, settings: AuthSettings) -> str:
    secret = settings.jwt_secret.get_secret_value()
    return f"{person_id.hex}.{category}.{_unsubscribe_mac(secret, person_id, category)}"


def read_unsubscribe_token(token: str, settings: AuthSettings) -> tuple[uuid.UUID, str] | None:
    """(person, category) of a genuine token, else None."""
    try:
        person_hex, category, mac = token.split(".", 2)
        person_id = uuid.UUID(hex=person_hex)
    except ValueError:
        return None
    secret = settings.jwt_secret.get_secret_value()
    if not hmac.compare_digest(mac, _unsubscribe_mac(secret, person_id, category)):
        return None
    return person_id, category


# --- webhook secrets (Standard Webhooks) --------------------------------------------------------
#
# A signing secret is ``whsec_`` + base64 of 32 random bytes, shown once. The worker needs it
# to sign, so it is kept sealed (AES-256-GCM under a key derived from the JWT secret with its
# own label), not hashed: a database dump alone does not reveal it. Rotating the JWT secret
# therefore means re-creating webhooks.

WEBHOOK_SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _sealing_key(settings: AuthSettings) -> bytes:
    return hashlib.sha256(
        b"sirkel-webhook-secrets:" + settings.jwt_secret.get_secret_value().encode()
    ).digest()


def seal(plain: str, settings: AuthSettings) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_sealing_key(settings)).encrypt(nonce, plain.encode(), b"webhook")


def unseal(sealed: bytes, settings: AuthSettings) -> str:
    nonce, body = sealed[:12], sealed[12:]
    return AESGCM(_sealing_key(settings)).decrypt(nonce, body, b"webhook").decode()


def webhook_signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` + base64 of the HMAC-SHA256 of
    ``{id}.{timestamp}.{body}`` under the secret's key bytes."""
    key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
