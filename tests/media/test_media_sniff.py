from __future__ import annotations

import struct
from pathlib import Path

import mediagen as gen
import pytest
from PIL import Image

from media import sniff


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x00\x08free"


@pytest.fixture(scope="module")
def small() -> Image.Image:
    return gen.photo_like(64, 48, seed=1)


@pytest.mark.parametrize(
    ("fmt", "params", "expected"),
    [
        ("JPEG", {}, sniff.JPEG),
        ("PNG", {}, sniff.PNG),
        ("WEBP", {}, sniff.WEBP),
        ("WEBP", {"lossless": True}, sniff.WEBP),
        ("HEIF", {}, sniff.HEIC),
        ("GIF", {}, None),
        ("BMP", {}, None),
        ("TIFF", {}, None),
    ],
)
def test_real_encodings_are_recognised(
    small: Image.Image, fmt: str, params: dict, expected: str | None
) -> None:
    assert sniff.sniff(gen.encode(small, fmt, **params)) == expected


def test_pdf_and_text() -> None:
    assert sniff.sniff(gen.minimal_pdf()) == sniff.PDF
    assert sniff.sniff(b"hello, this is not an image\n") is None
    assert sniff.sniff(b"") is None
    assert sniff.sniff(b"\xff\xd8") is None  # too short to be a JPEG
    assert sniff.sniff(b"  %PDF-1.4") is None  # junk before the signature is refused


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        (_ftyp(b"heic", b"mif1", b"heic"), sniff.HEIC),
        (_ftyp(b"heix", b"mif1"), sniff.HEIC),
        (_ftyp(b"mif1", b"mif1", b"heic"), sniff.HEIC),  # HEVC brand only among the compatible ones
        (_ftyp(b"msf1", b"hevc"), sniff.HEIC),
        (_ftyp(b"mif1", b"mif1", b"miaf"), sniff.HEIF),
        (_ftyp(b"avif", b"mif1", b"miaf"), None),
        (_ftyp(b"mif1", b"avif"), None),
        (_ftyp(b"isom", b"mp41"), None),  # an MP4 video
        (_ftyp(b"qt  "), None),
    ],
)
def test_ftyp_brands(box: bytes, expected: str | None) -> None:
    assert sniff.sniff(box) == expected


def test_ftyp_with_bad_box_size() -> None:
    box = bytearray(_ftyp(b"heic", b"mif1"))
    box[0:4] = struct.pack(">I", 3)
    assert sniff.sniff(bytes(box)) is None


def test_riff_that_is_not_webp() -> None:
    assert sniff.sniff(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(20)) is None


def test_png_signature_without_ihdr() -> None:
    assert sniff.sniff(b"\x89PNG\r\n\x1a\n" + bytes(16)) is None


def test_sniff_file(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "upload.bin", gen.encode(gen.photo_like(32, 32), "PNG"))
    assert sniff.sniff_file(path) == sniff.PNG


@pytest.mark.parametrize(
    ("declared", "detected", "same"),
    [
        ("image/jpeg", sniff.JPEG, True),
        ("IMAGE/JPG; charset=binary", sniff.JPEG, True),
        ("image/pjpeg", sniff.JPEG, True),
        ("application/octet-stream", sniff.PNG, True),
        (None, sniff.PNG, True),
        ("image/heif", sniff.HEIC, True),
        ("image/heic", sniff.HEIF, True),
        ("image/jpeg", sniff.PNG, False),
        ("image/png", sniff.PDF, False),
    ],
)
def test_declared_type_comparison(declared: str | None, detected: str, same: bool) -> None:
    assert sniff.same_type(declared, detected) is same
