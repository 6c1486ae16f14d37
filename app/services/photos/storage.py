"""Where renditions live: a small interface with a local-filesystem and an S3-compatible backend.

Keys are content-addressed: ``<sha256 of the bytes>.webp``. The same bytes always get the same key,
so a write is idempotent and a served object never changes (hence ``immutable`` caching).
Only keys of that exact shape are accepted, so no key can name a path outside the store.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

import anyio.to_thread
import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

_KEY = re.compile(r"^[0-9a-f]{64}\.webp$")


class InvalidKeyError(ValueError):
    """A key that is not ``<64 hex digits>.webp``."""


def key_for(sha256: str) -> str:
    return check_key(f"{sha256}.webp")


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise InvalidKeyError(key)
    return key


class PhotoStorage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the object; no error when it is already gone."""
        ...


class LocalStorage:
    """Files under ``root``, fanned out as ``ab/<key>``; written to a temporary file and renamed,
    so a reader never sees half an object."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def _delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def put(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._put, key, data)

    async def get(self, key: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self._get, key)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete, key)


class S3Storage:
    """Any S3-compatible object store through obstore (Rust ``object_store``: async, no boto3)."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "photos",
    ) -> None:
        self._store = S3Store(
            bucket,
            prefix=prefix or None,
            endpoint=endpoint,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            client_options={"allow_http": bool(endpoint and endpoint.startswith("http://"))},
        )

    async def put(self, key: str, data: bytes) -> None:
        await obstore.put_async(self._store, check_key(key), data)

    async def get(self, key: str) -> bytes | None:
        try:
            result = await obstore.get_async(self._store, check_key(key))
        except (NotFoundError, FileNotFoundError):
            return None
        return bytes(await result.bytes_async())

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, check_key(key))
        except (NotFoundError, FileNotFoundError):
            return
