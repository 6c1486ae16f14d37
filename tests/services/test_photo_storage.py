"""Both storage backends, for real: a temporary directory and moto's S3 server over HTTP."""

from __future__ import annotations

import hashlib
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image
from pydantic import SecretStr, ValidationError

from app.config import PhotoSettings, Settings
from app.services.photos.processing import process_upload, storage_from_settings
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


async def test_settings_choose_the_backend(tmp_path: Path, s3_endpoint: str) -> None:
    local = storage_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "photos"
    with pytest.raises(ValidationError):
        PhotoSettings(storage="s3")
    remote = storage_from_settings(
        Settings(
            photos=PhotoSettings(
                storage="s3",
                s3_bucket="sirkel-photos",
                s3_endpoint=s3_endpoint,
                s3_region="us-east-1",
                s3_access_key_id="test",
                s3_secret_access_key=SecretStr("test"),
            )
        )
    )
    assert isinstance(remote, S3Storage)
    await _round_trip(remote)


async def test_uploads_are_processed_off_the_loop_with_a_bound() -> None:
    image = Image.new("RGB", (800, 600), (1, 2, 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    settings = PhotoSettings(max_concurrent_decodes=2)
    results = []

    async def one() -> None:
        results.append(await process_upload(buffer.getvalue(), settings))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)
    assert len(results) == 5
    assert all(r.width == 800 for r in results)
