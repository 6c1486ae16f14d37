"""Decoding and cleaning uploads (app.services.photos.images), on images built here."""

from __future__ import annotations

import io
import struct
import zlib

import pillow_heif
import pytest
from PIL import Image, ImageCms

from app.services.photos.images import (
    ImageAnimatedError,
    ImageTooLargeError,
    ImageUndecodableError,
    UnsupportedImageTypeError,
    process,
    sniff,
)

_GPS_IFD = 0x8825
_ORIENTATION = 0x0112


def _photo(fmt: str, size: tuple[int, int] = (400, 200), **save: object) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def _gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[_ORIENTATION] = 6  # rotate 90° clockwise to view
    exif.get_ifd(_GPS_IFD).update(
        {1: "N", 2: (59.0, 54.0, 42.0), 3: "E", 4: (10.0, 44.0, 12.0)}  # central Oslo
    )
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    return _photo("JPEG", exif=exif.tobytes(), icc_profile=icc, xmp=xmp)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_gps_exif_is_gone_and_orientation_applied() -> None:
    source = _gps_jpeg()
    with Image.open(io.BytesIO(source)) as check:
        assert check.getexif().get_ifd(_GPS_IFD)  # the fixture really carries GPS
    result = process(source)
    assert (result.width, result.height) == (200, 400)
    for rendition in result.renditions:
        with Image.open(io.BytesIO(rendition.data)) as served:
            assert served.format == "WEBP"
            assert served.size == (rendition.width, rendition.height)
            assert served.height == 2 * served.width  # portrait after the EXIF rotation
            assert not served.getexif()
            assert "icc_profile" not in served.info
            assert "exif" not in served.info
            assert "xmp" not in served.info
            # Rotated 90° clockwise: the blue left half is now the top half.
            rgb = served.convert("RGB")
            top = rgb.getpixel((served.width // 2, served.height // 8))
            bottom = rgb.getpixel((served.width // 2, served.height * 7 // 8))
            assert isinstance(top, tuple)
            assert isinstance(bottom, tuple)
            assert top[2] > 150
            assert bottom[0] > 150
        for marker in (b"EXIF", b"XMP ", b"ICCP", b"Exif", b"GPS"):
            assert marker not in rendition.data


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (_photo("JPEG"), "JPEG"),
        (_photo("PNG"), "PNG"),
        (_photo("WEBP"), "WEBP"),
    ],
)
def test_accepted_formats(payload: bytes, kind: str) -> None:
    assert sniff(payload) == kind
    result = process(payload)
    assert result.source_type == kind
    assert [r.size for r in result.renditions] == [320, 960, 1920]
    # Never upscaled: the 400 px source stays 400 px in the larger renditions.
    assert [max(r.width, r.height) for r in result.renditions] == [320, 400, 400]
    # Same pixels, same bytes, same content-addressed key.
    assert len({r.sha256 for r in result.renditions}) == 2


def test_heic() -> None:
    image = Image.new("RGB", (640, 480), (10, 120, 10))
    heif = pillow_heif.from_pillow(image)
    buffer = io.BytesIO()
    heif.save(buffer, quality=80)
    payload = buffer.getvalue()
    assert sniff(payload) == "HEIF"
    result = process(payload)
    assert (result.width, result.height) == (640, 480)


def test_transparent_png_is_flattened() -> None:
    image = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    rendition = process(buffer.getvalue()).renditions[0]
    with Image.open(io.BytesIO(rendition.data)) as served:
        assert served.mode == "RGB"
        assert served.getpixel((10, 10)) == (255, 255, 255)


def test_truncated_jpeg() -> None:
    payload = _photo("JPEG", size=(1200, 900), quality=95)
    with pytest.raises(ImageUndecodableError):
        process(payload[: len(payload) // 2])


def test_decompression_bomb_never_decodes() -> None:
    with pytest.raises(ImageTooLargeError):
        process(_png_header_only(30_000, 30_000))


def test_pixel_limit_is_configurable() -> None:
    with pytest.raises(ImageTooLargeError):
        process(_photo("PNG"), max_pixels=1_000)


@pytest.mark.parametrize(
    "payload",
    [b"just some text, named holiday.jpg", b"", _photo("GIF"), _photo("BMP"), b"%PDF-1.7\n"],
)
def test_not_an_accepted_type(payload: bytes) -> None:
    with pytest.raises(UnsupportedImageTypeError):
        process(payload)


def test_animated_webp() -> None:
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(ImageAnimatedError):
        process(buffer.getvalue())


def test_codes() -> None:
    assert UnsupportedImageTypeError.code == "unsupported_image_type"
    assert ImageUndecodableError.code == "image_undecodable"
    assert ImageTooLargeError.code == "image_too_large"
    assert ImageAnimatedError.code == "image_animated"
