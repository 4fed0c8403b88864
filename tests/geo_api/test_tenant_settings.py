"""GET/PATCH /v1/tenant/settings: readable by everyone in the tenant, changed by admins only."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from geo.audit_service import day_bounds
from geo.track_repository import TrackRepository
from tests.factories import login
from tests.geo_api.helpers import local_day, local_time, point, post_points


async def test_read_and_change_settings(client, world, session_factory) -> None:
    rep = await login(client, "rep1")
    admin = await login(client, "admin")
    r = await client.get("/v1/tenant/settings", headers=rep["headers"])
    assert r.status_code == 200
    got = r.json()
    assert got["timezone"] == "Asia/Shanghai"
    assert got["geofence_radius_m"] == 150.0
    assert got["route_corridor_m"] == 300.0
    assert got["route_corridor_path_m"] == 100.0

    r = await client.patch(
        "/v1/tenant/settings",
        headers=admin["headers"],
        json={"geofence_radius_m": 200, "off_route_min_s": 120, "timezone": "Europe/Paris"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["geofence_radius_m"] == 200.0
    assert r.json()["off_route_min_s"] == 120.0
    assert r.json()["timezone"] == "Europe/Paris"
    again = (await client.get("/v1/tenant/settings", headers=rep["headers"])).json()
    assert again == r.json()
    assert again["max_accuracy_m"] == 100.0  # untouched
    r = await client.patch("/v1/tenant/settings", headers=admin["headers"], json={})
    assert r.json() == again

    # Other tenants are untouched.
    admin_b = await login(client, "admin_b")
    other = (await client.get("/v1/tenant/settings", headers=admin_b["headers"])).json()
    assert other["timezone"] == "Europe/London"
    assert other["geofence_radius_m"] == 150.0

    # Days are now Paris days: 06:30 in Shanghai is still the evening before in Paris.
    day = local_day(2)
    early = local_time(day, 6, 30)
    r = await post_points(client, rep, [point(early, 31.2, 121.4)])
    assert r.json()["accepted"] == 1
    paris = ZoneInfo("Europe/Paris")
    async with session_factory() as s:
        repo = TrackRepository(s)
        on_day = await repo.day(world.tenant_a, world.users["rep1"], *day_bounds(day, paris))
        day_before = await repo.day(
            world.tenant_a, world.users["rep1"], *day_bounds(day - timedelta(days=1), paris)
        )
    assert len(on_day) == 0
    assert day_before.t_ms.tolist() == [int(early.timestamp() * 1000)]


async def test_bad_settings_are_refused(client, world) -> None:
    admin = await login(client, "admin")
    for body, field in (
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"geofence_radius_m": -5}, "geofence_radius_m"),
        ({"off_route_min_s": 0}, "off_route_min_s"),
        ({"max_speed_kmh": "fast"}, "max_speed_kmh"),
        ({"default_currency": "euro"}, "default_currency"),
        ({"unknown_threshold": 3}, None),
    ):
        r = await client.patch("/v1/tenant/settings", headers=admin["headers"], json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "validation_failed"
        if field is not None:
            assert field in r.text
    r = await client.get("/v1/tenant/settings", headers=admin["headers"])
    assert r.json()["timezone"] == "Asia/Shanghai"
    assert r.json()["geofence_radius_m"] == 150.0


async def test_only_admins_change_settings(client, world) -> None:
    for who in ("rep1", "manager1"):
        caller = await login(client, who)
        r = await client.patch(
            "/v1/tenant/settings", headers=caller["headers"], json={"geofence_radius_m": 50}
        )
        assert r.status_code == 403
        assert r.json()["code"] == "forbidden"
    r = await client.get("/v1/tenant/settings")
    assert r.status_code == 401
    admin = await login(client, "admin")
    assert (await client.get("/v1/tenant/settings", headers=admin["headers"])).json()[
        "geofence_radius_m"
    ] == 150.0
