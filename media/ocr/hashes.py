"""Fingerprints of a receipt image for duplicate checks: exact sha256 and a 64-bit perceptual hash."""

from __future__ import annotations

import hashlib

import imagehash
import msgspec
from PIL import Image

from media.ocr import preprocess as pp
from media.ocr.load import LoadError, load_pages


class ReceiptHashes(msgspec.Struct, frozen=True):
    sha256: str
    phash: str | None  # 16 hex digits; None when the bytes are not a decodable image/PDF


def perceptual_hash(image: Image.Image) -> str:
    """pHash (DCT, 64 bits) of the receipt itself (upright, grayscale, cropped to its ink), as hex.

    Cropping matters for scans of a small receipt on a big page: otherwise the white page dominates
    and every receipt from the same scanner looks alike.
    """
    gray = pp.shrink_to_limit(pp.to_gray(pp.upright(image)), 2000)
    return str(imagehash.phash(pp.crop_to_content(gray)))


def phash_distance(a: str, b: str) -> int:
    """Hamming distance between two hex pHashes (0 = identical, 64 = opposite)."""
    return int(imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b))


def receipt_hashes(data: bytes, content_type: str | None = None) -> ReceiptHashes:
    """sha256 of the bytes and pHash of the first page (never raises on bad input)."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        pages = load_pages(data, content_type, max_pages=1)
    except LoadError:
        return ReceiptHashes(sha256=digest, phash=None)
    image = pages[0].image if pages else None
    return ReceiptHashes(sha256=digest, phash=perceptual_hash(image) if image is not None else None)
