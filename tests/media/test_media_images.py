from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import mediagen as gen
import numpy as np
import pytest
from PIL import Image, TiffImagePlugin, UnidentifiedImageError
from PIL.ExifTags import GPS, IFD

from media import images, sniff

SHANGHAI = timezone(timedelta(hours=8))


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def _jpeg_with(exif: Image.Exif, size: tuple[int, int] = (400, 300)) -> bytes:
    return gen.encode(gen.photo_like(*size, seed=21), exif=exif.tobytes())


def test_exif_time_with_offset_and_gps() -> None:
    exif = gen.make_exif(
        taken_at=datetime(2024, 5, 6, 14, 21, 0),
        offset="+08:00",
        lat=31.2304161,
        lon=121.4737012,
        gps_at=datetime(2024, 5, 6, 6, 21, 3),
    )
    data = images.read_exif(_open(_jpeg_with(exif)))
    assert data.taken_at == datetime(2024, 5, 6, 14, 21, 0, tzinfo=SHANGHAI)
    assert data.taken_at is not None
    assert data.taken_at.utcoffset() == timedelta(hours=8)
    assert data.lat == pytest.approx(31.2304161, abs=1e-6)
    assert data.lon == pytest.approx(121.4737012, abs=1e-6)
    assert data.gps_at == datetime(2024, 5, 6, 6, 21, 3, tzinfo=UTC)
    assert (data.make, data.model) == ("TestPhone", "Model 1")
    assert not data.is_empty


def test_southern_and_western_hemispheres() -> None:
    exif = gen.make_exif(taken_at=datetime(2024, 1, 2, 3, 4, 5), lat=-33.8688, lon=-70.6693)
    data = images.read_exif(_open(_jpeg_with(exif)))
    assert data.lat == pytest.approx(-33.8688, abs=1e-6)
    assert data.lon == pytest.approx(-70.6693, abs=1e-6)
    assert data.taken_at == datetime(2024, 1, 2, 3, 4, 5)
    assert data.taken_at.tzinfo is None  # no OffsetTimeOriginal: local time of unknown zone


def test_no_exif_at_all() -> None:
    data = images.read_exif(_open(gen.encode(gen.photo_like(64, 48), "PNG")))
    assert data == images.ExifData()
    assert data.is_empty


def test_null_island_and_broken_rationals_are_ignored() -> None:
    exif = gen.make_exif(taken_at=datetime(2024, 1, 2, 3, 4, 5), lat=0.0, lon=0.0)
    assert images.read_exif(_open(_jpeg_with(exif))).lat is None

    broken = gen.make_exif(lat=10.0, lon=20.0)
    rational = TiffImagePlugin.IFDRational
    broken.get_ifd(IFD.GPSInfo)[GPS.GPSLatitude] = (rational(10, 0), rational(0, 1), rational(0, 1))
    parsed = images.read_exif(_open(_jpeg_with(broken)))
    assert (parsed.lat, parsed.lon) == (None, None)  # a position needs both coordinates
    assert parsed.make == "TestPhone"


def test_bad_offset_is_ignored() -> None:
    exif = gen.make_exif(taken_at=datetime(2024, 5, 6, 14, 21, 0), offset="+25:00")
    assert images.read_exif(_open(_jpeg_with(exif))).taken_at == datetime(2024, 5, 6, 14, 21, 0)


def test_exif_from_heic() -> None:
    exif = gen.make_exif(taken_at=datetime(2024, 5, 6, 14, 21, 0), offset="+08:00", lat=39.9, lon=116.4)
    data = gen.encode(gen.photo_like(320, 240), "HEIF", exif=exif.tobytes())
    parsed = images.read_exif(_open(data))
    assert parsed.taken_at == datetime(2024, 5, 6, 14, 21, 0, tzinfo=SHANGHAI)
    assert parsed.lat == pytest.approx(39.9, abs=1e-6)


def _marked(size: tuple[int, int]) -> Image.Image:
    """Grey image with a red block in the stored top-left corner."""
    image = Image.new("RGB", size, (128, 128, 128))
    image.paste((255, 0, 0), (0, 0, size[0] // 4, size[1] // 4))
    return image


def _red_corner(image: Image.Image) -> str:
    w, h = image.size
    corners = {"tl": (5, 5), "tr": (w - 6, 5), "bl": (5, h - 6), "br": (w - 6, h - 6)}
    reds = [
        name for name, xy in corners.items() if image.getpixel(xy)[0] > 200 and image.getpixel(xy)[1] < 60
    ]
    assert len(reds) == 1
    return reds[0]


@pytest.mark.parametrize(("orientation", "corner"), [(1, "tl"), (3, "br"), (6, "tr"), (8, "bl")])
def test_upright_applies_exif_orientation(orientation: int, corner: str) -> None:
    exif = gen.make_exif(orientation=orientation)
    stored = _open(gen.encode(_marked((400, 300)), exif=exif.tobytes(), quality=95))
    result = images.upright(stored)
    expected_size = (300, 400) if orientation in (6, 8) else (400, 300)
    assert result.size == expected_size
    assert _red_corner(result) == corner
    if orientation == 1:
        assert result is stored


def test_heic_orientation_is_applied_exactly_once() -> None:
    exif = gen.make_exif(orientation=6)
    data = gen.encode(_marked((400, 300)), "HEIF", exif=exif.tobytes(), quality=90)
    opened = _open(data)
    assert opened.size == (300, 400)  # libheif already rotated it
    result = images.upright(opened)
    assert result.size == (300, 400)
    assert _red_corner(result) == "tr"


def test_to_rgb_flattens_transparency() -> None:
    rgba = Image.new("RGBA", (10, 10), (0, 0, 255, 0))
    assert images.to_rgb(rgba).getpixel((0, 0)) == (255, 255, 255)
    assert images.to_rgb(Image.new("L", (4, 4), 77)).getpixel((1, 1)) == (77, 77, 77)
    assert images.to_rgb(Image.new("I;16", (4, 4), 65535)).getpixel((1, 1)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("size", "expected"), [((4000, 3000), (320, 240)), ((3000, 4000), (240, 320)), ((200, 100), (200, 100))]
)
def test_thumbnail_sizes(size: tuple[int, int], expected: tuple[int, int]) -> None:
    thumb = images.make_thumbnail(gen.photo_like(*size, seed=4, noise=0))
    assert (thumb.width, thumb.height) == expected
    assert thumb.content_type == sniff.WEBP
    assert sniff.sniff(thumb.data) == sniff.WEBP
    assert _open(thumb.data).size == expected


def test_thumbnail_from_path_uses_draft_and_matches(tmp_path: Path) -> None:
    exif = gen.make_exif(orientation=6, lat=31.2, lon=121.4, taken_at=datetime(2024, 5, 6, 1, 2, 3))
    source = gen.photo_like(4000, 3000, seed=6)
    path = gen.write(tmp_path / "big.jpg", gen.encode(source, exif=exif.tobytes(), quality=90))
    thumb = images.thumbnail_from_path(path, sniff.JPEG, fmt="JPEG")
    assert (thumb.width, thumb.height) == (240, 320)  # rotated
    reference = images.make_thumbnail(images.upright(_open(path.read_bytes())), fmt="JPEG")
    diff = np.abs(
        np.asarray(_open(thumb.data), dtype=np.int16) - np.asarray(_open(reference.data), dtype=np.int16)
    )
    assert diff.mean() < 6
    # No EXIF (and so no GPS) in derivatives.
    assert not _open(thumb.data).getexif()


def test_encode_keeps_icc_profile_only() -> None:
    image = gen.photo_like(64, 64)
    data = images.encode(image, "JPEG", 80, icc_profile=b"\x00" * 128)
    reopened = _open(data)
    assert reopened.info.get("icc_profile") == b"\x00" * 128
    assert not reopened.getexif()


def test_fit_within() -> None:
    assert images.fit_within((4000, 3000), 2048) == (2048, 1536)
    assert images.fit_within((10, 10_000), 320) == (1, 320)
    assert images.fit_within((100, 50), 320) == (100, 50)


def test_open_image_is_restricted_to_the_sniffed_format(tmp_path: Path) -> None:
    png = gen.write(tmp_path / "x.jpg", gen.encode(gen.photo_like(32, 32), "PNG"))
    with pytest.raises(UnidentifiedImageError):
        images.open_image(png, sniff.JPEG)
    with pytest.raises(ValueError, match="not an image type"):
        images.open_image(png, sniff.PDF)
    assert images.open_image(png, sniff.PNG).format == "PNG"
