"""The audit picture: decodes, right size, and each layer's colour where that layer is."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from trackgen import DayBuilder

from geo.checkin import CheckInMark
from geo.render import COLORS, _font, layout_day, render_day_png
from geo.track import RoutePlan, Track, analyze_day

A, B, C, D = (2000.0, 0.0), (4000.0, 1500.0), (6000.0, 0.0), (8000.0, 1000.0)
MID = (5000.0, 750.0)
FAR = (MID[0] + 1200.0, MID[1] + 1600.0)
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@pytest.fixture(scope="module")
def day():
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(20 * 60)
    b.drive_to(*B)
    b.stay(15 * 60)
    b.drive_to(*MID)
    b.drive_to(*FAR)  # detour: 2 km off the B-C leg
    b.stay(10 * 60, jitter_m=3.0)
    b.drive_to(*MID)
    b.drive_to(*C)
    b.stay(15 * 60)
    b.drive_to(0.0, -2500.0)  # home, south of everything; D is never visited
    plan = RoutePlan(
        stops=[
            replace(b.planned("A", *A), name="上海华联超市"),
            b.planned("B", *B),
            b.planned("C", *C),
            b.planned("D", *D),
        ]
    )
    analysis = analyze_day(b.track(), plan)
    lat, lon = b.latlon(A[0] + 300.0, A[1] - 300.0)
    marks = [CheckInMark(at=datetime(2025, 3, 4, 1, 0, tzinfo=UTC), lat=lat, lon=lon, status="rejected")]
    png = render_day_png(analysis, plan, title="王小明 · 2025-03-04", check_ins=marks)
    image = Image.open(io.BytesIO(png))
    image.load()
    return b, plan, analysis, marks, png, image.convert("RGB")


def px_at(
    b: DayBuilder, analysis, plan, x: float, y: float, width: int = 1200, height: int = 900
) -> tuple[int, int]:
    lat, lon = b.latlon(x, y)
    p = layout_day(analysis, plan, width, height).to_px([lat], [lon])[0]
    return round(p[0]), round(p[1])


def has_color(
    image: Image.Image, center: tuple[int, int], color: tuple[int, int, int], radius: int = 4, tol: int = 40
) -> bool:
    """Some pixel within ``radius`` of ``center`` is within ``tol`` of ``color`` on every channel."""
    x, y = center
    box = np.asarray(image.crop((x - radius, y - radius, x + radius + 1, y + radius + 1)), dtype=int)
    return bool((np.abs(box - np.array(color)).max(axis=2) <= tol).any())


def test_png_decodes_with_the_requested_size(day) -> None:
    *_, png, image = day
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.size == (1200, 900)
    other = render_day_png(day[2], day[1], width=800, height=600)
    assert Image.open(io.BytesIO(other)).size == (800, 600)


def test_off_route_stretch_is_red(day) -> None:
    b, plan, analysis, *_, image = day
    # Three quarters of the way out on the detour, well outside the 300 m corridor.
    point = (MID[0] + 0.75 * (FAR[0] - MID[0]), MID[1] + 0.75 * (FAR[1] - MID[1]))
    assert has_color(image, px_at(b, analysis, plan, *point), COLORS["off_route"])
    # The normal drive back south is track-coloured, not red.
    home_leg = px_at(b, analysis, plan, 3000.0, -1250.0)
    assert has_color(image, home_leg, COLORS["track"])
    assert not has_color(image, home_leg, COLORS["off_route"], radius=6)


def test_planned_route_is_drawn_where_the_rep_did_not_go(day) -> None:
    b, plan, analysis, *_, image = day
    # The C-D leg was never driven: only the dashed route colour and the corridor are there.
    leg = [(C[0] + f * (D[0] - C[0]), C[1] + f * (D[1] - C[1])) for f in (0.3, 0.45, 0.6)]
    hits = [has_color(image, px_at(b, analysis, plan, *p), COLORS["route"], radius=6) for p in leg]
    assert sum(hits) >= 2  # dashes leave holes, but not at two of three places 300 m apart
    assert not any(
        has_color(image, px_at(b, analysis, plan, *p), COLORS["track"], radius=3, tol=25) for p in leg
    )
    # Beside the leg, inside the corridor: the corridor tint.
    beside = px_at(b, analysis, plan, 7000.0, 500.0 + 200.0)
    assert has_color(image, beside, COLORS["corridor"], radius=2, tol=12)


def test_missed_stop_is_crossed_in_red_and_visits_are_green(day) -> None:
    b, plan, analysis, *_, image = day
    assert has_color(image, px_at(b, analysis, plan, *D), COLORS["missed"], radius=12)
    for stop in analysis.stops:
        if stop.kind == "customer_visit":
            p = layout_day(analysis, plan).to_px([stop.lat], [stop.lon])[0]
            assert has_color(image, (round(p[0]) + 6, round(p[1])), COLORS["visit"], radius=2)


def test_check_in_pin_shows_its_verdict_colour(day) -> None:
    b, plan, analysis, _marks, _png, image = day
    x, y = px_at(b, analysis, plan, A[0] + 300.0, A[1] - 300.0)
    head = (round(x + 22 * 0.45), round(y - 22))
    assert has_color(image, head, COLORS["rejected"], radius=3)


def test_background_title_and_panel(day) -> None:
    *_, image = day
    assert has_color(image, (600, 10), COLORS["title_bar"], radius=2, tol=5)
    assert has_color(image, (1190, 880), COLORS["panel"], radius=2, tol=5)
    # The map's top-right corner area is empty background (only grid lines).
    assert has_color(image, (850, 100), COLORS["background"], radius=3, tol=6)


def test_cjk_font_renders_distinct_glyphs() -> None:
    if not CJK_FONT.is_file():
        pytest.skip("Noto Sans CJK not installed; the renderer falls back to DejaVu")
    font = _font(32)
    assert "NotoSansCJK" in str(getattr(font, "path", ""))

    def glyph(ch: str) -> bytes:
        img = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(img).text((4, 4), ch, font=font, fill=255)
        return img.tobytes()

    # A font without these glyphs draws the same empty box for both.
    assert glyph("上") != glyph("海")
    assert any(glyph("上"))


def test_empty_day_still_renders() -> None:
    analysis = analyze_day(Track.from_arrays([], [], []))
    image = Image.open(io.BytesIO(render_day_png(analysis, None, title="no data")))
    assert image.size == (1200, 900)


def test_too_small_a_picture_is_refused(day) -> None:
    with pytest.raises(ValueError, match="at least"):
        render_day_png(day[2], day[1], width=300, height=200)
