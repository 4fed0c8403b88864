from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import mediagen as gen
import numpy as np
import pytesseract
import pytest
from PIL import Image, ImageDraw, ImageFont

from media import images, sniff
from media.watermark import (
    BandStyle,
    WatermarkLabels,
    WatermarkStamp,
    default_font,
    font_measure,
    format_time,
    has_glyphs,
    layout_band,
    load_font,
    render_watermarked,
    stamp_lines,
    wrap_line,
)

VISIT_ID = "0190c2f2-7a3e-7c11-9d2e-5b8f3e2a4c6d"
STAMP = WatermarkStamp(
    issued_at=datetime(2024, 5, 6, 6, 23, 5, tzinfo=UTC),
    time_zone="Asia/Shanghai",
    lat=31.230416,
    lon=121.473701,
    customer_name="上海华联超市",
    rep_name="张伟",
    visit_id=VISIT_ID,
    address="上海市黄浦区南京东路100号",
    code="K7Q2-M9XD",
)


def mono(text: str, size: int) -> float:
    """A fake monospace font: every character is 0.6 em wide, CJK 1 em."""
    return sum(size * (1.0 if ord(ch) > 0x2E80 else 0.6) for ch in text)


# --- pure layout ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "font"), [((4000, 3000), 84), ((3000, 4000), 84), ((1280, 720), 20), ((320, 240), 12)]
)
def test_font_scales_with_the_short_side(size: tuple[int, int], font: int) -> None:
    layout = layout_band(*size, ["2024-05-06 14:23:05", "short"], mono)
    assert layout.font_size == font


@pytest.mark.parametrize(
    "size", [(4000, 3000), (3000, 4000), (320, 240), (240, 1000), (1280, 720), (600, 4000)]
)
def test_every_line_fits_inside_the_image(size: tuple[int, int]) -> None:
    width, height = size
    layout = layout_band(width, height, stamp_lines(STAMP), mono)
    assert 0 <= layout.band_top < height
    assert layout.band_top + layout.band_height == height
    for line in layout.lines:
        assert line.x >= layout.padding
        assert line.x + mono(line.text, layout.font_size) <= width - layout.padding + 1e-6
        assert layout.band_top < line.baseline <= height
    baselines = [line.baseline for line in layout.lines]
    assert baselines == sorted(baselines)
    assert len(set(baselines)) == len(baselines)


def test_band_stays_under_its_height_budget_on_normal_photos() -> None:
    for size in [(4000, 3000), (3000, 4000), (1280, 720), (800, 600)]:
        layout = layout_band(*size, stamp_lines(STAMP), mono)
        assert layout.band_height <= size[1] * BandStyle().max_band_fraction


def test_long_line_shrinks_the_font_before_wrapping() -> None:
    lines = ["x" * 100]
    layout = layout_band(1000, 1000, lines, mono)
    assert layout.font_size < 28  # 0.028 * 1000
    assert layout.font_size >= BandStyle().min_font_px
    assert len(layout.lines) == 1


def test_wrapping_at_the_minimum_size_keeps_all_text() -> None:
    text = "Customer: " + "华" * 60
    layout = layout_band(320, 240, [text], mono)
    assert layout.font_size == BandStyle().min_font_px
    assert len(layout.lines) > 1
    assert "".join(line.text for line in layout.lines).replace(" ", "") == text.replace(" ", "")


def test_wrap_prefers_spaces() -> None:
    assert wrap_line("aaaa bbbb cccc", 10, mono("aaaa bbbb", 10), mono) == ["aaaa bbbb", "cccc"]
    assert wrap_line("华华华华", 10, 25, mono) == ["华华", "华华"]


def test_format_time_in_tenant_zone() -> None:
    assert format_time(STAMP.issued_at, "Asia/Shanghai") == "2024-05-06 14:23:05 UTC+08:00 Asia/Shanghai"
    summer = datetime(2024, 7, 1, 12, 0, 0, tzinfo=UTC)
    assert format_time(summer, "America/New_York") == "2024-07-01 08:00:00 UTC-04:00 America/New_York"
    with pytest.raises(ValueError, match="aware"):
        format_time(datetime(2024, 1, 1), "UTC")


def test_lines_carry_every_fact() -> None:
    text = "\n".join(stamp_lines(STAMP, WatermarkLabels(customer="客户", rep="业务员")))
    for fact in (
        "14:23:05",
        "31.230416",
        "121.473701",
        "南京东路",
        "客户: 上海华联超市",
        "业务员: 张伟",
        VISIT_ID,
        "K7Q2-M9XD",
    ):
        assert fact in text


# --- fonts --------------------------------------------------------------------------------------


def _ink(font: ImageFont.FreeTypeFont, text: str) -> bytes:
    canvas = Image.new("L", (64, 64))
    ImageDraw.Draw(canvas).text((0, 0), text, font=font, fill=255)
    return canvas.tobytes()


def test_default_font_renders_chinese_without_tofu() -> None:
    font = load_font(default_font(), 32)
    assert has_glyphs(font, STAMP.customer_name + STAMP.rep_name + "合计")
    # Two different characters get two different glyphs.
    assert _ink(font, "合") != _ink(font, "计")


def test_glyph_check_detects_a_font_without_cjk() -> None:
    latin_only = ImageFont.truetype(gen.DEJAVU, 32)
    assert has_glyphs(latin_only, "Visit 123")
    assert not has_glyphs(latin_only, "上海")


# --- rendering ----------------------------------------------------------------------------------


def _render(image: Image.Image, stamp: WatermarkStamp = STAMP) -> Image.Image:
    data = render_watermarked(image, stamp)
    assert sniff.sniff(data) == sniff.JPEG
    return Image.open(io.BytesIO(data))


def _band_crop(out: Image.Image) -> Image.Image:
    layout = layout_band(out.width, out.height, stamp_lines(STAMP), font_measure(default_font()))
    band = out.crop((0, layout.band_top, out.width, out.height))
    scale = 32 / layout.font_size  # tesseract reads ~32 px text best
    return band.resize((round(band.width * scale), round(band.height * scale)), Image.Resampling.LANCZOS)


def _normalise_ocr(text: str) -> str:
    """Undo tesseract's usual confusions between look-alike characters."""
    return re.sub(
        r"[\s.]",
        "",
        text.translate(str.maketrans({"l": "1", "I": "1", "|": "1", "O": "0", "o": "0", "¢": "c"})),
    )


@pytest.mark.parametrize("size", [(3000, 4000), (4000, 3000), (320, 240), (1280, 720)])
def test_band_is_legible_by_ocr(size: tuple[int, int]) -> None:
    out = _render(gen.photo_like(*size, seed=size[0]))
    assert out.size == size
    text = pytesseract.image_to_string(_band_crop(out), lang="eng", config="--psm 6")
    assert "2024-05-06" in text
    assert "14:23:05" in text
    assert "UTC+08:00" in text
    assert _normalise_ocr(VISIT_ID) in _normalise_ocr(text)
    assert "31.230416" in text


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0), (255, 255, 0)])
def test_band_is_legible_on_flat_backgrounds(colour: tuple[int, int, int]) -> None:
    out = _render(Image.new("RGB", (1280, 720), colour))
    text = pytesseract.image_to_string(_band_crop(out), lang="eng", config="--psm 6")
    assert "2024-05-06 14:23:05" in text
    assert _normalise_ocr(VISIT_ID) in _normalise_ocr(text)


def test_in_place_draws_on_the_given_image_and_gives_the_same_bytes() -> None:
    source = gen.photo_like(640, 480, seed=12)
    untouched = source.copy()
    copied = render_watermarked(source, STAMP)
    assert np.array_equal(np.asarray(source), np.asarray(untouched))
    in_place = render_watermarked(source, STAMP, in_place=True)
    assert in_place == copied
    assert not np.array_equal(np.asarray(source), np.asarray(untouched))


def test_chinese_customer_name_reads_back() -> None:
    out = _render(gen.photo_like(4000, 3000, seed=77))
    layout = layout_band(out.width, out.height, stamp_lines(STAMP), font_measure(default_font()))
    customer, rep = layout.lines[2], layout.lines[3]
    assert customer.text.endswith(STAMP.customer_name)
    top = customer.baseline - layout.line_height
    lines = out.crop((0, top, out.width // 2, rep.baseline + layout.line_height // 3))
    lines = lines.resize((lines.width * 32 // layout.font_size, lines.height * 32 // layout.font_size))
    text = pytesseract.image_to_string(lines, lang="chi_sim+eng", config="--psm 6")
    assert STAMP.customer_name in text.replace(" ", "")
    assert STAMP.rep_name in text.replace(" ", "")


def test_exif_orientation_is_applied_before_drawing() -> None:
    exif = gen.make_exif(orientation=6)
    stored = Image.open(io.BytesIO(gen.encode(gen.photo_like(1600, 1200, seed=2), exif=exif.tobytes())))
    out = _render(stored)
    assert out.size == (1200, 1600)
    assert not out.getexif()  # no EXIF in the rendition (and no orientation to apply twice)
    text = pytesseract.image_to_string(_band_crop(out), lang="eng", config="--psm 6")
    assert "2024-05-06" in text


def test_band_darkens_only_the_bottom_and_leaves_the_source_alone() -> None:
    source = gen.photo_like(1280, 720, seed=9, noise=0)
    before = np.asarray(source).copy()
    out = np.asarray(_render(source), dtype=np.int16)
    assert np.array_equal(np.asarray(source), before)  # caller's image untouched
    layout = layout_band(1280, 720, stamp_lines(STAMP), font_measure(default_font()))
    top, band = slice(0, layout.band_top - 8), slice(layout.band_top + 2, 720)
    src = before.astype(np.int16)
    assert np.abs(out[top] - src[top]).mean() < 3  # above the band: only JPEG noise
    # In the band, background pixels (no text) are darker than the source.
    darker = (out[band].sum(axis=2) < src[band].sum(axis=2)).mean()
    assert darker > 0.6


@pytest.mark.parametrize("mode", ["RGBA", "L", "P", "CMYK"])
def test_any_input_mode(mode: str) -> None:
    source = gen.photo_like(640, 480, seed=3).convert(mode)
    out = _render(source)
    assert out.mode == "RGB"
    assert out.size == (640, 480)


def test_max_side_downscales_before_drawing() -> None:
    data = render_watermarked(gen.photo_like(3000, 2000, seed=1), STAMP, max_side=1200)
    out = Image.open(io.BytesIO(data))
    assert out.size == (1200, 800)
    text = pytesseract.image_to_string(_band_crop(out), lang="eng", config="--psm 6")
    assert "14:23:05" in text


def test_icc_profile_is_carried_over() -> None:
    source = Image.open(io.BytesIO(gen.encode(gen.photo_like(320, 240), icc_profile=b"\x01" * 64)))
    out = Image.open(io.BytesIO(render_watermarked(source, STAMP)))
    assert out.info.get("icc_profile") == b"\x01" * 64


def test_images_helpers_used_by_watermark_are_consistent() -> None:
    # A rendition is never larger than its source in pixels.
    source = gen.photo_like(333, 222, seed=5)
    out = _render(source)
    assert out.size == images.fit_within(source.size, 10_000)
