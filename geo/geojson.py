"""The route audit as one GeoJSON FeatureCollection (RFC 7946: WGS84, ``[lon, lat]`` order).

Every feature carries ``properties.layer``: ``planned_route``, ``planned_stop``, ``track``,
``stop``, ``deviation`` or ``check_in``, so a map client styles layers by one property. Times are
RFC 3339 UTC strings with milliseconds; coordinates are rounded to 6 decimals (about 0.1 m).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from geo.checkin import CheckInMark
from geo.track.plan import RoutePlan, path_lonlat
from geo.track.result import DayAnalysis, Deviation, iso_utc

__all__ = ["day_feature_collection"]

_DECIMALS = 6


def day_feature_collection(
    analysis: DayAnalysis, plan: RoutePlan | None = None, check_ins: Sequence[CheckInMark] = ()
) -> dict[str, Any]:
    """The day as a FeatureCollection: planned route and stops, simplified actual track, detected
    stops, deviations and check-ins.

    Off-route deviations are LineStrings along the fixes that left the corridor, GPS gaps are
    two-position LineStrings between the gap's ends, other deviations are Points (missed visits
    at the planned stop). The collection also carries a ``bbox``.
    """
    features: list[dict[str, Any]] = []
    if plan is not None:
        features.extend(_plan_features(analysis, plan))
    track = [_coords(seg) for seg in analysis.simplified.segments if seg.shape[0] >= 2]
    if track:
        features.append(
            _feature(
                {"type": "MultiLineString", "coordinates": track},
                layer="track",
                km_travelled=round(analysis.summary.km_travelled, 3),
                fixes_used=analysis.summary.fixes_used,
            )
        )
    for number, stop in enumerate(analysis.stops, start=1):
        features.append(
            _feature(
                _point(stop.lon, stop.lat),
                layer="stop",
                number=number,
                kind=stop.kind,
                customer_id=stop.customer_id,
                planned_seq=stop.planned_seq,
                start=iso_utc(stop.start),
                end=iso_utc(stop.end),
                duration_s=round(stop.duration_s, 1),
            )
        )
    for deviation in analysis.deviations:
        geometry = _deviation_geometry(analysis, deviation)
        if geometry is None:
            continue
        features.append(
            _feature(
                geometry,
                layer="deviation",
                kind=deviation.kind,
                start=iso_utc(deviation.start),
                end=iso_utc(deviation.end),
                max_distance_m=_round(deviation.max_distance_m, 1),
                length_km=_round(deviation.length_km, 3),
                duration_s=_round(deviation.duration_s, 1),
                customer_id=deviation.customer_id,
                detail=deviation.detail,
            )
        )
    for mark in check_ins:
        features.append(
            _feature(
                _point(mark.lon, mark.lat),
                layer="check_in",
                at=iso_utc(mark.at),
                status=mark.status,
                customer_id=mark.customer_id,
                customer_name=mark.customer_name,
                distance_m=_round(mark.distance_m, 1),
                reasons=list(mark.reasons),
            )
        )
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    bbox = _bbox(features)
    if bbox is not None:
        collection["bbox"] = bbox
    return collection


def _plan_features(analysis: DayAnalysis, plan: RoutePlan) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    path = path_lonlat(plan.path)
    stops = list(plan.stops)
    line = path if path is not None else np.array([(s.lon, s.lat) for s in stops], dtype=np.float64)
    if line.shape[0] >= 2:
        features.append(
            _feature(
                {"type": "LineString", "coordinates": _coords(line)},
                layer="planned_route",
                routed=path is not None,
                corridor_m=analysis.route.corridor_m if analysis.route is not None else None,
            )
        )
    status = {s.seq: s for s in analysis.planned_stops}
    for seq, stop in enumerate(stops):
        st = status.get(seq)
        features.append(
            _feature(
                _point(stop.lon, stop.lat),
                layer="planned_stop",
                seq=seq + 1,
                customer_id=stop.customer_id,
                name=stop.name,
                planned_at=iso_utc(stop.planned_at),
                status=st.status if st else None,
                arrived_at=iso_utc(st.arrived_at) if st else None,
                closest_m=_round(st.closest_m, 1) if st else None,
            )
        )
    return features


def _deviation_geometry(analysis: DayAnalysis, deviation: Deviation) -> dict[str, Any] | None:
    track = analysis.track
    if (
        deviation.kind == "off_route"
        and deviation.first_index is not None
        and deviation.last_index is not None
    ):
        lo, hi = deviation.first_index, deviation.last_index + 1
        coords = np.column_stack((track.lon[lo:hi], track.lat[lo:hi]))
        if coords.shape[0] >= 2:
            return {"type": "LineString", "coordinates": _coords(coords)}
    if deviation.kind == "gps_gap" and deviation.first_index is not None:
        k = deviation.first_index
        coords = np.column_stack((track.lon[k : k + 2], track.lat[k : k + 2]))
        return {"type": "LineString", "coordinates": _coords(coords)}
    if deviation.lat is not None and deviation.lon is not None:
        return _point(deviation.lon, deviation.lat)
    return None


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(float(lon), _DECIMALS), round(float(lat), _DECIMALS)]}


def _coords(lonlat: np.ndarray) -> list[list[float]]:
    rounded = np.round(np.asarray(lonlat, dtype=np.float64), _DECIMALS)
    # Rounding can make neighbours equal; repeated positions are legal but useless.
    keep = np.ones(rounded.shape[0], dtype=bool)
    keep[1:] = np.any(rounded[1:] != rounded[:-1], axis=1)
    out = rounded[keep]
    if out.shape[0] < 2 and rounded.shape[0] >= 2:
        out = rounded[[0, -1]]
    return out.tolist()


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _bbox(features: list[dict[str, Any]]) -> list[float] | None:
    points: list[list[float]] = []
    for feature in features:
        geometry = feature["geometry"]
        coords = geometry["coordinates"]
        if geometry["type"] == "Point":
            points.append(coords)
        elif geometry["type"] == "LineString":
            points.extend(coords)
        elif geometry["type"] == "MultiLineString":
            for line in coords:
                points.extend(line)
    if not points:
        return None
    arr = np.asarray(points)
    return [float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 0].max()), float(arr[:, 1].max())]
