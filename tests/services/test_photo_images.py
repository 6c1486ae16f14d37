"""Decoding and cleaning uploads (app.services.photos.images), on images built here."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.services.photos.images import (
    ImageAnimatedError,
    ImageTooLargeError,
    ImageUndecodableError,
    UnsupportedImageTypeError,
    process,
    sniff,
)
from tests.images import GPS_IFD, animated_webp, gps_jpeg, heic, photo, png_header_only

_GPS_IFD = GPS_IFD
_photo = photo
_gps_jpeg = gps_jpeg
_png_header_only = png_header_only


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
    payload = heic()
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
    with pytest.raises(ImageAnimatedError):
        process(animated_webp())


def test_codes() -> None:
    assert UnsupportedImageTypeError.code == "unsupported_image_type"
    assert ImageUndecodableError.code == "image_undecodable"
    assert ImageTooLargeError.code == "image_too_large"
    assert ImageAnimatedError.code == "image_animated"


def test_a_large_jpeg_is_decoded_reduced_and_still_covers_the_largest_rendition() -> None:
    # 4000 x 3000 with an EXIF rotation: the decoder scales by 1/2 in the DCT (2000 x 1500),
    # which still covers 1920 px; the rotation applies after.
    result = process(gps_jpeg(size=(4000, 3000)))
    assert (result.width, result.height) == (1500, 2000)
    assert [(r.width, r.height) for r in result.renditions] == [
        (240, 320),
        (720, 960),
        (1440, 1920),
    ]


def test_a_png_is_not_reduced_before_its_renditions() -> None:
    result = process(photo("PNG", size=(2500, 1000)))
    assert (result.width, result.height) == (2500, 1000)
    assert [(r.width, r.height) for r in result.renditions][-1] == (1920, 768)
