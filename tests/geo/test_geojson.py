"""The audit FeatureCollection is valid GeoJSON in lon, lat order with every layer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import shapely
from trackgen import DayBuilder

from geo.checkin import CheckInMark
from geo.geojson import day_feature_collection
from geo.track import RoutePlan, Track, analyze_day

A, B, C = (2000.0, 0.0), (4000.0, 1500.0), (6000.0, 0.0)


def check_position(position: list[float]) -> None:
    assert len(position) == 2
    lon, lat = position
    assert -180 <= lon <= 180
    assert -90 <= lat <= 90


def check_geojson(obj: dict) -> None:
    """RFC 7946 structure checks, then a round trip through GEOS' GeoJSON reader."""
    assert obj["type"] == "FeatureCollection"
    for feature in obj["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        kind, coords = geometry["type"], geometry["coordinates"]
        if kind == "Point":
            check_position(coords)
        elif kind == "LineString":
            assert len(coords) >= 2
            for p in coords:
                check_position(p)
        elif kind == "MultiLineString":
            for line in coords:
                assert len(line) >= 2
                for p in line:
                    check_position(p)
        else:
            pytest.fail(f"unexpected geometry {kind}")
    geometries = shapely.from_geojson([json.dumps(f["geometry"]) for f in obj["features"]])
    assert all(g is not None and not g.is_empty for g in geometries)


@pytest.fixture(scope="module")
def day():
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(15 * 60)
    b.drive_to(*B)
    b.stay(10 * 60)
    mid = (5000.0, 750.0)
    b.drive_to(*mid)
    b.drive_to(mid[0] + 1200, mid[1] + 1600)
    b.stay(8 * 60, jitter_m=3.0)
    b.drive_to(*mid)
    b.gap(20 * 60, to=(5500.0, 375.0))
    b.drive_to(*C)
    b.stay(15 * 60)
    plan = RoutePlan(stops=[b.planned("A", *A), b.planned("B", *B), b.planned("C", *C)])
    analysis = analyze_day(b.track(), plan)
    lat, lon = b.latlon(*A)
    marks = [
        CheckInMark(
            at=datetime(2025, 3, 4, 0, 40, tzinfo=UTC),
            lat=lat,
            lon=lon,
            status="verified",
            customer_id="A",
            customer_name="上海华联超市",
            distance_m=12.3,
        )
    ]
    return b, plan, analysis, marks


def by_layer(fc: dict, layer: str) -> list[dict]:
    return [f for f in fc["features"] if f["properties"]["layer"] == layer]


def test_collection_is_valid_geojson(day) -> None:
    _, plan, analysis, marks = day
    fc = day_feature_collection(analysis, plan, marks)
    check_geojson(fc)
    json.dumps(fc, ensure_ascii=False)  # serialisable as is
    assert {f["properties"]["layer"] for f in fc["features"]} == {
        "planned_route",
        "planned_stop",
        "track",
        "stop",
        "deviation",
        "check_in",
    }


def test_points_are_lon_lat(day) -> None:
    b, plan, analysis, marks = day
    fc = day_feature_collection(analysis, plan, marks)
    lat, lon = b.latlon(*A)
    first_planned = by_layer(fc, "planned_stop")[0]
    assert first_planned["geometry"]["coordinates"] == [round(lon, 6), round(lat, 6)]
    assert first_planned["properties"]["seq"] == 1
    assert first_planned["properties"]["status"] == "visited"
    stop = by_layer(fc, "stop")[0]
    assert stop["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=2e-4)
    assert stop["properties"]["customer_id"] == "A"
    assert stop["properties"]["start"].endswith("Z")
    check_in = by_layer(fc, "check_in")[0]
    assert check_in["properties"]["customer_name"] == "上海华联超市"
    assert check_in["geometry"]["coordinates"] == [round(lon, 6), round(lat, 6)]


def test_planned_route_is_straight_legs_or_the_path(day) -> None:
    _, plan, analysis, _ = day
    legs = by_layer(day_feature_collection(analysis, plan), "planned_route")[0]
    assert len(legs["geometry"]["coordinates"]) == 3
    assert legs["properties"]["routed"] is False
    path = [[121.0, 31.0], [121.01, 31.0], [121.02, 31.01]]
    routed_plan = RoutePlan(stops=plan.stops, path={"type": "LineString", "coordinates": path})
    routed = by_layer(day_feature_collection(analysis, routed_plan), "planned_route")[0]
    assert routed["geometry"]["coordinates"] == path
    assert routed["properties"]["routed"] is True


def test_deviations_have_fitting_geometries(day) -> None:
    b, plan, analysis, _ = day
    fc = day_feature_collection(analysis, plan)
    deviations = {f["properties"]["kind"]: f for f in by_layer(fc, "deviation")}
    assert set(deviations) == {"off_route", "gps_gap"}
    off = deviations["off_route"]
    assert off["geometry"]["type"] == "LineString"
    # The off-route line reaches the far point of the detour (6200, 2350).
    far_lat, far_lon = b.latlon(6200.0, 2350.0)
    line = shapely.from_geojson(json.dumps(off["geometry"]))
    assert line.distance(shapely.Point(far_lon, far_lat)) < 2e-4
    assert off["properties"]["max_distance_m"] == pytest.approx(2000, abs=25)
    gap = deviations["gps_gap"]
    assert gap["geometry"]["type"] == "LineString"
    assert len(gap["geometry"]["coordinates"]) == 2
    assert gap["properties"]["duration_s"] == pytest.approx(1200, abs=1)


def test_missed_visit_is_a_point_at_the_planned_stop() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    plan = RoutePlan(stops=[b.planned("A", *A), b.planned("Z", 3000.0, 3000.0)])
    fc = day_feature_collection(analyze_day(b.track(), plan), plan)
    missed = [f for f in by_layer(fc, "deviation") if f["properties"]["kind"] == "missed_visit"]
    lat, lon = b.latlon(3000.0, 3000.0)
    assert [f["geometry"]["coordinates"] for f in missed] == [[round(lon, 6), round(lat, 6)]]
    assert missed[0]["properties"]["customer_id"] == "Z"


def test_track_is_simplified_multilinestring_and_bbox_covers_everything(day) -> None:
    _, plan, analysis, marks = day
    fc = day_feature_collection(analysis, plan, marks)
    track = by_layer(fc, "track")[0]
    assert track["geometry"]["type"] == "MultiLineString"
    assert len(track["geometry"]["coordinates"]) == 2  # split at the 20-minute gap
    vertices = sum(len(line) for line in track["geometry"]["coordinates"])
    assert vertices < len(analysis.track) / 3
    west, south, east, north = fc["bbox"]
    for f in fc["features"]:
        for lon, lat in shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))):
            assert west <= lon <= east
            assert south <= lat <= north


def test_empty_day_without_plan_is_an_empty_collection() -> None:
    fc = day_feature_collection(analyze_day(Track.from_arrays([], [], [])))
    assert fc == {"type": "FeatureCollection", "features": []}
