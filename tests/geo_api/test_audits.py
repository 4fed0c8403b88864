"""Route audit endpoints: planned vs actual found from a day posted through /v1/tracks, access
by role and team, GeoJSON and PNG representations, conditional GET."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta

import msgspec
from PIL import Image

from geo.schemas import RouteAudit
from tests.factories import login
from tests.geo_api.helpers import local_time, point, post_points
from tests.geo_api.scenario import DETOUR_NORTH_M, build_audit_day


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_audit_of_a_day_posted_through_tracks(client, world) -> None:
    """The detour is found at the right time, the skipped stop is missed, the check-in carries its
    verdict; the same day as GeoJSON and PNG; ETags; the tenant's thresholds apply."""
    d = await build_audit_day(client, world)
    url = f"/v1/audits/routes/{world.users['rep1']}/{d.day.isoformat()}"
    r = await client.get(url, headers=d.manager["headers"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    audit = msgspec.convert(body, RouteAudit)  # the documented shape
    assert audit.date == d.day.isoformat()
    assert audit.timezone == "Asia/Shanghai"
    assert "first_index" not in body["stops"][0]

    s = audit.summary
    assert (s.planned_count, s.visited_count, s.missed_count) == (3, 2, 1)
    assert s.fixes_received == len(d.builder.track())
    assert 6.9 < s.km_travelled < 7.3  # 2 + 0.5 + 1.5 + 1 + 1.5 + 0.5 km of driving
    assert s.time_on_site_s > 2 * 19 * 60

    off = [x for x in audit.deviations if x.kind == "off_route"]
    assert len(off) == 1
    start, end = d.off_route
    assert abs(_epoch(off[0].start) - start) <= 10
    assert abs(_epoch(off[0].end) - end) <= 10
    assert abs(off[0].max_distance_m - DETOUR_NORTH_M) < 50

    missed = [x for x in audit.deviations if x.kind == "missed_visit"]
    assert [m.customer_id for m in missed] == [d.customers["C"]]

    visits = [st for st in audit.stops if st.kind == "customer_visit"]
    assert [v.customer_id for v in visits] == [d.customers["A"], d.customers["B"]]
    assert [p.status for p in audit.planned_stops] == ["visited", "visited", "missed"]

    (ci,) = audit.check_ins
    assert ci.visit_id == d.visit_a
    assert ci.customer_id == d.customers["A"]
    assert ci.customer_name == "Shop A"
    assert ci.status == "verified"
    assert ci.reasons == []
    assert ci.distance_m is not None
    assert ci.distance_m < 20
    assert abs(_epoch(ci.at) - d.check_in_at.timestamp()) < 0.001

    # --- the same day as GeoJSON ---
    r = await client.get(
        f"/v1/audits/routes/{world.users['rep1']}/{d.day.isoformat()}.geojson", headers=d.manager["headers"]
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    layers: dict[str, int] = {}
    for f in fc["features"]:
        assert f["type"] == "Feature"
        geom = f["geometry"]
        assert geom["type"] in {"Point", "LineString", "MultiLineString"}
        if geom["type"] == "Point":
            coords = [geom["coordinates"]]
        elif geom["type"] == "LineString":
            coords = geom["coordinates"]
        else:
            coords = [c for line in geom["coordinates"] for c in line]
        for lon, lat in coords:
            assert 121.5 < lon < 121.6
            assert 31.25 < lat < 31.28
        layers[f["properties"]["layer"]] = layers.get(f["properties"]["layer"], 0) + 1
    assert layers["planned_stop"] == 3
    assert layers["planned_route"] == 1
    assert layers["track"] == 1
    assert layers["check_in"] == 1
    assert layers["deviation"] >= 2
    assert layers["stop"] >= 2
    west, south, east, north = fc["bbox"]
    assert west < east
    assert south < north

    # --- and as a picture, with conditional GET ---
    url = f"/v1/audits/routes/{world.users['rep1']}/{d.day.isoformat()}.png"
    r = await client.get(url, headers=d.manager["headers"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert "no-cache" in r.headers["cache-control"]
    assert "private" in r.headers["cache-control"]
    image = Image.open(io.BytesIO(r.content))
    image.load()
    assert (image.format, image.size) == ("PNG", (1200, 900))
    etag = r.headers["etag"]

    small = await client.get(url + "?width=800&height=600", headers=d.manager["headers"])
    assert Image.open(io.BytesIO(small.content)).size == (800, 600)
    assert small.headers["etag"] != etag

    again = await client.get(url, headers={**d.manager["headers"], "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    # A late fix changes the day: the old tag no longer matches.
    late = local_time(d.day, 18)
    assert (await post_points(client, d.rep, [point(late, 31.26, 121.52)])).json()["accepted"] == 1
    changed = await client.get(url, headers={**d.manager["headers"], "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag

    # --- the day before has nothing ---
    url = f"/v1/audits/routes/{world.users['rep1']}/{(d.day - timedelta(days=1)).isoformat()}"
    r = await client.get(url, headers=d.manager["headers"])
    assert r.status_code == 200
    assert r.json()["check_ins"] == []
    assert r.json()["summary"]["fixes_received"] == 0

    # --- the tenant's thresholds are used: a wide corridor swallows the detour ---
    admin = d.extra["admin"]
    url = f"/v1/audits/routes/{world.users['rep1']}/{d.day.isoformat()}"
    before = (await client.get(url, headers=admin["headers"])).json()
    assert any(x["kind"] == "off_route" for x in before["deviations"])
    r = await client.patch("/v1/tenant/settings", headers=admin["headers"], json={"route_corridor_m": 2000})
    assert r.status_code == 200, r.text
    after = (await client.get(url, headers=admin["headers"])).json()
    assert not any(x["kind"] == "off_route" for x in after["deviations"])


async def test_empty_day_bad_dates_and_sizes(client, world) -> None:
    admin = await login(client, "admin")
    # A day without points or plan is empty, not an error.
    r = await client.get(f"/v1/audits/routes/{world.users['rep2']}/2025-01-15", headers=admin["headers"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["fixes_received"] == 0
    assert body["summary"]["planned_count"] == 0
    assert body["stops"] == []
    assert body["deviations"] == []
    assert body["check_ins"] == []
    r = await client.get(f"/v1/audits/routes/{world.users['rep2']}/2025-01-15.png", headers=admin["headers"])
    assert r.status_code == 200
    assert Image.open(io.BytesIO(r.content)).size == (1200, 900)

    base = f"/v1/audits/routes/{world.users['rep1']}"
    for bad in ("2025-13-01", "yesterday", "2025-1-5", "2025-01-15.pdf", "20250115"):
        r = await client.get(f"{base}/{bad}", headers=admin["headers"])
        assert r.status_code == 422, bad
        assert r.json()["code"] == "validation_failed"
    for query in ("width=10", "height=99999", "width=abc"):
        r = await client.get(f"{base}/2025-01-15.png?{query}", headers=admin["headers"])
        assert r.status_code in {400, 422}, query
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_who_may_audit(client, world) -> None:
    day = "2025-01-15"
    rep1 = world.users["rep1"]
    cases = [
        ("admin", rep1, 200),
        ("manager1", rep1, 200),  # rep1 is in manager1's team
        ("manager1", world.users["rep3"], 404),  # another team's rep
        ("manager2", rep1, 404),
        ("rep1", rep1, 403),  # reps do not audit, not even themselves
        ("rep2", rep1, 403),
        ("admin_b", rep1, 404),  # another tenant's rep
        ("admin", world.users["rep_b"], 404),
        ("admin", uuid.uuid4(), 404),
    ]
    sessions: dict[str, dict] = {}
    for who, rep_id, status in cases:
        caller = sessions.get(who) or sessions.setdefault(who, await login(client, who))
        for suffix in ("", ".geojson", ".png"):
            r = await client.get(f"/v1/audits/routes/{rep_id}/{day}{suffix}", headers=caller["headers"])
            assert r.status_code == status, (who, suffix, r.text)
            if status != 200:
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.json()["code"] == {403: "forbidden", 404: "not_found"}[status]
