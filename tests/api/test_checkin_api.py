"""Check-ins online and through sync get the server's verdict, with reasons."""

from __future__ import annotations

import uuid
from datetime import timedelta

from api.lib.clock import rfc3339, utcnow
from tests.factories import login
from tests.sync.helpers import Phone, stamp


async def _visit(client, headers, customer) -> str:
    r = await client.post("/v1/visits", json={"customer_id": str(customer)}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_online_check_in_at_the_customer_is_verified(client, world) -> None:
    rep = await login(client, "rep1")
    vid = await _visit(client, rep["headers"], world.customers["c0"])
    now = utcnow()
    # Customer 0 is at (31.2314, 121.4737); this fix is ~20 m away with 10 m accuracy.
    r = await client.post(
        f"/v1/visits/{vid}/check-in",
        headers=rep["headers"],
        json={
            "at": rfc3339(now),
            "lat": 31.23158,
            "lon": 121.4737,
            "accuracy_m": 10.0,
            "fix_at": rfc3339(now),
        },
    )
    assert r.status_code == 200, r.text
    visit = r.json()
    assert visit["status"] == "in_progress"
    verdict = visit["check_in_verdict"]
    assert verdict["status"] == "verified"
    assert verdict["reasons"] == []
    assert 10 < verdict["distance_m"] < 30


async def test_synced_check_in_far_away_and_mocked_is_rejected_with_reasons(client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    vid = uuid.uuid4()
    at = utcnow() - timedelta(minutes=3)
    ms = int(at.timestamp() * 1000)
    r = (
        await phone.push(
            [
                phone.mutation(
                    "visit",
                    vid,
                    {
                        "customer_id": str(world.customers["c1"]),
                        "status": "in_progress",
                        "check_in": {
                            "at": rfc3339(at),
                            "lat": 31.2500,
                            "lon": 121.4737,
                            "accuracy_m": 8,
                            "is_mock": True,
                            "fix_at": rfc3339(at),
                        },
                    },
                    hlc=stamp(ms),
                )
            ]
        )
    ).json()
    assert r["results"][0]["status"] == "applied"
    await phone.pull_all()
    verdict = phone.replica[("visit", str(vid))]["check_in_verdict"]
    assert verdict["status"] == "rejected"
    assert {"outside_geofence", "mock_location"} <= set(verdict["reasons"])
    assert 1900 < verdict["distance_m"] < 2000  # 31.2324 → 31.2500 along a meridian


async def test_low_accuracy_overlapping_the_fence_is_suspicious(client, world) -> None:
    rep = await login(client, "rep1")
    vid = await _visit(client, rep["headers"], world.customers["c0"])
    now = utcnow()
    r = await client.post(
        f"/v1/visits/{vid}/check-in",
        headers=rep["headers"],
        json={
            "at": rfc3339(now),
            "lat": 31.2330,
            "lon": 121.4737,
            "accuracy_m": 250.0,
            "fix_at": rfc3339(now),
        },
    )
    verdict = r.json()["check_in_verdict"]
    assert verdict["status"] == "suspicious"
    assert "low_accuracy" in verdict["reasons"]
