"""The nearest-customers query: right customers, nearest first, on both engines."""

from __future__ import annotations

from pyproj import Geod

from tests.factories import login

GEOD = Geod(ellps="WGS84")


async def test_nearest_first_with_geodesic_distances(client, world) -> None:
    admin = await login(client, "admin")
    lat, lon = 31.2304, 121.4737
    r = await client.get(f"/v1/customers?near={lat},{lon}", headers=admin["headers"])
    assert r.status_code == 200
    items = r.json()["items"]
    assert [c["name"] for c in items] == ["Customer 0", "Customer 1", "Customer 2", "Customer 3"]
    for c in items:
        _, _, expected = GEOD.inv(lon, lat, c["lon"], c["lat"])
        assert abs(c["distance_m"] - expected) < 2.0
    distances = [c["distance_m"] for c in items]
    assert distances == sorted(distances)


async def test_within_radius_and_scope(client, world) -> None:
    admin = await login(client, "admin")
    # Customers are ~111 m, 222 m, 333 m, 444 m north of the point.
    r = await client.get("/v1/customers?near=31.2304,121.4737&within_m=250", headers=admin["headers"])
    assert [c["name"] for c in r.json()["items"]] == ["Customer 0", "Customer 1"]
    assert r.json()["total"] == 2
    rep2 = await login(client, "rep2")
    r = await client.get("/v1/customers?near=31.2304,121.4737&within_m=5000", headers=rep2["headers"])
    assert [c["name"] for c in r.json()["items"]] == ["Customer 2"]
    # Far away from everything in tenant A: nothing within 1 km.
    r = await client.get("/v1/customers?near=0,0&within_m=1000", headers=admin["headers"])
    assert r.json()["items"] == []


async def test_nearest_follows_a_moved_customer(client, world) -> None:
    admin = await login(client, "admin")
    cid = world.customers["c3"]
    r = await client.patch(
        f"/v1/customers/{cid}", json={"lat": 31.2305, "lon": 121.4737}, headers=admin["headers"]
    )
    assert r.status_code == 200
    r = await client.get("/v1/customers?near=31.2304,121.4737&limit=1", headers=admin["headers"])
    assert r.json()["items"][0]["name"] == "Customer 3"
