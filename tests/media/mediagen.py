"""Generators of realistic test media: photo-like images, EXIF, HEIC, bombs, truncated files."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageDraw, ImageFilter
from PIL.ExifTags import GPS, IFD, Base

pillow_heif.register_heif_opener()

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def photo_like(width: int, height: int, seed: int = 0, noise: float = 24.0) -> Image.Image:
    """A photo-like RGB image: sky/ground gradients, lit shapes, texture, sensor noise."""
    rng = np.random.default_rng(seed)
    # Work at a reduced size for the structure, then upscale: fast even for 50 MP.
    sw, sh = max(8, width // 4), max(8, height // 4)
    y = np.linspace(0.0, 1.0, sh, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, sw, dtype=np.float32)[None, :]
    horizon = rng.uniform(0.3, 0.7)
    sky_top, sky_bottom = rng.uniform(40, 255, 3), rng.uniform(40, 255, 3)
    ground_top, ground_bottom = rng.uniform(0, 200, 3), rng.uniform(0, 160, 3)
    base = np.empty((sh, sw, 3), dtype=np.float32)
    for c in range(3):
        sky = sky_top[c] + (sky_bottom[c] - sky_top[c]) * (y / horizon)
        ground = ground_top[c] + (ground_bottom[c] - ground_top[c]) * ((y - horizon) / (1 - horizon))
        channel = np.where(y < horizon, sky, ground) + 25 * np.sin(x * rng.uniform(2, 9) + c)
        base[:, :, c] = np.broadcast_to(channel, (sh, sw))
    small = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(small)
    for _ in range(int(rng.integers(6, 14))):
        x0, y0 = rng.uniform(-0.1, 1.0) * sw, rng.uniform(-0.1, 1.0) * sh
        w, h = rng.uniform(0.05, 0.4) * sw, rng.uniform(0.05, 0.4) * sh
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            pts = [(x0 + rng.uniform(0, w), y0 + rng.uniform(0, h)) for _ in range(5)]
            draw.polygon(pts, fill=colour)
    sign_w = sw * rng.uniform(0.15, 0.3)
    sx, sy = rng.uniform(0.05, 0.6) * sw, rng.uniform(0.05, 0.6) * sh
    draw.rectangle((sx, sy, sx + sign_w, sy + sign_w / 3), fill=(240, 240, 230))
    for i in range(3):
        yy = sy + sign_w / 3 * (0.2 + 0.25 * i)
        draw.line(
            (sx + sign_w * 0.1, yy, sx + sign_w * rng.uniform(0.5, 0.9), yy), fill=(20, 20, 20), width=2
        )
    small = small.filter(ImageFilter.GaussianBlur(radius=max(1.0, sw / 400)))
    image = small.resize((width, height), Image.Resampling.BILINEAR)
    if noise > 0:
        # Mid-frequency texture (foliage, walls) plus per-pixel sensor grain.
        tw, th = max(2, width // 3), max(2, height // 3)
        texture = Image.fromarray(rng.integers(0, 256, size=(th, tw), dtype=np.uint8), "L")
        texture = texture.resize((width, height), Image.Resampling.BILINEAR)
        grain = Image.fromarray(rng.integers(0, 256, size=(height, width), dtype=np.uint8), "L")
        detail = Image.blend(texture, grain, 0.35)
        arr = np.asarray(image, dtype=np.int16)
        d = (np.asarray(detail, dtype=np.int16) - 128) * int(noise) // 64
        arr = np.clip(arr + d[:, :, None], 0, 255).astype(np.uint8)
        image = Image.fromarray(arr, "RGB")
    return image


def noise_image(width: int, height: int, seed: int = 0) -> Image.Image:
    """Full-entropy noise: the worst case for JPEG size."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8), "RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = Fraction(round((minutes_full - minutes) * 60 * 10000), 10000)
    return Fraction(degrees), Fraction(minutes), seconds


def make_exif(
    *,
    taken_at: datetime | None = None,
    offset: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    orientation: int | None = None,
    gps_at: datetime | None = None,
) -> Image.Exif:
    """EXIF the way a phone writes it (DMS rationals with N/S/E/W references)."""
    exif = Image.Exif()
    exif[Base.Make] = "TestPhone"
    exif[Base.Model] = "Model 1"
    if orientation is not None:
        exif[Base.Orientation] = orientation
    if taken_at is not None:
        exif_ifd = exif.get_ifd(IFD.Exif)
        exif_ifd[Base.DateTimeOriginal] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        if offset is not None:
            exif_ifd[Base.OffsetTimeOriginal] = offset
    if lat is not None and lon is not None:
        gps = exif.get_ifd(IFD.GPSInfo)
        gps[GPS.GPSVersionID] = b"\x02\x02\x00\x00"
        gps[GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[GPS.GPSLatitude] = _dms(lat)
        gps[GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps[GPS.GPSLongitude] = _dms(lon)
        if gps_at is not None:
            gps[GPS.GPSDateStamp] = gps_at.strftime("%Y:%m:%d")
            gps[GPS.GPSTimeStamp] = (Fraction(gps_at.hour), Fraction(gps_at.minute), Fraction(gps_at.second))
    return exif


def png_bomb(width: int, height: int) -> bytes:
    """A valid, tiny PNG declaring ``width x height`` 1-bit pixels (all zero): a decompression bomb."""
    raw_row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    chunks = [compressor.compress(raw_row) for _ in range(height)]
    idat = b"".join(chunks) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def minimal_pdf(pages: int = 1, width_pt: float = 595, height_pt: float = 842) -> bytes:
    """A small valid PDF with ``pages`` blank pages (object offsets computed)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    for _ in range(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt} {height_pt}] >>".encode())
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
