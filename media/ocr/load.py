"""Receipt bytes to page images (and PDF text layers): sniffed formats, pixel limits, no crashes.

Every failure becomes a `LoadError` with a stable `reason` code; nothing here raises anything else
for bad input.
"""

from __future__ import annotations

import io
import warnings

import msgspec
from PIL import Image, UnidentifiedImageError

try:  # HEIC/HEIF photos from iPhones
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    pass

IMAGE_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "HEIF")
DEFAULT_MAX_PIXELS = 60_000_000
DEFAULT_MAX_PAGES = 3
PDF_DPI = 200
_DECODE_SIDE = 2400  # JPEGs are decoded at a reduced scale when they are much bigger than this


class LoadError(Exception):
    """The bytes are not a receipt we can read; `reason` is a stable code for the caller."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


class Page(msgspec.Struct):
    """One page: a decoded image, or the text layer of a PDF page when it has one."""

    image: Image.Image | None = None
    text: str | None = None


def sniff(data: bytes) -> str | None:
    """The container format from magic bytes: `jpeg`, `png`, `webp`, `heif`, `pdf` or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"avif"):
        return "heif"
    if data[:1024].lstrip().startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "pdf"
    return None


def load_pages(
    data: bytes,
    content_type: str | None = None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> list[Page]:
    """Decode receipt bytes into pages. The declared `content_type` is only a fallback hint."""
    if not data:
        raise LoadError("empty_file", "no bytes")
    kind = sniff(data)
    if kind is None and content_type and content_type.split(";")[0].strip().lower() == "application/pdf":
        kind = "pdf"
    if kind == "pdf":
        return _load_pdf(data, max_pixels=max_pixels, max_pages=max_pages)
    return [Page(image=load_image(data, max_pixels=max_pixels))]


def _registered_formats() -> list[str]:
    Image.init()
    return [name for name in IMAGE_FORMATS if name in Image.OPEN]


def load_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open and fully decode an image, refusing decompression bombs before pixels are decoded."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=_registered_formats())
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise LoadError("image_too_large", "image declares too many pixels") from exc
        except UnidentifiedImageError as exc:
            if sniff(data) is not None:  # the right magic bytes, but the header is damaged
                raise LoadError("corrupt_image", "image header could not be read") from exc
            raise LoadError("unsupported_format", "not a JPEG, PNG, WebP, HEIF image or PDF") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise LoadError("corrupt_image", "image header could not be read") from exc
        width, height = image.size
        if width <= 0 or height <= 0:
            raise LoadError("corrupt_image", "image has no pixels")
        if width * height > max_pixels:
            raise LoadError("image_too_large", f"{width}x{height} is more than {max_pixels} pixels")
        try:
            if image.format in ("JPEG", "MPO") and max(width, height) > 2 * _DECODE_SIDE:
                image.draft("L" if image.mode == "L" else "RGB", (_DECODE_SIDE, _DECODE_SIDE))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise LoadError("image_too_large", "image declares too many pixels") from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise LoadError("corrupt_image", "image data is truncated or damaged") from exc
    return image


def _load_pdf(data: bytes, *, max_pixels: int, max_pages: int) -> list[Page]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise LoadError("corrupt_pdf", "PDF could not be opened (damaged or encrypted)") from exc
    pages: list[Page] = []
    try:
        if len(document) == 0:
            raise LoadError("empty_pdf", "PDF has no pages")
        for index in range(min(len(document), max_pages)):
            page = document[index]
            try:
                text = _pdf_text(page)
                width, height = page.get_size()
                scale = PDF_DPI / 72
                if width * height * scale * scale > max_pixels:
                    scale = (max_pixels / max(1.0, width * height)) ** 0.5
                if width <= 0 or height <= 0:
                    raise LoadError("corrupt_pdf", "PDF page has no area")
                bitmap = page.render(scale=scale, grayscale=True)
                image = bitmap.to_pil().convert("L")
            except pdfium.PdfiumError as exc:
                raise LoadError("corrupt_pdf", "PDF page could not be rendered") from exc
            finally:
                page.close()
            pages.append(Page(image=image, text=text))
    finally:
        document.close()
    return pages


def _pdf_text(page: object) -> str | None:
    textpage = page.get_textpage()  # type: ignore[attr-defined]
    try:
        text = str(textpage.get_text_range())
    finally:
        textpage.close()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if sum(not ch.isspace() for ch in text) >= 10 else None
