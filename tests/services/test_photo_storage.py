"""Both storage backends, for real: a temporary directory and moto's S3 server over HTTP."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer

from app.services.photos.storage import (
    InvalidKeyError,
    LocalStorage,
    PhotoStorage,
    S3Storage,
    key_for,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto creates a bucket on an unsigned PUT of its path.
    httpx.put(f"{endpoint}/sirkel-photos").raise_for_status()
    yield endpoint
    server.stop()


async def _round_trip(storage: PhotoStorage) -> None:
    data = b"RIFF....WEBP not really, but bytes"
    key = key_for(hashlib.sha256(data).hexdigest())
    assert await storage.get(key) is None
    await storage.put(key, data)
    await storage.put(key, data)  # idempotent
    assert await storage.get(key) == data
    await storage.delete(key)
    assert await storage.get(key) is None
    await storage.delete(key)  # already gone: no error


async def test_local_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "photos")
    await _round_trip(storage)
    assert not [p for p in (tmp_path / "photos").rglob("*") if p.is_file()]


async def test_s3_round_trip(s3_endpoint: str) -> None:
    storage = S3Storage(
        bucket="sirkel-photos",
        endpoint=s3_endpoint,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
    )
    await _round_trip(storage)


@pytest.mark.parametrize("key", ["../etc/passwd", "x.webp", "A" * 64 + ".webp", "a" * 64])
async def test_keys_are_checked(tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        await LocalStorage(tmp_path).get(key)
