from __future__ import annotations

import io
import warnings
from datetime import datetime
from pathlib import Path

import mediagen as gen
import pytest
from PIL import Image

from media import images, sniff
from media.validate import DEFAULT_LIMITS, MediaLimits, MediaRejected, validate_upload


def _rejected(source: Path | bytes, declared: str | None, kind: str = "visit_photo", **limits: object) -> str:
    with pytest.raises(MediaRejected) as info:
        validate_upload(source, declared, kind, MediaLimits(**limits))  # type: ignore[arg-type]
    assert info.value.detail
    return info.value.code


def test_valid_jpeg(photo_jpeg: Path) -> None:
    result = validate_upload(photo_jpeg, "image/jpeg", "visit_photo")
    assert (result.content_type, result.width, result.height) == (sniff.JPEG, 1600, 1200)
    assert result.type_mismatch is False
    assert result.size_bytes == photo_jpeg.stat().st_size
    assert result.image is None


def test_bytes_and_path_agree(photo_jpeg: Path) -> None:
    from_path = validate_upload(photo_jpeg, "image/jpeg", "receipt")
    from_bytes = validate_upload(photo_jpeg.read_bytes(), "image/jpeg", "receipt")
    assert from_path == from_bytes


def test_keep_image_returns_decoded_pixels(photo_jpeg: Path) -> None:
    result = validate_upload(photo_jpeg, None, "visit_photo", keep_image=True)
    assert result.image is not None
    assert result.image.size == (1600, 1200)
    with Image.open(photo_jpeg) as reference:
        assert result.image.getpixel((800, 600)) == reference.getpixel((800, 600))


def test_empty_file(tmp_path: Path) -> None:
    assert _rejected(gen.write(tmp_path / "e.jpg", b""), "image/jpeg") == "empty_file"


def test_text_file_declared_as_jpeg(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "photo.jpg", b"name,amount\nlunch,12.50\n" * 20)
    assert _rejected(path, "image/jpeg") == "unsupported_media_type"


def test_pdf_refused_for_photos_accepted_for_receipts(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "photo.jpg", gen.minimal_pdf(pages=2))
    assert _rejected(path, "image/jpeg") == "unsupported_media_type"
    result = validate_upload(path, "application/pdf", "receipt")
    assert (result.content_type, result.pages, result.width) == (sniff.PDF, 2, None)


def test_gif_is_not_accepted(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "a.gif", gen.encode(gen.photo_like(40, 30), "GIF"))
    assert _rejected(path, "image/gif", "receipt") == "unsupported_media_type"


def test_png_declared_as_jpeg_is_accepted_by_sniffed_type(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "photo.jpg", gen.encode(gen.photo_like(300, 200, seed=5), "PNG"))
    result = validate_upload(path, "image/jpeg", "visit_photo")
    assert result.content_type == sniff.PNG
    assert result.declared_type == sniff.JPEG
    assert result.type_mismatch is True
    assert (result.width, result.height) == (300, 200)


def test_png_declared_as_jpeg_refused_when_strict(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "photo.jpg", gen.encode(gen.photo_like(300, 200), "PNG"))
    assert _rejected(path, "image/jpeg", strict_content_type=True) == "content_type_mismatch"


def test_octet_stream_is_not_a_mismatch_even_when_strict(photo_jpeg: Path) -> None:
    result = validate_upload(
        photo_jpeg, "application/octet-stream", "visit_photo", MediaLimits(strict_content_type=True)
    )
    assert result.type_mismatch is False
    assert result.declared_type is None


def test_over_the_byte_limit(photo_jpeg: Path) -> None:
    limit = photo_jpeg.stat().st_size - 1
    with pytest.raises(MediaRejected) as info:
        validate_upload(photo_jpeg, "image/jpeg", "visit_photo", MediaLimits(max_bytes=limit))
    assert info.value.code == "payload_too_large"
    assert str(limit) in info.value.detail
    assert info.value.http_status == 413
    # Exactly at the limit passes.
    validate_upload(photo_jpeg, "image/jpeg", "visit_photo", MediaLimits(max_bytes=limit + 1))


def test_truncated_jpeg_half(photo_jpeg: Path, tmp_path: Path) -> None:
    data = photo_jpeg.read_bytes()
    path = gen.write(tmp_path / "half.jpg", data[: len(data) // 2])
    # Pillow itself opens it without complaint: only a full decode notices.
    with Image.open(path) as lazy:
        assert lazy.size == (1600, 1200)
    assert _rejected(path, "image/jpeg") == "corrupt_image"


def test_truncated_jpeg_header_only(photo_jpeg: Path, tmp_path: Path) -> None:
    path = gen.write(tmp_path / "600.jpg", photo_jpeg.read_bytes()[:600])
    assert _rejected(path, "image/jpeg") == "corrupt_image"


def test_truncated_png(tmp_path: Path) -> None:
    data = gen.encode(gen.photo_like(400, 300, seed=8), "PNG")
    path = gen.write(tmp_path / "cut.png", data[: len(data) * 2 // 3])
    assert _rejected(path, "image/png") == "corrupt_image"


def test_png_with_corrupt_idat(tmp_path: Path) -> None:
    data = bytearray(gen.encode(gen.photo_like(200, 150, seed=9), "PNG"))
    data[data.index(b"IDAT") + 200] ^= 0x55
    assert _rejected(gen.write(tmp_path / "bad.png", bytes(data)), "image/png") == "corrupt_image"


@pytest.mark.slow
def test_50_megapixel_jpeg_passes_by_default(big_50mp_jpeg: Path) -> None:
    size = big_50mp_jpeg.stat().st_size
    assert 15_000_000 < size < DEFAULT_LIMITS.max_bytes
    result = validate_upload(big_50mp_jpeg, "image/jpeg", "visit_photo")
    assert (result.width, result.height) == (8660, 5774)


def test_100_megapixel_png_bomb_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = gen.write(tmp_path / "bomb.png", gen.png_bomb(10_000, 10_000))
    assert path.stat().st_size < 200_000
    # Pillow alone only warns about this one.
    with warnings.catch_warnings(record=True) as caught, Image.open(path):
        warnings.simplefilter("always")
    assert any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught)

    def never(*args: object, **kwargs: object) -> Image.Image:
        raise AssertionError("Pillow must not open a decompression bomb")

    monkeypatch.setattr(Image, "open", never)
    with pytest.raises(MediaRejected) as info:
        validate_upload(path, "image/png", "visit_photo")
    assert info.value.code == "image_too_large"
    assert "10000x10000" in info.value.detail


def test_225_megapixel_png_bomb(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "bomb15k.png", gen.png_bomb(15_000, 15_000))
    assert _rejected(path, "image/png") == "image_too_large"


def test_pixel_limit_is_a_setting(photo_jpeg: Path) -> None:
    assert _rejected(photo_jpeg, "image/jpeg", max_pixels=1600 * 1200 - 1) == "image_too_large"
    validate_upload(photo_jpeg, "image/jpeg", "visit_photo", MediaLimits(max_pixels=1600 * 1200))


def test_heic_photo(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "p.heic", gen.encode(gen.photo_like(640, 480, seed=11), "HEIF", quality=80))
    result = validate_upload(path, "image/heic", "visit_photo", keep_image=True)
    assert (result.content_type, result.width, result.height) == (sniff.HEIC, 640, 480)
    assert result.image is not None
    assert result.image.size == (640, 480)


def test_heic_pixel_limit_checked_from_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = gen.write(tmp_path / "p.heic", gen.encode(gen.photo_like(640, 480, seed=12), "HEIF"))
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("decoded"))
    assert _rejected(path, "image/heic", max_pixels=640 * 480 - 1) == "image_too_large"


@pytest.mark.parametrize("cut", [0.5, 0.1])
def test_truncated_heic(tmp_path: Path, cut: float) -> None:
    data = gen.encode(gen.photo_like(640, 480, seed=13), "HEIF")
    path = gen.write(tmp_path / "cut.heic", data[: int(len(data) * cut)])
    assert _rejected(path, "image/heic") == "corrupt_image"


def test_heic_brand_with_garbage_body(tmp_path: Path) -> None:
    data = gen.encode(gen.photo_like(64, 48), "HEIF")
    path = gen.write(tmp_path / "junk.heic", data[:40] + bytes(2000))
    assert sniff.sniff_file(path) == sniff.HEIC
    assert _rejected(path, "image/heic") == "corrupt_image"


def test_jpeg_with_rotation_reports_displayed_size(tmp_path: Path) -> None:
    exif = gen.make_exif(orientation=6, taken_at=datetime(2024, 5, 6, 10, 0, 0))
    path = gen.write(tmp_path / "rot.jpg", gen.encode(gen.photo_like(400, 300), exif=exif.tobytes()))
    result = validate_upload(path, "image/jpeg", "visit_photo")
    assert (result.width, result.height) == (300, 400)
    assert result.exif is not None
    assert result.exif.taken_at == datetime(2024, 5, 6, 10, 0, 0)


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("JPEG", {}),
        ("JPEG", {"progressive": True}),
        ("PNG", {}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"exif": b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"}),
        ("HEIF", {}),
    ],
)
@pytest.mark.parametrize("size", [(1, 1), (333, 77), (641, 1023)])
def test_header_dimensions_match_pillow(fmt: str, params: dict, size: tuple[int, int]) -> None:
    data = gen.encode(gen.photo_like(*size, seed=size[0]), fmt, **params)
    content_type = sniff.sniff(data)
    assert content_type is not None
    with Image.open(io.BytesIO(data)) as reference:
        expected = reference.size
    assert images.read_dimensions(io.BytesIO(data), content_type) == expected


def test_stray_bytes_between_jpeg_segments_are_tolerated_like_decoders_do(tmp_path: Path) -> None:
    data = gen.encode(gen.photo_like(64, 48))
    app0_end = 4 + int.from_bytes(data[4:6], "big")
    path = gen.write(tmp_path / "junk.jpg", data[:app0_end] + b"\x00\x00\x00" + data[app0_end:])
    result = validate_upload(path, "image/jpeg", "visit_photo")
    assert (result.width, result.height) == (64, 48)


def test_header_parser_refuses_jpeg_without_frame() -> None:
    with pytest.raises(images.HeaderError):
        images.read_dimensions(io.BytesIO(b"\xff\xd8\xff\xe0\x00\x04ab\xff\xda\x00\x02"), sniff.JPEG)


def test_pdf_too_many_pages(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "r.pdf", gen.minimal_pdf(pages=3))
    assert _rejected(path, "application/pdf", "receipt", max_pdf_pages=2) == "too_many_pages"


def test_pdf_page_too_big_to_render(tmp_path: Path) -> None:
    # A 100 x 100 inch page is 900 megapixels at 300 dpi.
    path = gen.write(tmp_path / "poster.pdf", gen.minimal_pdf(width_pt=7200, height_pt=7200))
    assert _rejected(path, "application/pdf", "receipt") == "image_too_large"


def test_pdf_that_is_only_a_header(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "bad.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 20)
    assert _rejected(path, "application/pdf", "receipt") == "corrupt_document"


def test_unknown_kind(photo_jpeg: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        validate_upload(photo_jpeg, "image/jpeg", "avatar")  # type: ignore[arg-type]
