"""Image helpers: header-only dimensions, safe opening and decoding, EXIF, renditions.

Everything here is synchronous CPU or disk work; async callers run it in a worker thread.

Decoding policy (see ``media.validate`` for the limits):

- Dimensions are read from the file header by :func:`read_dimensions` (our own parser for JPEG, PNG
  and WebP, libheif's header parser for HEIF) *before* Pillow sees the file, so a decompression
  bomb is refused without Pillow's own check being involved. Pillow's check (``MAX_IMAGE_PIXELS``,
  89.5 megapixels by default) only *warns* between 1x and 2x that value; we leave the global as it
  is and never depend on it.
- :func:`open_image` restricts Pillow to the one format the content was sniffed as
  (``Image.open(..., formats=[...])``), so no other plugin (PDF, FITS, ...) ever parses an upload.
- ``ImageFile.LOAD_TRUNCATED_IMAGES`` must stay ``False`` process-wide: truncation is detected by a
  full decode raising ``OSError``.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import IO, Final, Literal

import pillow_heif
from PIL import Image, ImageOps, TiffImagePlugin
from PIL.ExifTags import GPS, IFD, Base

from media import sniff

pillow_heif.register_heif_opener()

#: Pillow format name for each accepted image type.
PIL_FORMATS: Final[dict[str, str]] = {
    sniff.JPEG: "JPEG",
    sniff.PNG: "PNG",
    sniff.WEBP: "WEBP",
    sniff.HEIC: "HEIF",
    sniff.HEIF: "HEIF",
}

Source = str | os.PathLike[str]


class HeaderError(ValueError):
    """The header of an image could not be parsed (truncated or not the sniffed format)."""


# ---------------------------------------------------------------------------------------------
# Header-only dimensions
# ---------------------------------------------------------------------------------------------


def read_dimensions(source: Source | IO[bytes], content_type: str) -> tuple[int, int]:
    """Return ``(width, height)`` from the header of a file (path or binary file object).

    No pixel is decoded. For JPEG this is the stored frame size (before EXIF orientation).
    Raises :class:`HeaderError`.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            return read_dimensions(f, content_type)
    if content_type in (sniff.HEIC, sniff.HEIF):
        return _heif_dimensions(source)
    if content_type == sniff.JPEG:
        return _jpeg_dimensions(source)
    head = source.read(32)
    if content_type == sniff.PNG:
        return _png_dimensions(head)
    if content_type == sniff.WEBP:
        return _webp_dimensions(head)
    raise HeaderError(f"no header parser for {content_type}")


_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS: Final = frozenset({0x01, *range(0xD0, 0xD8)})
_MAX_JPEG_SEGMENTS: Final = 4096
_MAX_JPEG_JUNK: Final = 65536


def _jpeg_dimensions(f: IO[bytes]) -> tuple[int, int]:
    if f.read(2) != b"\xff\xd8":
        raise HeaderError("missing JPEG SOI marker")
    junk = 0
    for _ in range(_MAX_JPEG_SEGMENTS):
        byte = f.read(1)
        if not byte:
            raise HeaderError("JPEG ends before its frame header")
        if byte != b"\xff":
            junk += 1  # stray bytes between segments: decoders skip them, so do we
            if junk > _MAX_JPEG_JUNK:
                raise HeaderError("JPEG marker expected")
            continue
        marker = f.read(1)
        while marker == b"\xff":  # fill bytes
            marker = f.read(1)
        if not marker:
            raise HeaderError("JPEG ends before its frame header")
        code = marker[0]
        if code in _STANDALONE_MARKERS or code == 0x00:
            continue
        if code in (0xD9, 0xDA):
            raise HeaderError("JPEG has no frame header before its image data")
        raw_len = f.read(2)
        if len(raw_len) != 2:
            raise HeaderError("JPEG segment length truncated")
        (length,) = struct.unpack(">H", raw_len)
        if length < 2:
            raise HeaderError("invalid JPEG segment length")
        if code in _SOF_MARKERS:
            body = f.read(5)
            if len(body) != 5:
                raise HeaderError("JPEG frame header truncated")
            _precision, height, width = struct.unpack(">BHH", body)
            if width == 0 or height == 0:
                raise HeaderError("JPEG frame has a zero dimension")
            return width, height
        f.seek(length - 2, io.SEEK_CUR)
    raise HeaderError("too many JPEG segments before the frame header")


def _png_dimensions(head: bytes) -> tuple[int, int]:
    if len(head) < 24 or head[12:16] != b"IHDR" or head[8:12] != b"\x00\x00\x00\x0d":
        raise HeaderError("PNG IHDR chunk missing")
    width, height = struct.unpack(">II", head[16:24])
    if width == 0 or height == 0:
        raise HeaderError("PNG has a zero dimension")
    return width, height


def _webp_dimensions(head: bytes) -> tuple[int, int]:
    if len(head) < 30:
        raise HeaderError("WebP header truncated")
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
    elif chunk == b"VP8L":
        if head[20] != 0x2F:
            raise HeaderError("bad VP8L signature")
        bits = int.from_bytes(head[21:25], "little")
        width = 1 + (bits & 0x3FFF)
        height = 1 + ((bits >> 14) & 0x3FFF)
    elif chunk == b"VP8 ":
        if head[23:26] != b"\x9d\x01\x2a":
            raise HeaderError("bad VP8 start code")
        width = int.from_bytes(head[26:28], "little") & 0x3FFF
        height = int.from_bytes(head[28:30], "little") & 0x3FFF
    else:
        raise HeaderError("unknown WebP chunk")
    if width == 0 or height == 0:
        raise HeaderError("WebP has a zero dimension")
    return width, height


def _heif_dimensions(f: IO[bytes]) -> tuple[int, int]:
    try:
        heif = pillow_heif.open_heif(f, convert_hdr_to_8bit=True)
        width, height = heif.size
    except (ValueError, RuntimeError, OSError, EOFError, SyntaxError, IndexError) as exc:
        # pillow-heif maps libheif's errors to these (SyntaxError for an unsupported box, IndexError
        # for a container without an image).
        raise HeaderError(f"HEIF header unreadable: {exc}") from exc
    if width <= 0 or height <= 0:
        raise HeaderError("HEIF has a zero dimension")
    return width, height


# ---------------------------------------------------------------------------------------------
# Opening and decoding
# ---------------------------------------------------------------------------------------------


def open_image(path: Source | IO[bytes], content_type: str) -> Image.Image:
    """Open lazily (header only) with Pillow restricted to the sniffed format."""
    fmt = PIL_FORMATS.get(content_type)
    if fmt is None:
        raise ValueError(f"not an image type: {content_type}")
    return Image.open(path, formats=[fmt])


def load_image(path: Source, content_type: str) -> Image.Image:
    """Open and fully decode an image (raises ``OSError`` on truncated data)."""
    image = open_image(path, content_type)
    image.load()
    return image


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation. Returns ``image`` itself when it is already upright.

    HEIF images come out of pillow-heif already rotated, with the orientation tag reset to 1,
    so the rotation is never applied twice.
    """
    orientation = image.getexif().get(Base.Orientation)
    if orientation in (None, 1):
        return image
    result = ImageOps.exif_transpose(image)
    return result if result is not None else image


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Convert any mode to RGB, flattening transparency onto ``background``."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


# ---------------------------------------------------------------------------------------------
# EXIF
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExifData:
    """Capture claims read from EXIF. All are device claims, never evidence on their own.

    ``taken_at`` is timezone-aware when the file states an offset (``OffsetTimeOriginal``),
    naive otherwise; ``gps_at`` (GPS date + time stamp) is always UTC.
    """

    taken_at: datetime | None = None
    gps_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    altitude_m: float | None = None
    make: str | None = None
    model: str | None = None
    orientation: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.taken_at is None and self.gps_at is None and self.lat is None


def read_exif(image: Image.Image) -> ExifData:
    """Extract ``DateTimeOriginal`` (+ offset), GPS position and time, camera and orientation."""
    exif = image.getexif()
    if not exif:
        return ExifData()
    exif_ifd = exif.get_ifd(IFD.Exif)
    gps_ifd = exif.get_ifd(IFD.GPSInfo)

    taken_at = _parse_exif_datetime(
        exif_ifd.get(Base.DateTimeOriginal), exif_ifd.get(Base.OffsetTimeOriginal)
    ) or _parse_exif_datetime(exif.get(Base.DateTime), exif_ifd.get(Base.OffsetTime))
    lat = _gps_coordinate(gps_ifd.get(GPS.GPSLatitude), gps_ifd.get(GPS.GPSLatitudeRef), 90.0)
    lon = _gps_coordinate(gps_ifd.get(GPS.GPSLongitude), gps_ifd.get(GPS.GPSLongitudeRef), 180.0)
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        lat = lon = None
    altitude = _rational(gps_ifd.get(GPS.GPSAltitude))
    if altitude is not None and gps_ifd.get(GPS.GPSAltitudeRef) in (1, b"\x01"):
        altitude = -altitude
    orientation = exif.get(Base.Orientation)
    return ExifData(
        taken_at=taken_at,
        gps_at=_gps_datetime(gps_ifd.get(GPS.GPSDateStamp), gps_ifd.get(GPS.GPSTimeStamp)),
        lat=lat,
        lon=lon,
        altitude_m=altitude,
        make=_text(exif.get(Base.Make)),
        model=_text(exif.get(Base.Model)),
        orientation=orientation if isinstance(orientation, int) else None,
    )


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ").strip()
    return value or None


def _parse_exif_datetime(value: object, offset: object) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    off = _parse_offset(_text(offset))
    return parsed.replace(tzinfo=off) if off is not None else parsed


def _parse_offset(text: str | None) -> timezone | None:
    if not text or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _rational(value: object) -> float | None:
    if isinstance(value, TiffImagePlugin.IFDRational):
        if value.denominator == 0:
            return None
        return float(value)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        num, den = value
        return None if den == 0 else num / den
    if isinstance(value, int | float):
        return float(value)
    return None


def _dms(value: object) -> float | None:
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    parts = [_rational(v) for v in value]
    if any(p is None or p < 0 for p in parts):
        return None
    degrees, minutes, seconds = (float(p) for p in parts if p is not None)
    return degrees + minutes / 60.0 + seconds / 3600.0


def _gps_coordinate(value: object, ref: object, bound: float) -> float | None:
    decimal = _dms(value)
    if decimal is None:
        return None
    ref_text = _text(ref)
    if ref_text in ("S", "W"):
        decimal = -decimal
    elif ref_text not in ("N", "E"):
        return None
    if abs(decimal) > bound:
        return None
    return round(decimal, 7)


def _gps_datetime(date_stamp: object, time_stamp: object) -> datetime | None:
    text = _text(date_stamp)
    if text is None or not isinstance(time_stamp, tuple | list) or len(time_stamp) != 3:
        return None
    parts = [_rational(v) for v in time_stamp]
    if any(p is None for p in parts):
        return None
    try:
        day = datetime.strptime(text[:10], "%Y:%m:%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    h, m, s = (float(p) for p in parts if p is not None)
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61):
        return None
    return day + timedelta(hours=h, minutes=m, seconds=s)


# ---------------------------------------------------------------------------------------------
# Renditions
# ---------------------------------------------------------------------------------------------

RenditionFormat = Literal["JPEG", "WEBP"]
_CONTENT_TYPES: Final[dict[str, str]] = {"JPEG": sniff.JPEG, "WEBP": sniff.WEBP}


@dataclass(frozen=True, slots=True)
class Rendition:
    """An encoded derivative (no EXIF: privacy; the parsed claims live in the database)."""

    data: bytes
    content_type: str
    width: int
    height: int


def fit_within(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Scale ``size`` down (never up) so that its longest side is at most ``max_side``."""
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_within(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale (never up): a fast integer box reduction to about twice the target, then Lanczos."""
    target = fit_within(image.size, max_side)
    if target == image.size:
        return image
    factor = max(image.size) // (2 * max(target))
    if factor >= 2:
        image = image.reduce(factor)
    return image.resize(target, Image.Resampling.LANCZOS)


def encode(
    image: Image.Image,
    fmt: RenditionFormat = "JPEG",
    quality: int = 85,
    icc_profile: bytes | None = None,
) -> bytes:
    """Encode an RGB image without any EXIF (an ICC profile is kept when given)."""
    out = io.BytesIO()
    params: dict[str, object] = {"quality": quality}
    if icc_profile:
        params["icc_profile"] = icc_profile
    if fmt == "WEBP":
        params["method"] = 2  # 4x faster than the default 4, ~2 % larger at thumbnail sizes
    to_rgb(image).save(out, format=fmt, **params)
    return out.getvalue()


def make_thumbnail(
    image: Image.Image, max_side: int = 320, fmt: RenditionFormat = "WEBP", quality: int = 75
) -> Rendition:
    """Thumbnail of an already upright image, longest side ``max_side``."""
    small = to_rgb(resize_within(image, max_side))
    return Rendition(encode(small, fmt, quality), _CONTENT_TYPES[fmt], small.width, small.height)


def thumbnail_from_path(
    path: Source,
    content_type: str,
    max_side: int = 320,
    fmt: RenditionFormat = "WEBP",
    quality: int = 75,
) -> Rendition:
    """Thumbnail straight from a stored file, using JPEG DCT scaling (``draft``) when possible.

    The EXIF orientation is applied; the image is expected to have been validated already.
    """
    with open_image(path, content_type) as image:
        if content_type == sniff.JPEG:
            image.draft("RGB", (max_side * 2, max_side * 2))
        image.load()
        return make_thumbnail(upright(image), max_side, fmt, quality)
