"""The photo pipeline's entry points for async code: decoding off the event loop, with a bound on
how many decodes run at once, and the storage backend the settings choose."""

from __future__ import annotations

from functools import lru_cache, partial

import anyio
import anyio.to_thread

from app.config import PhotoSettings, Settings
from app.services.photos.images import ProcessedImage, process
from app.services.photos.storage import LocalStorage, PhotoStorage, S3Storage


@lru_cache(maxsize=8)
def _limiter(tokens: int) -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(tokens)


async def process_upload(data: bytes, settings: PhotoSettings) -> ProcessedImage:
    """``images.process`` in a worker thread; at most ``max_concurrent_decodes`` at a time, so a
    burst of uploads neither blocks the event loop nor holds a bitmap per request in memory."""
    work = partial(
        process, data, max_pixels=settings.max_pixels, sizes=tuple(settings.rendition_sizes)
    )
    return await anyio.to_thread.run_sync(work, limiter=_limiter(settings.max_concurrent_decodes))


def storage_from_settings(settings: Settings) -> PhotoStorage:
    photos = settings.photos
    if photos.storage == "s3":
        assert photos.s3_bucket is not None  # checked by PhotoSettings
        return S3Storage(
            bucket=photos.s3_bucket,
            endpoint=photos.s3_endpoint,
            region=photos.s3_region,
            access_key_id=photos.s3_access_key_id,
            secret_access_key=(
                photos.s3_secret_access_key.get_secret_value()
                if photos.s3_secret_access_key
                else None
            ),
            prefix=photos.s3_prefix,
        )
    return LocalStorage(photos.local_dir or settings.data_dir / "photos")
