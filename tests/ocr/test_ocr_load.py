"""Decoding receipt bytes and the image clean-up steps (no OCR involved)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import receiptgen as gen
from PIL import Image, ImageDraw, ImageFont
from sroie_data import Receipt

from media.ocr import preprocess as pp
from media.ocr.hashes import phash_distance, receipt_hashes
from media.ocr.load import LoadError, load_pages, sniff


def _text_page(lines: int = 12, size: int = 20) -> Image.Image:
    font_path = gen.font_path(gen.LATIN_FONTS)
    font = ImageFont.truetype(str(font_path), size) if font_path else ImageFont.load_default()
    image = Image.new("L", (600, 40 + lines * size * 2), 255)
    draw = ImageDraw.Draw(image)
    for row in range(lines):
        draw.text(
            (40, 20 + row * size * 2), f"ITEM NUMBER {row:02d} ........ {row * 3}.50", font=font, fill=0
        )
    return image


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0rest", "jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", "png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "heif"),
        (b"%PDF-1.4\n", "pdf"),
        (b"hello", None),
    ],
)
def test_sniff(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty_file"),
        (b"just some text, not an image", "unsupported_format"),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 20, "corrupt_image"),
        (b"%PDF-1.4\ngarbage", "corrupt_pdf"),
    ],
)
def test_bad_bytes(data: bytes, reason: str) -> None:
    with pytest.raises(LoadError) as caught:
        load_pages(data, "image/jpeg")
    assert caught.value.reason == reason


def test_truncated_jpeg(sroie_by_id: dict[str, Receipt]) -> None:
    data = sroie_by_id["sroie-dev-000"].image.read_bytes()
    with pytest.raises(LoadError) as caught:
        load_pages(data[: len(data) // 2])
    assert caught.value.reason == "corrupt_image"


def test_pixel_limit_before_decoding() -> None:
    data = gen.encode(Image.new("L", (2000, 2000), 255), "PNG")
    with pytest.raises(LoadError) as caught:
        load_pages(data, max_pixels=1_000_000)
    assert caught.value.reason == "image_too_large"


def test_decompression_bomb_png() -> None:
    # 120 KB on disk, 100 megapixels declared: Pillow only warns by default; we refuse.
    data = gen.encode(Image.new("1", (10_000, 10_000), 1), "PNG", optimize=True)
    assert len(data) < 2_000_000
    with pytest.raises(LoadError) as caught:
        load_pages(data, max_pixels=200_000_000)
    assert caught.value.reason == "image_too_large"


def test_png_declared_as_jpeg_is_read_by_content() -> None:
    pages = load_pages(gen.encode(_text_page(), "PNG"), "image/jpeg")
    assert pages[0].image is not None
    assert pages[0].image.size == _text_page().size


def test_heic_photo_decodes() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    out = io.BytesIO()
    pillow_heif.from_pillow(_text_page().convert("RGB")).save(out, quality=90)
    pages = load_pages(out.getvalue(), "image/heic")
    assert pages[0].image is not None
    assert pages[0].image.size == _text_page().size


def test_blank_pdf_renders_a_blank_page() -> None:
    pages = load_pages(gen.blank_pdf(), "application/pdf")
    assert len(pages) == 1
    assert pages[0].text is None
    assert pages[0].image is not None
    assert pp.is_blank(pp.to_gray(pages[0].image))


def test_pdf_text_layer_is_kept() -> None:
    pages = load_pages(gen.text_pdf(["ACME SDN BHD", "TOTAL RM 12.50"]), "application/pdf")
    assert pages[0].text is not None
    assert "TOTAL RM 12.50" in pages[0].text


def test_pdf_page_limit() -> None:
    one = Image.new("RGB", (200, 300), "white")
    out = io.BytesIO()
    one.save(out, "PDF", save_all=True, append_images=[one.copy() for _ in range(5)])
    assert len(load_pages(out.getvalue(), max_pages=2)) == 2


def test_exif_orientation_applied() -> None:
    page = _text_page()
    sideways = page.rotate(90, expand=True)  # stored sideways, tagged "rotate 90 CW to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    data = gen.encode(sideways.convert("RGB"), "JPEG", exif=exif.tobytes())
    upright = pp.upright(load_pages(data)[0].image)  # type: ignore[arg-type]
    assert upright.size == page.size


def test_blank_detection() -> None:
    assert pp.is_blank(Image.new("L", (800, 1200), 255))
    assert pp.is_blank(Image.linear_gradient("L").resize((900, 1400)))
    assert not pp.is_blank(_text_page())


def test_crop_to_content_drops_margins_and_specks() -> None:
    page = Image.new("L", (2000, 3000), 255)
    page.paste(_text_page(), (700, 900))
    draw = ImageDraw.Draw(page)
    for x, y in ((50, 50), (1900, 2900), (100, 2500)):
        draw.point((x, y), fill=0)  # scanner specks
    cropped = pp.crop_to_content(page)
    assert 300 < cropped.width < 650  # the text block (about 430 px wide), not the 2000 px page
    assert 400 < cropped.height < 650


def test_text_height_and_scaling() -> None:
    small = _text_page(size=12)
    big = _text_page(size=40)
    small_height = pp.text_height(small)
    big_height = pp.text_height(big)
    assert small_height is not None
    assert big_height is not None
    assert big_height > 2 * small_height
    for page in (small, big):
        scaled = pp.scale_text(page, 26)
        height = pp.text_height(scaled)
        assert height is not None
        assert 19 <= height <= 33


def test_deskew_recovers_a_small_tilt() -> None:
    page = _text_page(lines=20)
    tilted = page.rotate(3, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert abs(pp.skew_angle(tilted) + 3) <= 0.5
    assert abs(pp.skew_angle(page)) <= 0.25


def test_flatten_background_darkens_faded_ink() -> None:
    page = np.asarray(_text_page(), dtype=np.float32)
    faded = Image.fromarray((255 - (255 - page) * 0.25).astype(np.uint8))  # ink at ~75 % white
    restored = pp.flatten_background(faded, strength=2.5)
    ink = np.asarray(_text_page()) < 128
    assert np.asarray(restored)[ink].mean() < np.asarray(faded)[ink].mean() - 80
    assert np.asarray(restored)[~ink].mean() > 240  # paper stays white


def test_rotate_upright_turns_clockwise() -> None:
    page = _text_page()
    assert pp.rotate_upright(page.rotate(90, expand=True), 90).size == page.size
    restored = pp.rotate_upright(page.rotate(180), 180)
    assert np.array_equal(np.asarray(restored), np.asarray(page))


def test_receipt_hashes(sroie_by_id: dict[str, Receipt]) -> None:
    first = receipt_hashes(sroie_by_id["sroie-dev-001"].image.read_bytes())
    copy = receipt_hashes(sroie_by_id["sroie-dev-002"].image.read_bytes())
    other = receipt_hashes(sroie_by_id["sroie-dev-038"].image.read_bytes())
    assert first == copy
    assert first.sha256 == sroie_by_id["sroie-dev-001"].sha256
    assert first.phash is not None
    assert other.phash is not None
    assert phash_distance(first.phash, other.phash) > 10
    assert receipt_hashes(b"not an image").phash is None
