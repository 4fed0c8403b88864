"""The day's planned route: ordered stops and an optional routed path, on the metric plane."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.track.model import FloatArray
from geo.track.params import AnalysisParams
from geo.track.projection import LocalProjection

__all__ = ["PlannedRoute", "PlannedStop", "RoutePlan", "build_route", "path_lonlat"]

LonLat = tuple[float, float]


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """One stop of the day's plan (the wire contract's ``route_plan.stops`` item, resolved).

    Attributes:
        customer_id: the customer to visit.
        lat, lon: the customer's WGS84 location.
        planned_at: planned arrival, if the plan has one.
        radius_m: the customer's geofence radius (m); None = ``AnalysisParams.default_radius_m``.
        name: display name for maps (any script).
    """

    customer_id: str
    lat: float
    lon: float
    planned_at: datetime | None = None
    radius_m: float | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """A rep's plan for one day.

    Attributes:
        stops: planned stops in the planned order.
        path: the routed road path as a list of ``(lon, lat)`` pairs, a GeoJSON LineString
            (geometry or Feature); None means straight legs between the stops.
    """

    stops: Sequence[PlannedStop] = ()
    path: Sequence[Sequence[float]] | Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, eq=False)
class PlannedRoute:
    """The plan on the metric plane, ready for corridor tests.

    Attributes:
        line: the planned route (routed path, or straight legs between stops), metres; None
            when the plan has neither a path nor a stop.
        corridor: prepared polygon: the line buffered by ``corridor_m`` plus each stop's circle.
        corridor_m: the half-width used (m).
        routed: True when ``line`` is a routed path, False for straight legs.
        stop_x, stop_y: planned stop positions (m), in plan order.
        stop_radius_m: geofence radius of each stop (m).
    """

    line: shapely.LineString | shapely.Point | None
    corridor: BaseGeometry | None
    corridor_m: float
    routed: bool
    stop_x: FloatArray
    stop_y: FloatArray
    stop_radius_m: FloatArray


#: The corridor is buffered in pieces of this many segments and then united. One buffer of a
#: path that doubles back on itself many times (a day's own track used as the plan) took
#: 5.8 s in GEOS for 2 000 vertices; pieces of 16 take 37 ms there and 3 ms for a plain
#: 750-vertex road route.
_CORRIDOR_PIECE = 16


def _pieces(line: shapely.LineString | shapely.Point, size: int) -> list[BaseGeometry]:
    """The line cut into consecutive pieces of ``size`` segments (a point stays whole)."""
    if not isinstance(line, shapely.LineString):
        return [line]
    coords = shapely.get_coordinates(line)
    starts = range(0, max(len(coords) - 1, 1), size)
    return [shapely.linestrings(coords[i : i + size + 1]) for i in starts]


def path_lonlat(path: Sequence[Sequence[float]] | Mapping[str, Any] | None) -> FloatArray | None:
    """The path as an ``(n, 2)`` array of ``(lon, lat)``, or None.

    Accepts a list of ``(lon, lat)`` pairs, a GeoJSON LineString geometry or a Feature holding one.

    Raises:
        ValueError: not a LineString, fewer than two positions, or coordinates out of range.
    """
    if path is None:
        return None
    coords: Any = path
    if isinstance(path, Mapping):
        geometry = path.get("geometry", path) if path.get("type") == "Feature" else path
        if not isinstance(geometry, Mapping) or geometry.get("type") != "LineString":
            raise ValueError("path must be a GeoJSON LineString")
        coords = geometry.get("coordinates")
    try:
        arr = np.asarray([(float(c[0]), float(c[1])) for c in coords], dtype=np.float64)
    except (TypeError, IndexError, ValueError) as exc:
        raise ValueError("path positions must be (lon, lat) pairs") from exc
    if arr.shape[0] < 2:
        raise ValueError("path needs at least two positions")
    if not (np.isfinite(arr).all() and (np.abs(arr[:, 0]) <= 180).all() and (np.abs(arr[:, 1]) <= 90).all()):
        raise ValueError("path coordinates out of range")
    return arr


def build_route(
    plan: RoutePlan, projection: LocalProjection, params: AnalysisParams | None = None
) -> PlannedRoute:
    """Project the plan and build its corridor.

    The corridor is the planned line buffered by ``corridor_path_m`` (routed path) or
    ``corridor_straight_m`` (straight legs), united with every stop's geofence circle so time at a
    customer set back from the road is never off-route. It is prepared once, so the per-fix test
    (``shapely.contains_xy``) costs microseconds per thousand fixes.
    """
    p = params or AnalysisParams()
    stops = list(plan.stops)
    for stop in stops:
        if not (
            math.isfinite(stop.lat)
            and math.isfinite(stop.lon)
            and abs(stop.lat) <= 90
            and abs(stop.lon) <= 180
        ):
            raise ValueError(f"planned stop {stop.customer_id!r} has coordinates out of range")
    sx, sy = projection.forward([s.lat for s in stops], [s.lon for s in stops])
    radii = np.array(
        [s.radius_m if s.radius_m is not None and s.radius_m > 0 else p.default_radius_m for s in stops],
        dtype=np.float64,
    )
    path = path_lonlat(plan.path)
    line: shapely.LineString | shapely.Point | None
    if path is not None:
        px, py = projection.forward(path[:, 1], path[:, 0])
        line, routed, width = shapely.linestrings(px, py), True, p.corridor_path_m
    elif len(stops) >= 2:
        line, routed, width = shapely.linestrings(sx, sy), False, p.corridor_straight_m
    elif len(stops) == 1:
        line, routed, width = shapely.points(sx[0], sy[0]), False, p.corridor_straight_m
    else:
        line, routed, width = None, False, p.corridor_straight_m

    corridor: BaseGeometry | None = None
    if line is not None:
        shapely.prepare(line)  # distances of off-route fixes to the line use its index
        parts = _pieces(line, _CORRIDOR_PIECE)
        polygons = [*shapely.buffer(parts, width, quad_segs=4).tolist()]
        if stops:
            polygons.extend(shapely.buffer(shapely.points(sx, sy), radii, quad_segs=8).tolist())
        corridor = shapely.union_all(polygons)
        shapely.prepare(corridor)
    return PlannedRoute(
        line=line,
        corridor=corridor,
        corridor_m=width,
        routed=routed,
        stop_x=sx,
        stop_y=sy,
        stop_radius_m=radii,
    )
