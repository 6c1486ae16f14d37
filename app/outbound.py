"""Outbound HTTP that cannot be turned against Sirkel's own network (SSRF).

A webhook URL is checked when it is registered and again before every delivery: its host
must resolve only to public addresses — no loopback, private (RFC 1918, CGNAT, ULA),
link-local (cloud metadata at 169.254.169.254 included), multicast, reserved or unspecified
ones; loopback is allowed only in development and test, so a developer can point a webhook at
a local receiver. The request then goes to the address that was checked (the Host header and
TLS SNI carry the name, and the certificate is verified against it), so a DNS answer that
changes between check and connect (rebinding) cannot redirect it. Redirects are not followed,
the timeout is 10 s, and at most 1 KiB of the answer is kept.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

RESPONSE_KEEP_BYTES = 1024
TIMEOUT_S = 10.0


class UnsafeUrlError(ValueError):
    """The URL may not be called (why is the message)."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # with the checked address in place of the host name
    host: str  # the Host header: the name, and the port when the URL gave one
    hostname: str  # the name alone: TLS SNI and certificate verification
    address: str


def check_url_shape(url: str, *, allow_loopback: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL, before any DNS."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrlError("The URL must be https.")
    if parts.scheme == "http" and not allow_loopback:
        raise UnsafeUrlError("The URL must be https.")
    if parts.username or parts.password:
        raise UnsafeUrlError("The URL must not carry a user name or password.")
    if not parts.hostname:
        raise UnsafeUrlError("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrlError("The URL's port is not a number from 1 to 65535.") from None
    return parts.scheme, parts.hostname, port


def _allowed(address: str, *, allow_loopback: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


async def resolve(url: str, *, allow_loopback: bool) -> Target:
    """Check the URL and resolve its host; every address must be allowed."""
    scheme, host, port = check_url_shape(url, allow_loopback=allow_loopback)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrlError(f"The host {host} does not resolve.") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses or not all(_allowed(a, allow_loopback=allow_loopback) for a in addresses):
        raise UnsafeUrlError(
            f"The host {host} resolves to an address that may not be called "
            "(private, loopback, link-local or reserved)."
        )
    address = addresses[0]
    netloc_host = f"[{address}]" if ":" in address else address
    parts = urlsplit(url)
    pinned = urlunsplit((scheme, f"{netloc_host}:{port}", parts.path or "/", parts.query, ""))
    return Target(
        url=pinned,
        host=host if parts.port is None else f"{host}:{port}",
        hostname=host,
        address=address,
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str
    duration_ms: int


async def post(target: Target, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST to the checked address; no redirects, a timeout, the answer's first KiB."""
    started = time.perf_counter()
    # A client per request (connections to one address may carry different names, so none is
    # pooled), with one TLS context for all: building a context costs milliseconds.
    async with (
        httpx.AsyncClient(
            follow_redirects=False, timeout=TIMEOUT_S, trust_env=False, verify=_tls_context()
        ) as client,
        client.stream(
            "POST",
            target.url,
            content=body,
            headers={**headers, "Host": target.host},
            extensions={"sni_hostname": target.hostname},
        ) as response,
    ):
        kept = b""
        async for chunk in response.aiter_bytes():
            kept += chunk
            if len(kept) >= RESPONSE_KEEP_BYTES:
                break
    duration = int((time.perf_counter() - started) * 1000)
    text = kept[:RESPONSE_KEEP_BYTES].decode("utf-8", errors="replace")
    return Answer(
        status=response.status_code, body=text[:RESPONSE_KEEP_BYTES], duration_ms=duration
    )
