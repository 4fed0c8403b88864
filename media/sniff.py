"""Content sniffing: tell the real type of an upload from its first bytes.

The declared type (``Content-Type``, tus ``Upload-Metadata``, the file name) is never trusted;
every decision about an upload starts from :func:`sniff`. Only the types the API accepts are
recognised; anything else (GIF, AVIF, TIFF, text, ZIP...) answers ``None``.

Signatures:

- JPEG: ``FF D8 FF``
- PNG: ``89 50 4E 47 0D 0A 1A 0A`` followed by an ``IHDR`` chunk
- WebP: ``RIFF <size> WEBP`` followed by a ``VP8 ``/``VP8L``/``VP8X`` chunk
- HEIC/HEIF: an ISO-BMFF ``ftyp`` box first, with an HEVC brand (``heic heix hevc hevx heim heis
  hevm hevs``) answering ``image/heic``, or a plain image brand (``mif1 msf1``) without an AVIF
  brand answering ``image/heif``. AVIF (``avif avis``) is not accepted: it answers ``None``.
- PDF: ``%PDF-`` at offset 0 (PDF readers tolerate junk before it; we do not).
"""

from __future__ import annotations

import os
import struct
from typing import Final

JPEG: Final = "image/jpeg"
PNG: Final = "image/png"
WEBP: Final = "image/webp"
HEIC: Final = "image/heic"
HEIF: Final = "image/heif"
PDF: Final = "application/pdf"

IMAGE_TYPES: Final = frozenset({JPEG, PNG, WEBP, HEIC, HEIF})
ALL_TYPES: Final = IMAGE_TYPES | {PDF}

#: How many leading bytes :func:`sniff_file` reads; enough for an ``ftyp`` box with 60 brands.
SNIFF_BYTES: Final = 256

_HEVC_BRANDS: Final = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
_IMAGE_BRANDS: Final = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})

#: Declared types that mean the same as a sniffed one (clients are inconsistent about these).
_ALIASES: Final[dict[str, str]] = {
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "image/x-png": PNG,
    "image/heic-sequence": HEIC,
    "image/heif-sequence": HEIF,
    "application/x-pdf": PDF,
}

#: Declared types that say nothing about the content.
_UNINFORMATIVE: Final = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def sniff(head: bytes) -> str | None:
    """Return the media type of content starting with ``head``, or ``None`` when not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return PNG
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP" and head[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return _sniff_ftyp(head)


def sniff_file(path: str | os.PathLike[str]) -> str | None:
    """Sniff the first :data:`SNIFF_BYTES` bytes of a file."""
    with open(path, "rb") as f:
        return sniff(f.read(SNIFF_BYTES))


def _sniff_ftyp(head: bytes) -> str | None:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    (box_size,) = struct.unpack(">I", head[:4])
    if box_size < 16 or box_size % 4:
        return None
    end = min(box_size, len(head))
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & _HEVC_BRANDS:
        return HEIC
    if brands & _AVIF_BRANDS:
        return None
    if brands & _IMAGE_BRANDS:
        return HEIF
    return None


def normalise_declared(declared: str | None) -> str | None:
    """Lower-case a declared ``Content-Type``, drop parameters and map aliases.

    Returns ``None`` for an absent or uninformative declaration (``application/octet-stream``).
    """
    if declared is None:
        return None
    value = declared.split(";", 1)[0].strip().lower()
    if value in _UNINFORMATIVE:
        return None
    return _ALIASES.get(value, value)


def same_type(declared: str | None, detected: str) -> bool:
    """Whether a declared type agrees with a sniffed one (HEIC and HEIF count as the same family).

    An absent or uninformative declaration agrees with anything.
    """
    norm = normalise_declared(declared)
    if norm is None:
        return True
    if {norm, detected} <= {HEIC, HEIF}:
        return True
    return norm == detected
