"""Visible watermark band for visit photos, drawn by the server.

The band carries what the server trusts, never what the phone claims: the server's receive time
(shown in the tenant's time zone with its UTC offset), the verified check-in place (lat/lon and
address), customer, rep and visit id, plus an optional short verification code.

The band is a semi-transparent dark strip across the bottom of the upright photo with white
text in Noto Sans CJK SC, so Chinese names render as glyphs, not boxes. The
font size scales with the photo's short side; lines too wide for the photo shrink the font down
to a minimum, then wrap. The layout (:func:`layout_band`) is a pure function of the image size,
the lines and a text-measuring function, and is tested without fonts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from media import images

Measure = Callable[[str, int], float]


@dataclass(frozen=True, slots=True)
class WatermarkStamp:
    """The server-trusted facts printed on a visit photo."""

    issued_at: datetime  # server time, timezone-aware
    time_zone: str  # tenant IANA zone, e.g. "Asia/Shanghai"
    lat: float  # verified check-in position
    lon: float
    customer_name: str
    rep_name: str
    visit_id: str
    address: str | None = None
    code: str | None = None  # short verification code that maps to the provenance record


@dataclass(frozen=True, slots=True)
class WatermarkLabels:
    """Line labels; a tenant may pass its own language."""

    customer: str = "Customer"
    rep: str = "Rep"
    visit: str = "Visit"
    code: str = "Code"


@dataclass(frozen=True, slots=True)
class FontSpec:
    path: str
    index: int = 0


#: Font candidates in order of preference; the first that exists and covers CJK wins.
FONT_CANDIDATES: Final[tuple[tuple[str, str | None], ...]] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.otf", None),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", None),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None),
)


@dataclass(frozen=True, slots=True)
class BandStyle:
    """Tunable look of the band. Sizes are fractions of the photo's short side."""

    font_scale: float = 0.028
    min_font_px: int = 12
    line_spacing: float = 1.35
    padding_em: float = 0.6
    max_band_fraction: float = 0.5
    shade: float = 0.6  # opacity of the dark strip: white text keeps >= 5:1 contrast on white
    text_colour: tuple[int, int, int] = (255, 255, 255)
    #: Outline width in em (0 = none). An outline costs ~3x the text drawing time at 12 MP.
    outline_em: float = 0.0
    outline_colour: tuple[int, int, int] = (0, 0, 0)


DEFAULT_STYLE: Final = BandStyle()


@dataclass(frozen=True, slots=True)
class PlacedLine:
    text: str
    x: int
    baseline: int


@dataclass(frozen=True, slots=True)
class BandLayout:
    font_size: int
    band_top: int
    band_height: int
    padding: int
    line_height: int
    lines: tuple[PlacedLine, ...]


# ---------------------------------------------------------------------------------------------
# Text of the band
# ---------------------------------------------------------------------------------------------


def format_time(issued_at: datetime, time_zone: str) -> str:
    """``2024-05-06 14:23:05 UTC+08:00 Asia/Shanghai`` for an aware server time."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    local = issued_at.astimezone(ZoneInfo(time_zone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} UTC{offset[:3]}:{offset[3:]} {time_zone}"


def stamp_lines(stamp: WatermarkStamp, labels: WatermarkLabels = WatermarkLabels()) -> list[str]:
    """The band's lines, most important first."""
    place = f"{stamp.lat:.6f}, {stamp.lon:.6f}"
    if stamp.address:
        place = f"{place}  {stamp.address}"
    visit = f"{labels.visit}: {stamp.visit_id}"
    if stamp.code:
        visit = f"{visit}  {labels.code}: {stamp.code}"
    return [
        format_time(stamp.issued_at, stamp.time_zone),
        place,
        f"{labels.customer}: {stamp.customer_name}",
        f"{labels.rep}: {stamp.rep_name}",
        visit,
    ]


# ---------------------------------------------------------------------------------------------
# Layout (pure)
# ---------------------------------------------------------------------------------------------


def wrap_line(text: str, size: int, available: float, measure: Measure) -> list[str]:
    """Greedy wrap: break at the last space that fits, else between any two characters (CJK)."""
    if measure(text, size) <= available:
        return [text]
    out: list[str] = []
    rest = text
    while rest:
        if measure(rest, size) <= available:
            out.append(rest)
            break
        cut = _longest_fitting_prefix(rest, size, available, measure)
        space = rest.rfind(" ", 0, cut + 1)
        if space > 0 and space >= cut // 2:
            cut = space
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return out


def _longest_fitting_prefix(text: str, size: int, available: float, measure: Measure) -> int:
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid], size) <= available:
            lo = mid
        else:
            hi = mid - 1
    return lo


def layout_band(
    width: int,
    height: int,
    lines: Sequence[str],
    measure: Measure,
    style: BandStyle = DEFAULT_STYLE,
) -> BandLayout:
    """Place ``lines`` in a bottom band of a ``width`` x ``height`` image.

    The font size starts at ``font_scale`` x short side (at least ``min_font_px``); it shrinks so
    that the widest line fits the width and the band stays under ``max_band_fraction`` of the
    height, never below the minimum. Lines still too wide at the minimum are wrapped.
    """
    if width <= 0 or height <= 0:
        raise ValueError("image size must be positive")
    lines = [line for line in lines if line]
    size = max(style.min_font_px, round(min(width, height) * style.font_scale))
    while True:
        padding = max(3, round(size * style.padding_em))
        available = width - 2 * padding
        widest = max((measure(line, size) for line in lines), default=0.0)
        line_height = math.ceil(size * style.line_spacing)
        band_height = len(lines) * line_height + 2 * padding
        too_wide = widest > available
        too_tall = band_height > height * style.max_band_fraction
        if size <= style.min_font_px or not (too_wide or too_tall):
            break
        shrink = min(available / widest if too_wide else 1.0, 1.0)
        if too_tall:
            shrink = min(
                shrink, (height * style.max_band_fraction - 2 * padding) / (len(lines) * line_height)
            )
        size = max(style.min_font_px, min(size - 1, math.floor(size * shrink)))

    wrapped = [part for line in lines for part in wrap_line(line, size, max(available, 1), measure)]
    band_height = min(height, len(wrapped) * line_height + 2 * padding)
    band_top = height - band_height
    ascent = round(size * 1.05)  # baseline offset inside a line box; CJK glyphs reach ~0.88 em up
    placed = tuple(
        PlacedLine(text, padding, band_top + padding + i * line_height + ascent)
        for i, text in enumerate(wrapped)
    )
    return BandLayout(size, band_top, band_height, padding, line_height, placed)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def default_font() -> FontSpec:
    """The first installed CJK-capable font from :data:`FONT_CANDIDATES`."""
    for path, face_name in FONT_CANDIDATES:
        for index in range(12):
            try:
                font = ImageFont.truetype(path, 16, index=index)
            except OSError:
                break
            if face_name is None or font.getname()[0] == face_name:
                return FontSpec(path, index)
    raise RuntimeError("no CJK font found: install fonts-noto-cjk")


@lru_cache(maxsize=64)
def load_font(spec: FontSpec, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(spec.path, size, index=spec.index)


def font_measure(spec: FontSpec) -> Measure:
    return lambda text, size: load_font(spec, size).getlength(text)


def _glyph_bitmap(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    left, top, right, bottom = font.getbbox(char)
    canvas = Image.new("L", (max(1, int(right - left)), max(1, int(bottom - top))))
    ImageDraw.Draw(canvas).text((-left, -top), char, font=font, fill=255)
    return canvas.size, canvas.tobytes()


def has_glyphs(font: ImageFont.FreeTypeFont, text: str) -> bool:
    """Whether every non-space character of ``text`` has its own glyph (no tofu box)."""
    missing = _glyph_bitmap(font, "\U0010fffd")
    return all(_glyph_bitmap(font, ch) != missing for ch in set(text) if not ch.isspace())


def draw_band(
    image: Image.Image,
    lines: Sequence[str],
    font: FontSpec | None = None,
    style: BandStyle = DEFAULT_STYLE,
) -> BandLayout:
    """Draw the band onto an RGB ``image`` in place; only the band's pixels are touched."""
    spec = font or default_font()
    layout = layout_band(image.width, image.height, lines, font_measure(spec), style)
    box = (0, layout.band_top, image.width, image.height)
    keep = 1.0 - style.shade
    region = image.crop(box).point([round(v * keep) for v in range(256)] * 3)  # darken by `shade`
    draw = ImageDraw.Draw(region)
    face = load_font(spec, layout.font_size)
    stroke = round(layout.font_size * style.outline_em)
    for line in layout.lines:
        draw.text(
            (line.x, line.baseline - layout.band_top),
            line.text,
            font=face,
            fill=style.text_colour,
            anchor="ls",
            stroke_width=stroke,
            stroke_fill=style.outline_colour if stroke else None,
        )
    image.paste(region, box[:2])
    return layout


def watermark_image(
    image: Image.Image,
    stamp: WatermarkStamp,
    *,
    max_side: int | None = None,
    font: FontSpec | None = None,
    labels: WatermarkLabels = WatermarkLabels(),
    style: BandStyle = DEFAULT_STYLE,
    in_place: bool = False,
) -> Image.Image:
    """Return the upright RGB image (optionally downscaled) with the band drawn.

    ``image`` is left untouched unless ``in_place`` is true; then, when no rotation, conversion or
    resize was needed, the band is drawn on ``image`` itself (saves a full-size copy).
    """
    result = images.to_rgb(images.upright(image))
    if max_side is not None:
        result = images.resize_within(result, max_side)
    if result is image and not in_place:
        result = image.copy()
    draw_band(result, stamp_lines(stamp, labels), font, style)
    return result


def render_watermarked(
    image: Image.Image,
    stamp: WatermarkStamp,
    *,
    quality: int = 85,
    max_side: int | None = None,
    font: FontSpec | None = None,
    labels: WatermarkLabels = WatermarkLabels(),
    style: BandStyle = DEFAULT_STYLE,
    in_place: bool = False,
) -> bytes:
    """The watermarked rendition as JPEG bytes (EXIF orientation applied first, no EXIF kept).

    See :func:`watermark_image` for ``in_place``.
    """
    marked = watermark_image(
        image, stamp, max_side=max_side, font=font, labels=labels, style=style, in_place=in_place
    )
    return images.encode(marked, "JPEG", quality, icc_profile=image.info.get("icc_profile"))
