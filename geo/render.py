"""The route audit drawn as a PNG with Pillow (no map tiles): planned route and corridor, actual
track, numbered stops, highlighted deviations, check-ins, a legend with the day's stops and
deviations, a scale bar and a title.

Drawing happens at twice the output size and is downsampled with a Lanczos filter, which gives
anti-aliased lines without a vector library. Text uses Noto Sans CJK when installed (Chinese
customer names render), else DejaVu Sans, else Pillow's built-in font.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont

from geo.checkin import CheckInMark
from geo.track.plan import RoutePlan, path_lonlat
from geo.track.projection import LocalProjection
from geo.track.result import DayAnalysis, Deviation

__all__ = ["COLORS", "MapFrame", "layout_day", "render_day_png"]

#: Colours of every layer (RGB), shared with tests that look for them in the picture.
COLORS: dict[str, tuple[int, int, int]] = {
    "background": (248, 248, 245),
    "grid": (232, 232, 226),
    "panel": (255, 255, 255),
    "panel_line": (220, 220, 214),
    "text": (33, 37, 41),
    "muted": (108, 117, 125),
    "corridor": (214, 228, 245),
    "route": (37, 99, 235),
    "track": (55, 65, 81),
    "off_route": (220, 38, 38),
    "gap": (156, 163, 175),
    "visit": (22, 163, 74),
    "unplanned": (234, 138, 0),
    "long_dwell": (147, 51, 234),
    "missed": (220, 38, 38),
    "verified": (22, 163, 74),
    "suspicious": (234, 138, 0),
    "rejected": (220, 38, 38),
    "title_bar": (30, 41, 59),
    "title_text": (255, 255, 255),
}

_SCALE = 2  # supersampling factor
_TITLE_H = 64
_PANEL_W = 300
_MARGIN = 28
_SCALE_BAR_H = 40  # strip under the map content for the scale bar

_FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # face 2 = Simplified Chinese
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
)
_BOLD_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 0),
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]


@lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> Font:
    for path, index in _BOLD_CANDIDATES if bold else _FONT_CANDIDATES:
        if Path(path).is_file():
            try:
                return ImageFont.truetype(path, size, index=index)
            except OSError:
                continue
    return ImageFont.load_default(size)


@dataclass(frozen=True, slots=True)
class MapFrame:
    """Where the map sits in the picture and how metres map to pixels (output pixels).

    Attributes:
        projection: the metric plane of the analysis.
        left, top, right, bottom: the map content area (px); the scale bar sits in a strip below.
        x0, y0: plane coordinates (m) of the map area's centre.
        px_per_m: scale, equal in x and y.
    """

    projection: LocalProjection
    left: int
    top: int
    right: int
    bottom: int
    x0: float
    y0: float
    px_per_m: float

    def to_px(self, lat: Sequence[float] | np.ndarray, lon: Sequence[float] | np.ndarray) -> np.ndarray:
        """``(n, 2)`` pixel positions (x right, y down) of WGS84 points."""
        x, y = self.projection.forward(lat, lon)
        return self.xy_to_px(x, y)

    def xy_to_px(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``(n, 2)`` pixel positions of plane coordinates (m)."""
        cx = (self.left + self.right) / 2
        cy = (self.top + self.bottom) / 2
        px = cx + (np.asarray(x) - self.x0) * self.px_per_m
        py = cy - (np.asarray(y) - self.y0) * self.px_per_m
        return np.column_stack((px, py))


def layout_day(
    analysis: DayAnalysis, plan: RoutePlan | None, width: int = 1200, height: int = 900
) -> MapFrame:
    """The map frame :func:`render_day_png` uses: everything drawn fits with a margin."""
    projection = analysis.track.projection
    xs: list[np.ndarray] = [analysis.track.x]
    ys: list[np.ndarray] = [analysis.track.y]
    if analysis.route is not None:
        xs.append(analysis.route.stop_x)
        ys.append(analysis.route.stop_y)
        if analysis.route.line is not None:
            coords = shapely.get_coordinates(analysis.route.line)
            xs.append(coords[:, 0])
            ys.append(coords[:, 1])
    if plan is not None and plan.stops and analysis.route is None:
        sx, sy = projection.forward([s.lat for s in plan.stops], [s.lon for s in plan.stops])
        xs.append(sx)
        ys.append(sy)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    left, top = _MARGIN, _TITLE_H + _MARGIN
    right, bottom = width - _PANEL_W - _MARGIN, height - _MARGIN - _SCALE_BAR_H
    if x.size == 0:
        return MapFrame(projection, left, top, right, bottom, 0.0, 0.0, 0.01)
    span_x = max(float(x.max() - x.min()), 200.0)
    span_y = max(float(y.max() - y.min()), 200.0)
    scale = min((right - left) / span_x, (bottom - top) / span_y) * 0.94
    return MapFrame(
        projection,
        left,
        top,
        right,
        bottom,
        float(x.min() + x.max()) / 2,
        float(y.min() + y.max()) / 2,
        scale,
    )


def render_day_png(
    analysis: DayAnalysis,
    plan: RoutePlan | None = None,
    width: int = 1200,
    height: int = 900,
    *,
    title: str = "",
    check_ins: Sequence[CheckInMark] = (),
    customer_names: Mapping[str, str] | None = None,
    tz: tzinfo = UTC,
) -> bytes:
    """The day as a PNG.

    Args:
        analysis: the analysed day.
        plan: the plan the analysis used (for its routed path and stop names).
        width, height: picture size (px), at least 640 x 480.
        title: e.g. the rep's name and the date; may contain any script.
        check_ins: check-ins to mark (coloured by verdict).
        customer_names: display names by customer id (plan stop names are used too).
        tz: time zone for the times printed in the legend (the tenant's zone).
    """
    if width < 640 or height < 480:
        raise ValueError("the picture must be at least 640 x 480")
    frame = layout_day(analysis, plan, width, height)
    names = {s.customer_id: s.name for s in (plan.stops if plan else ()) if s.name}
    names.update(customer_names or {})
    canvas = _Canvas(width, height)
    _draw_grid(canvas, frame)
    _draw_plan(canvas, frame, analysis, plan)
    _draw_track(canvas, frame, analysis)
    _draw_markers(canvas, frame, analysis, check_ins)
    _draw_scale_bar(canvas, frame)
    _draw_title(canvas, analysis, title, tz)
    _draw_panel(canvas, analysis, names, check_ins, tz)
    return canvas.png()


# --- canvas --------------------------------------------------------------------------------------


class _Canvas:
    """A supersampled RGB image; all public coordinates are output pixels."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.image = Image.new("RGB", (width * _SCALE, height * _SCALE), COLORS["background"])
        self.draw = ImageDraw.Draw(self.image)

    def line(self, pts: np.ndarray, color: tuple[int, int, int], width: float) -> None:
        if len(pts) < 2:
            return
        flat = [tuple(p) for p in (np.asarray(pts) * _SCALE).tolist()]
        self.draw.line(flat, fill=color, width=max(1, round(width * _SCALE)), joint="curve")

    def dashed(
        self, pts: np.ndarray, color: tuple[int, int, int], width: float, dash: float, gap: float
    ) -> None:
        """A dashed polyline, the pattern continuing across vertices."""
        pts = np.asarray(pts, dtype=np.float64)
        if len(pts) < 2:
            return
        seg = np.hypot(*np.diff(pts, axis=0).T)
        cum = np.concatenate(([0.0], np.cumsum(seg)))
        total = cum[-1]
        start = 0.0
        while start < total:
            stop = min(start + dash, total)
            self.line(_cut(pts, cum, start, stop), color, width)
            start = stop + gap

    def circle(
        self, x: float, y: float, r: float, fill: RGB | None, outline: RGB | None = None, width: float = 1.0
    ) -> None:
        s = _SCALE
        self.draw.ellipse(
            (x * s - r * s, y * s - r * s, x * s + r * s, y * s + r * s),
            fill=fill,
            outline=outline,
            width=max(1, round(width * s)),
        )

    def polygon(
        self,
        pts: Sequence[tuple[float, float]],
        fill: RGB | None,
        outline: RGB | None = None,
        width: float = 1.0,
    ) -> None:
        self.draw.polygon(
            [(x * _SCALE, y * _SCALE) for x, y in pts],
            fill=fill,
            outline=outline,
            width=round(width * _SCALE),
        )

    def rect(
        self,
        box: tuple[float, float, float, float],
        fill: RGB | None,
        outline: RGB | None = None,
        width: float = 1.0,
    ) -> None:
        self.draw.rectangle(
            tuple(v * _SCALE for v in box), fill=fill, outline=outline, width=round(width * _SCALE)
        )

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        size: int,
        color: tuple[int, int, int],
        bold: bool = False,
        anchor: str = "la",
    ) -> float:
        """Draw text; returns its width in output pixels."""
        font = _font(size * _SCALE, bold)
        self.draw.text((xy[0] * _SCALE, xy[1] * _SCALE), text, font=font, fill=color, anchor=anchor)
        return self.draw.textlength(text, font=font) / _SCALE

    def text_width(self, text: str, size: int, bold: bool = False) -> float:
        return self.draw.textlength(text, font=_font(size * _SCALE, bold)) / _SCALE

    def mask_fill(
        self, polygons: Sequence[np.ndarray], holes: Sequence[np.ndarray], color: RGB, alpha: int
    ) -> None:
        """Fill polygons (with holes) in a translucent colour."""
        mask = Image.new("L", self.image.size, 0)
        mdraw = ImageDraw.Draw(mask)
        for ring in polygons:
            if len(ring) >= 3:
                mdraw.polygon([tuple(p) for p in (ring * _SCALE).tolist()], fill=alpha)
        for ring in holes:
            if len(ring) >= 3:
                mdraw.polygon([tuple(p) for p in (ring * _SCALE).tolist()], fill=0)
        self.image.paste(Image.new("RGB", self.image.size, color), (0, 0), mask)

    def png(self) -> bytes:
        out = self.image.resize((self.width, self.height), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        out.save(buf, format="PNG", optimize=True)
        return buf.getvalue()


def _cut(pts: np.ndarray, cum: np.ndarray, a: float, b: float) -> np.ndarray:
    """The part of a polyline between arc lengths a and b."""
    inner = pts[(cum > a) & (cum < b)]
    return np.vstack((_at(pts, cum, a), inner, _at(pts, cum, b)))


def _at(pts: np.ndarray, cum: np.ndarray, s: float) -> np.ndarray:
    i = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(pts) - 2))
    span = cum[i + 1] - cum[i]
    f = 0.0 if span == 0 else (s - cum[i]) / span
    return pts[i] + (pts[i + 1] - pts[i]) * f


# --- map layers ----------------------------------------------------------------------------------


def _nice(value: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``value``."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (5, 2, 1):
        if m * 10**exp <= value:
            return float(m * 10**exp)
    return float(10**exp)


def _draw_grid(canvas: _Canvas, frame: MapFrame) -> None:
    """Map background with a light grid at a round distance (the scale bar's unit)."""
    bottom = frame.bottom + _SCALE_BAR_H
    canvas.rect((frame.left, frame.top, frame.right, bottom), COLORS["background"], COLORS["panel_line"])
    step_m = _nice((frame.right - frame.left) / frame.px_per_m / 6)
    cx, cy = (frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2
    x_min = frame.x0 + (frame.left - cx) / frame.px_per_m
    x_max = frame.x0 + (frame.right - cx) / frame.px_per_m
    y_min = frame.y0 - (bottom - cy) / frame.px_per_m
    y_max = frame.y0 - (frame.top - cy) / frame.px_per_m
    for gx in np.arange(math.ceil(x_min / step_m), math.floor(x_max / step_m) + 1) * step_m:
        px = cx + (gx - frame.x0) * frame.px_per_m
        canvas.line(np.array([[px, frame.top + 1], [px, bottom - 1]]), COLORS["grid"], 1)
    for gy in np.arange(math.ceil(y_min / step_m), math.floor(y_max / step_m) + 1) * step_m:
        py = cy - (gy - frame.y0) * frame.px_per_m
        canvas.line(np.array([[frame.left + 1, py], [frame.right - 1, py]]), COLORS["grid"], 1)


def _draw_plan(canvas: _Canvas, frame: MapFrame, analysis: DayAnalysis, plan: RoutePlan | None) -> None:
    route = analysis.route
    if route is None:
        return
    if route.corridor is not None:
        outer: list[np.ndarray] = []
        inner: list[np.ndarray] = []
        for poly in shapely.get_parts(route.corridor):
            if not isinstance(poly, shapely.Polygon):
                continue
            ext = shapely.get_coordinates(poly.exterior)
            outer.append(frame.xy_to_px(ext[:, 0], ext[:, 1]))
            for ring in poly.interiors:
                c = shapely.get_coordinates(ring)
                inner.append(frame.xy_to_px(c[:, 0], c[:, 1]))
        canvas.mask_fill(outer, inner, COLORS["corridor"], 150)
    path = path_lonlat(plan.path) if plan is not None else None
    if path is not None:
        pts = frame.to_px(path[:, 1], path[:, 0])
    elif route.line is not None and isinstance(route.line, shapely.LineString):
        c = shapely.get_coordinates(route.line)
        pts = frame.xy_to_px(c[:, 0], c[:, 1])
    else:
        return
    canvas.dashed(pts, COLORS["route"], 3.0, 14.0, 7.0)


def _draw_track(canvas: _Canvas, frame: MapFrame, analysis: DayAnalysis) -> None:
    track = analysis.track
    segments = [frame.to_px(seg[:, 1], seg[:, 0]) for seg in analysis.simplified.segments]
    # Gaps: thin dotted straight lines between the pieces.
    for gap in analysis.gaps:
        k = gap.before_index
        pts = frame.xy_to_px(track.x[k : k + 2], track.y[k : k + 2])
        canvas.dashed(pts, COLORS["gap"], 2.0, 5.0, 5.0)
    # Off-route stretches underneath the track as a wide red band.
    for dev in analysis.deviations:
        if dev.kind == "off_route" and dev.first_index is not None and dev.last_index is not None:
            lo, hi = dev.first_index, dev.last_index + 1
            line = (
                shapely.simplify(shapely.linestrings(track.x[lo:hi], track.y[lo:hi]), 2.0)
                if hi - lo >= 2
                else None
            )
            if line is not None:
                c = shapely.get_coordinates(line)
                canvas.line(frame.xy_to_px(c[:, 0], c[:, 1]), COLORS["off_route"], 9.0)
    for pts in segments:
        canvas.line(pts, COLORS["track"], 2.2)
        if len(pts) == 1:
            canvas.circle(pts[0, 0], pts[0, 1], 2.0, COLORS["track"])


def _draw_markers(
    canvas: _Canvas, frame: MapFrame, analysis: DayAnalysis, check_ins: Sequence[CheckInMark]
) -> None:
    route = analysis.route
    # Planned stops: squares. Visited with a stay: a larger square framing the visit's disc;
    # passed (counted): a small square with the plan number; missed: the same in red, crossed.
    if route is not None:
        pts = frame.xy_to_px(route.stop_x, route.stop_y)
        for status, (px, py) in zip(analysis.planned_stops, pts.tolist(), strict=False):
            if status.status == "visited":
                r = 15.0
                canvas.rect((px - r, py - r, px + r, py + r), COLORS["panel"], COLORS["route"], 2.0)
                continue
            r = 8.0
            color = COLORS["route"] if status.counted_visited else COLORS["missed"]
            canvas.rect((px - r, py - r, px + r, py + r), COLORS["panel"], color, 2.0)
            canvas.text((px, py), str(status.seq + 1), 9, color, bold=True, anchor="mm")
            if not status.counted_visited:
                canvas.line(np.array([[px - r - 4, py - r - 4], [px + r + 4, py + r + 4]]), color, 2.0)
                canvas.line(np.array([[px - r - 4, py + r + 4], [px + r + 4, py - r - 4]]), color, 2.0)
    # Check-ins: pins whose tip is the check-in fix and whose diamond head shows the verdict; drawn
    # under the stop discs, the head still shows beside a visit.
    for mark in check_ins:
        (px, py) = frame.to_px([mark.lat], [mark.lon])[0]
        _pin(canvas, px, py, COLORS[mark.status])
    # Detected stops: numbered discs in time order.
    long_dwell = {(d.start, d.end) for d in analysis.deviations if d.kind == "long_dwell"}
    for number, stop in enumerate(analysis.stops, start=1):
        (px, py) = frame.to_px([stop.lat], [stop.lon])[0]
        color = COLORS["visit"] if stop.kind == "customer_visit" else COLORS["unplanned"]
        if (stop.start, stop.end) in long_dwell:
            canvas.circle(px, py, 16.0, None, COLORS["long_dwell"], 3.0)
        canvas.circle(px, py, 11.0, color, COLORS["panel"], 2.0)
        canvas.text((px, py), str(number), 11, COLORS["title_text"], bold=True, anchor="mm")


def _pin(canvas: _Canvas, px: float, py: float, color: tuple[int, int, int], height: float = 22.0) -> None:
    r = 6.5
    hx, hy = px + height * 0.45, py - height
    canvas.line(np.array([[px, py], [hx, hy]]), COLORS["text"], 1.6)
    canvas.circle(px, py, 2.2, COLORS["text"])
    canvas.polygon([(hx, hy - r), (hx + r, hy), (hx, hy + r), (hx - r, hy)], color, COLORS["text"], 1.2)


def _draw_scale_bar(canvas: _Canvas, frame: MapFrame) -> None:
    target_m = (frame.right - frame.left) * 0.22 / frame.px_per_m
    length_m = _nice(target_m)
    length_px = length_m * frame.px_per_m
    x0, y0 = frame.left + 16, frame.bottom + _SCALE_BAR_H - 14
    canvas.rect((x0 - 8, y0 - 24, x0 + length_px + 40, y0 + 8), COLORS["panel"], COLORS["panel_line"])
    canvas.rect((x0, y0 - 4, x0 + length_px / 2, y0), COLORS["text"])
    canvas.rect((x0 + length_px / 2, y0 - 4, x0 + length_px, y0), COLORS["panel"], COLORS["text"])
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    canvas.text((x0 + length_px / 2, y0 - 8), label, 11, COLORS["text"], anchor="mb")
    # North arrow beside the scale bar (the map is drawn north-up).
    nx, ny = x0 + length_px + 20, y0 - 12
    canvas.polygon([(nx, ny - 9), (nx + 6, ny + 7), (nx, ny + 3), (nx - 6, ny + 7)], COLORS["text"])
    canvas.text((nx, ny + 9), "N", 9, COLORS["text"], bold=True, anchor="mt")


# --- title and legend panel ----------------------------------------------------------------------


def _hm(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%H:%M") if value else "--:--"


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _draw_title(canvas: _Canvas, analysis: DayAnalysis, title: str, tz: tzinfo) -> None:
    s = analysis.summary
    canvas.rect((0, 0, canvas.width, _TITLE_H), COLORS["title_bar"])
    canvas.text((_MARGIN, 12), title or "Route audit", 20, COLORS["title_text"], bold=True)
    span = f"{_hm(s.first_fix_at, tz)}-{_hm(s.last_fix_at, tz)}" if s.first_fix_at else "no GPS fixes"
    planned = f"{s.visited_count}/{s.planned_count} planned visits" if s.planned_count else "no plan"
    facts = (
        f"{span}  ·  {s.km_travelled:.1f} km  ·  {planned}  ·  on site {_duration(s.time_on_site_s)}"
        f"  ·  moving {_duration(s.time_moving_s)}  ·  {len(analysis.deviations)} deviations"
    )
    canvas.text((_MARGIN, 40), facts, 12, (203, 213, 225))


def _draw_panel(
    canvas: _Canvas,
    analysis: DayAnalysis,
    names: Mapping[str, str],
    check_ins: Sequence[CheckInMark],
    tz: tzinfo,
) -> None:
    x0 = canvas.width - _PANEL_W
    canvas.rect((x0, _TITLE_H, canvas.width, canvas.height), COLORS["panel"])
    canvas.line(np.array([[x0, _TITLE_H], [x0, canvas.height]]), COLORS["panel_line"], 1.0)
    x, y = x0 + 18, _TITLE_H + 16
    canvas.text((x, y), "Legend", 13, COLORS["text"], bold=True)
    y += 24
    rows: list[tuple[str, str]] = [
        ("route", "Planned route and corridor"),
        ("track", "Actual track"),
        ("off_route", "Off route"),
        ("gap", "GPS gap"),
        ("visit", "Customer visit"),
        ("unplanned", "Unplanned stop"),
        ("long_dwell", "Long dwell"),
        ("planned", "Planned stop, visited / passed"),
        ("missed", "Missed planned stop"),
        ("checkin", "Check-in: verified / suspicious / rejected"),
    ]
    for key, label in rows:
        _legend_symbol(canvas, key, x + 12, y + 8)
        canvas.text((x + 32, y), label, 11, COLORS["text"])
        y += 20
    y += 8
    bottom = canvas.height - 12
    y = _section(canvas, x, y, bottom, "Stops", _stop_lines(analysis, names, tz))
    y = _section(canvas, x, y + 6, bottom, "Deviations", _deviation_lines(analysis.deviations, names, tz))
    if check_ins:
        lines = [
            (
                COLORS[c.status],
                f"{_hm(c.at, tz)}  {names.get(c.customer_id or '', c.customer_name or '')}  {c.status}",
            )
            for c in check_ins
        ]
        _section(canvas, x, y + 6, bottom, "Check-ins", lines)


def _legend_symbol(canvas: _Canvas, key: str, cx: float, cy: float) -> None:
    if key == "route":
        canvas.rect((cx - 12, cy - 5, cx + 12, cy + 5), COLORS["corridor"])
        canvas.dashed(np.array([[cx - 12, cy], [cx + 12, cy]]), COLORS["route"], 3.0, 7.0, 4.0)
    elif key == "track":
        canvas.line(np.array([[cx - 12, cy], [cx + 12, cy]]), COLORS["track"], 2.2)
    elif key == "off_route":
        canvas.line(np.array([[cx - 12, cy], [cx + 12, cy]]), COLORS["off_route"], 8.0)
        canvas.line(np.array([[cx - 12, cy], [cx + 12, cy]]), COLORS["track"], 2.2)
    elif key == "gap":
        canvas.dashed(np.array([[cx - 12, cy], [cx + 12, cy]]), COLORS["gap"], 1.5, 3.0, 4.0)
    elif key in ("visit", "unplanned"):
        canvas.circle(cx, cy, 7.0, COLORS[key], COLORS["panel"], 1.5)
    elif key == "long_dwell":
        canvas.circle(cx, cy, 8.0, None, COLORS["long_dwell"], 2.5)
        canvas.circle(cx, cy, 4.5, COLORS["unplanned"])
    elif key == "planned":
        canvas.rect((cx - 16, cy - 8, cx - 2, cy + 6), COLORS["panel"], COLORS["route"], 2.0)
        canvas.circle(cx - 9, cy - 1, 4.5, COLORS["visit"])
        canvas.rect((cx + 4, cy - 5, cx + 14, cy + 5), COLORS["panel"], COLORS["route"], 1.6)
    elif key == "missed":
        canvas.rect((cx - 6, cy - 6, cx + 6, cy + 6), COLORS["panel"], COLORS["missed"], 2.0)
        canvas.line(np.array([[cx - 9, cy - 9], [cx + 9, cy + 9]]), COLORS["missed"], 1.6)
        canvas.line(np.array([[cx - 9, cy + 9], [cx + 9, cy - 9]]), COLORS["missed"], 1.6)
    elif key == "checkin":
        for dx, status in ((-11, "verified"), (0, "suspicious"), (11, "rejected")):
            r = 5.0
            canvas.polygon(
                [(cx + dx, cy - r), (cx + dx + r, cy), (cx + dx, cy + r), (cx + dx - r, cy)],
                COLORS[status],
                COLORS["text"],
                1.0,
            )


def _stop_lines(
    analysis: DayAnalysis, names: Mapping[str, str], tz: tzinfo
) -> list[tuple[tuple[int, int, int], str]]:
    lines = []
    for number, stop in enumerate(analysis.stops, start=1):
        who = names.get(stop.customer_id, stop.customer_id) if stop.customer_id else "unplanned stop"
        color = COLORS["visit"] if stop.kind == "customer_visit" else COLORS["unplanned"]
        lines.append((color, f"{number}. {_hm(stop.start, tz)} {_duration(stop.duration_s)}  {who}"))
    return lines


def _deviation_lines(
    deviations: Sequence[Deviation], names: Mapping[str, str], tz: tzinfo
) -> list[tuple[tuple[int, int, int], str]]:
    labels = {
        "off_route": "off route",
        "long_dwell": "long dwell",
        "missed_visit": "missed",
        "unplanned_visit": "unplanned visit",
        "gps_gap": "GPS gap",
    }
    colors = {
        "off_route": COLORS["off_route"],
        "long_dwell": COLORS["long_dwell"],
        "missed_visit": COLORS["missed"],
        "unplanned_visit": COLORS["unplanned"],
        "gps_gap": COLORS["muted"],
    }
    lines = []
    for d in deviations:
        if d.kind == "missed_visit":
            # A missed visit has a time only when the plan gave one (start == end == planned_at).
            when = f"plan {_hm(d.start, tz)}" if d.start is not None and d.start == d.end else ""
        else:
            when = _hm(d.start, tz)
        parts = [when, labels[d.kind]]
        if d.duration_s:
            parts.append(_duration(d.duration_s))
        if d.kind == "off_route" and d.max_distance_m is not None:
            parts.append(f"up to {d.max_distance_m:.0f} m")
        if d.customer_id:
            parts.append(names.get(d.customer_id, d.customer_id))
        lines.append((colors[d.kind], "  ".join(p for p in parts if p)))
    return lines


def _section(
    canvas: _Canvas,
    x: float,
    y: float,
    bottom: float,
    heading: str,
    lines: Sequence[tuple[tuple[int, int, int], str]],
) -> float:
    canvas.text((x, y), f"{heading} ({len(lines)})", 13, COLORS["text"], bold=True)
    y += 22
    max_w = _PANEL_W - 40
    for i, (color, text) in enumerate(lines):
        if y + 17 > bottom - (17 if i < len(lines) - 1 else 0):
            canvas.text((x + 12, y), f"… {len(lines) - i} more", 11, COLORS["muted"])
            return y + 17
        canvas.circle(x + 4, y + 7, 3.5, color)
        canvas.text((x + 14, y), _ellipsize(canvas, text, 11, max_w - 14), 11, COLORS["text"])
        y += 17
    if not lines:
        canvas.text((x + 12, y), "none", 11, COLORS["muted"])
        y += 17
    return y


def _ellipsize(canvas: _Canvas, text: str, size: int, max_w: float) -> str:
    if canvas.text_width(text, size) <= max_w:
        return text
    while text and canvas.text_width(text + "…", size) > max_w:
        text = text[:-1]
    return text + "…"
