"""Check-in verdicts use the rep's posted track: a check-in far from the last fix is too fast."""

from __future__ import annotations

from datetime import timedelta

from api.lib.clock import rfc3339
from tests.factories import login
from tests.geo_api.helpers import local_day, local_time, point, post_points


async def test_a_check_in_80_km_from_the_fix_a_minute_before_is_impossible(client, world) -> None:
    rep = await login(client, "rep1")
    at = local_time(local_day(1), 10)
    # Customer 0 is at (31.2314, 121.4737); the rep's phone was in Suzhou (~80 km) a minute earlier,
    # and three days earlier near the customer (too old to matter).
    r = await post_points(
        client,
        rep,
        [
            point(at - timedelta(days=3), 31.2314, 121.4737, accuracy_m=5.0),
            point(at - timedelta(seconds=60), 31.2990, 120.5853, accuracy_m=10.0),
        ],
    )
    assert r.json()["accepted"] == 2
    visit = await client.post(
        "/v1/visits", json={"customer_id": str(world.customers["c0"])}, headers=rep["headers"]
    )
    assert visit.status_code == 201, visit.text
    r = await client.post(
        f"/v1/visits/{visit.json()['id']}/check-in",
        headers=rep["headers"],
        json={"at": rfc3339(at), "lat": 31.2315, "lon": 121.4737, "accuracy_m": 8.0, "fix_at": rfc3339(at)},
    )
    assert r.status_code == 200, r.text
    verdict = r.json()["check_in_verdict"]
    assert "impossible_speed" in verdict["reasons"]
    assert verdict["status"] == "rejected"  # faster than 1 000 km/h: a teleport
    assert 4_000 < verdict["details"]["speed_kmh"] < 5_500
    assert abs(verdict["details"]["previous_interval_s"] - 60) < 0.01
