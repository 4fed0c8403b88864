"""Upload validation: decide from the bytes alone whether an upload is an acceptable photo/receipt.

Order of checks (each cheaper than the next, and none decodes pixels before the pixel limit):

1. size on disk: ``empty_file``, ``payload_too_large``;
2. sniffed type (the declared one is only compared): ``unsupported_media_type``, and
   ``content_type_mismatch`` when :attr:`MediaLimits.strict_content_type` is on;
3. dimensions from the header only: ``image_too_large`` (decompression bombs never reach Pillow);
4. a full decode restricted to the sniffed format: ``corrupt_image`` (Pillow opens truncated files
   happily and only fails when decoding).

PDF receipts get page-count and page-size checks with pdfium instead of 3-4
(``too_many_pages``, ``image_too_large`` for a page too big to render, ``corrupt_document``).

Work from a path: memory stays at one decoded image, whatever the file size. Synchronous; run it
in a worker thread.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Final, Literal

import pypdfium2
from PIL import Image, UnidentifiedImageError

from media import images, sniff

Kind = Literal["visit_photo", "receipt"]

#: Types accepted per upload kind. PDF is for receipts only.
ALLOWED_TYPES: Final[dict[str, frozenset[str]]] = {
    "visit_photo": sniff.IMAGE_TYPES,
    "receipt": sniff.ALL_TYPES,
}

#: Suggested HTTP status per rejection code, for the web layer.
HTTP_STATUS: Final[dict[str, int]] = {
    "empty_file": 400,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "content_type_mismatch": 415,
    "image_too_large": 422,
    "corrupt_image": 422,
    "corrupt_document": 422,
    "too_many_pages": 422,
}

_ORIENTATION_SWAPS: Final = frozenset({5, 6, 7, 8})


class MediaRejected(Exception):
    """An upload refused with a stable machine code and a human detail (no paths, no internals)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 422)


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Limits applied to every upload; all are settings.

    Defaults: 40 MiB covers a worst-case 50-megapixel phone JPEG (~37 MB measured for a noisy
    8660x5774 q90 image); 60 megapixels admits 50 MP sensors while refusing the 100 MP PNG bomb that
    Pillow would only warn about. A PDF receipt may have up to 20 pages, each renderable at 300 dpi
    within the pixel limit.
    """

    max_bytes: int = 40 * 1024 * 1024
    max_pixels: int = 60_000_000
    max_pdf_pages: int = 20
    pdf_render_dpi: int = 300
    #: When true a declared type that disagrees with the sniffed one is refused
    #: (``content_type_mismatch``); when false it is accepted by its sniffed type and reported.
    strict_content_type: bool = False


DEFAULT_LIMITS: Final = MediaLimits()


@dataclass(frozen=True, slots=True)
class ValidatedMedia:
    """What validation learned. ``width``/``height`` are as displayed (EXIF orientation applied)."""

    content_type: str
    declared_type: str | None
    type_mismatch: bool
    kind: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    exif: images.ExifData | None = None
    #: The decoded image (as stored, orientation not applied) when ``keep_image=True``.
    image: Image.Image | None = field(default=None, repr=False, compare=False)


def validate_upload(
    source: str | os.PathLike[str] | bytes,
    declared_type: str | None,
    kind: Kind,
    limits: MediaLimits = DEFAULT_LIMITS,
    *,
    keep_image: bool = False,
) -> ValidatedMedia:
    """Validate an upload from a file path (preferred) or bytes. Raises :class:`MediaRejected`."""
    if kind not in ALLOWED_TYPES:
        raise ValueError(f"unknown upload kind: {kind!r}")
    if isinstance(source, bytes):
        size = len(source)
        head = source[: sniff.SNIFF_BYTES]
    else:
        size = os.stat(source).st_size
        with open(source, "rb") as f:
            head = f.read(sniff.SNIFF_BYTES)

    if size == 0:
        raise MediaRejected("empty_file", "the file is empty")
    if size > limits.max_bytes:
        raise MediaRejected(
            "payload_too_large", f"the file has {size} bytes; the limit is {limits.max_bytes} bytes"
        )
    detected = sniff.sniff(head)
    if detected is None:
        raise MediaRejected("unsupported_media_type", "the content is not a supported image or document")
    if detected not in ALLOWED_TYPES[kind]:
        raise MediaRejected("unsupported_media_type", f"{detected} is not accepted for {kind}")
    declared = sniff.normalise_declared(declared_type)
    mismatch = not sniff.same_type(declared, detected)
    if mismatch and limits.strict_content_type:
        raise MediaRejected("content_type_mismatch", f"declared as {declared} but the content is {detected}")

    if detected == sniff.PDF:
        pages = _check_pdf(source, limits)
        return ValidatedMedia(detected, declared, mismatch, kind, size, pages=pages)
    image, exif = _check_image(source, detected, limits)
    width, height = image.size
    if exif.orientation in _ORIENTATION_SWAPS:
        width, height = height, width
    if not keep_image:
        image.close()
    return ValidatedMedia(
        detected,
        declared,
        mismatch,
        kind,
        size,
        width=width,
        height=height,
        exif=exif,
        image=image if keep_image else None,
    )


def _file_or_buffer(source: str | os.PathLike[str] | bytes) -> str | os.PathLike[str] | io.BytesIO:
    return io.BytesIO(source) if isinstance(source, bytes) else source


def _header_dimensions(source: str | os.PathLike[str] | bytes, content_type: str) -> tuple[int, int]:
    return images.read_dimensions(_file_or_buffer(source), content_type)


def _refuse_pixels(width: int, height: int, limits: MediaLimits) -> None:
    if width * height > limits.max_pixels:
        raise MediaRejected(
            "image_too_large",
            f"the image is {width}x{height} ({width * height} pixels); "
            f"the limit is {limits.max_pixels} pixels",
        )


def _check_image(
    source: str | os.PathLike[str] | bytes, content_type: str, limits: MediaLimits
) -> tuple[Image.Image, images.ExifData]:
    try:
        width, height = _header_dimensions(source, content_type)
    except images.HeaderError as exc:
        raise MediaRejected("corrupt_image", "the image header is unreadable") from exc
    _refuse_pixels(width, height, limits)

    try:
        if content_type == sniff.PNG:
            # verify() checks every chunk's CRC; the file must be reopened afterwards.
            with images.open_image(_file_or_buffer(source), content_type) as probe:
                probe.verify()
        image = images.open_image(_file_or_buffer(source), content_type)
    except Image.DecompressionBombError as exc:
        raise MediaRejected("image_too_large", "the image has too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaRejected("corrupt_image", "the image could not be read") from exc

    try:
        # The header parser and Pillow must agree; a disagreement means a crafted file.
        _refuse_pixels(image.width, image.height, limits)
        exif = images.read_exif(image)
        image.load()
    except MediaRejected:
        image.close()
        raise
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, RuntimeError) as exc:
        # RuntimeError: libheif (through pillow-heif) refusing data it cannot decode, such as a
        # size its own security limits refuse to allocate.
        image.close()
        raise MediaRejected("corrupt_image", "the image data is truncated or corrupt") from exc
    return image, exif


def _check_pdf(source: str | os.PathLike[str] | bytes, limits: MediaLimits) -> int:
    try:
        document = pypdfium2.PdfDocument(source if isinstance(source, bytes) else os.fspath(source))
    except pypdfium2.PdfiumError as exc:
        raise MediaRejected("corrupt_document", "the PDF could not be opened") from exc
    try:
        pages = len(document)
        if pages == 0:
            raise MediaRejected("corrupt_document", "the PDF has no pages")
        if pages > limits.max_pdf_pages:
            raise MediaRejected(
                "too_many_pages", f"the PDF has {pages} pages; the limit is {limits.max_pdf_pages}"
            )
        scale = limits.pdf_render_dpi / 72.0
        for index in range(pages):
            try:
                width_pt, height_pt = document.get_page_size(index)
            except pypdfium2.PdfiumError as exc:
                raise MediaRejected("corrupt_document", f"page {index + 1} of the PDF is unreadable") from exc
            _refuse_pixels(round(width_pt * scale), round(height_pt * scale), limits)
        return pages
    finally:
        document.close()
