"""POST /v1/tracks: idempotent bulk ingestion, per-point refusals, ownership, the tenant's day."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from api.lib.clock import parse_rfc3339, rfc3339
from geo.audit_service import day_bounds
from geo.models import TrackPoint
from geo.track_repository import TrackRepository
from tests.conftest import ENGINE
from tests.factories import login
from tests.geo_api.helpers import SHANGHAI, local_day, local_time, point, post_points

LONDON = ZoneInfo("Europe/London")


def walk(start: datetime, n: int, step_s: float = 5.0) -> list[dict]:
    """``n`` fixes walking north from People's Square, one every ``step_s`` seconds."""
    return [
        point(start + timedelta(seconds=i * step_s), 31.2304 + i * 1e-5, 121.4737, accuracy_m=8.0)
        for i in range(n)
    ]


async def stored(session_factory, **where) -> list[TrackPoint]:
    async with session_factory() as s:
        q = select(TrackPoint).order_by(TrackPoint.t_ms)
        for key, value in where.items():
            q = q.where(getattr(TrackPoint, key) == value)
        return list(await s.scalars(q))


async def day_times(
    session_factory, tenant_id: uuid.UUID, rep_id: uuid.UUID, day: date, tz: tzinfo = SHANGHAI
) -> list[int]:
    """``t_ms`` of the rep's fixes on ``day`` of zone ``tz``, as the audits read them."""
    async with session_factory() as s:
        return (await TrackRepository(s).day(tenant_id, rep_id, *day_bounds(day, tz))).t_ms.tolist()


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def test_batch_is_stored_with_rep_and_device_and_read_as_the_day(
    client, world, session_factory
) -> None:
    rep = await login(client, "rep1")
    day = local_day(1)
    points = walk(local_time(day, 9), 100)
    points[3].update(speed_mps=1.5, heading=90.0, provider="gps", is_mock=False)
    r = await post_points(client, rep, points)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 100, "duplicates": 0, "rejected": []}
    rows = await stored(session_factory)
    assert len(rows) == 100
    assert {r.rep_id for r in rows} == {world.users["rep1"]}
    assert {r.tenant_id for r in rows} == {world.tenant_a}
    assert {str(r.device_id) for r in rows} == {rep["device_id"]}
    assert await day_times(session_factory, world.tenant_a, world.users["rep1"], day) == [
        r.t_ms for r in rows
    ]
    assert (
        await day_times(session_factory, world.tenant_a, world.users["rep1"], day - timedelta(days=1)) == []
    )
    assert await day_times(session_factory, world.tenant_a, world.users["rep2"], day) == []
    fourth = rows[3]
    assert (fourth.speed_mps, fourth.heading, fourth.provider, fourth.is_mock) == (1.5, 90.0, "gps", False)
    assert fourth.accuracy_m == 8.0
    assert rows[0].speed_mps is None
    assert rows[0].provider is None
    assert rows[0].is_mock is None
    assert fourth.t_ms == int(local_time(day, 9).timestamp() * 1000) + 15_000
    assert abs(fourth.lat - (31.2304 + 3e-5)) < 1e-12


async def test_reposting_counts_duplicates_and_stores_nothing_twice(client, world, session_factory) -> None:
    rep = await login(client, "rep1")
    points = walk(local_time(local_day(1), 10), 50)
    assert (await post_points(client, rep, points)).json()["accepted"] == 50
    again = (await post_points(client, rep, points)).json()
    assert again == {"accepted": 0, "duplicates": 50, "rejected": []}
    more = walk(local_time(local_day(1), 11), 10)
    mixed = points[:20] + more
    random.Random(3).shuffle(mixed)
    assert (await post_points(client, rep, mixed)).json() == {
        "accepted": 10,
        "duplicates": 20,
        "rejected": [],
    }
    assert len(await stored(session_factory)) == 60


async def test_same_timestamp_twice_in_one_batch_keeps_the_first(client, world, session_factory) -> None:
    rep = await login(client, "rep1")
    at = local_time(local_day(1), 12)
    r = await post_points(
        client, rep, [point(at, 31.0, 121.0), point(at, 32.0, 122.0), point(at, 33.0, 123.0)]
    )
    assert r.json() == {"accepted": 1, "duplicates": 2, "rejected": []}
    (row,) = await stored(session_factory)
    assert (row.lat, row.lon) == (31.0, 121.0)


async def test_late_and_out_of_order_points_are_accepted(client, world, session_factory) -> None:
    rep = await login(client, "rep1")
    day = local_day(6)  # a phone that was offline for most of a week
    points = walk(local_time(day, 9), 30)
    evens, odds = points[::2], points[1::2]
    r1 = await post_points(client, rep, list(reversed(evens)))
    r2 = await post_points(client, rep, odds[::-1])
    assert r1.json()["accepted"] == 15
    assert r2.json()["accepted"] == 15
    rows = await stored(session_factory)
    assert len(rows) == 30
    assert await day_times(session_factory, world.tenant_a, world.users["rep1"], day) == [
        r.t_ms for r in rows
    ]
    lats = [r.lat for r in rows]
    assert lats == sorted(lats)  # time order is position order on this walk


async def test_mixed_batch_refuses_bad_points_by_index_and_stores_the_rest(
    client, world, session_factory
) -> None:
    rep = await login(client, "rep1")
    now = datetime.now(UTC)
    base = local_time(local_day(1), 14)
    good = [point(base + timedelta(seconds=i), 31.2, 121.4) for i in range(2)]
    bad = {
        1: point(base, 91.0, 121.4),
        2: point(base, 31.2, -181.0),
        4: point(now + timedelta(hours=2), 31.2, 121.4),
        5: point(now - timedelta(days=45), 31.2, 121.4),
        6: point(base, 31.2, 121.4, accuracy_m=-3.0),
        7: point(base, 31.2, 121.4, speed_mps=-1.0),
        8: point(base, 31.2, 121.4, heading=400.0),
        9: {"t": rfc3339(base), "lon": 121.4},
        10: {"t": "2025-01-01T08:00:00", "lat": 31.2, "lon": 121.4},
        11: point(base, 31.2, 121.4, altitude_m=12.0),
        12: point(base, "31.2", 121.4),
        13: "not a point",
        14: point(base, 31.2, 121.4, provider="x" * 17),
    }
    points: list = []
    g = iter(good)
    for i in range(15):
        points.append(bad.get(i) or next(g))
    # NaN and Infinity as some encoders write them, and a number beyond a double.
    body = json.dumps({"device_id": rep["device_id"], "points": points})
    points_nan = [point(base, 31.2, 121.4) for _ in range(3)]
    tail = json.dumps(points_nan)
    tail = tail.replace('"lat": 31.2', '"lat": NaN', 1).replace('"lon": 121.4', '"lon": 1e999', 2)
    tail = tail.replace('"lon": 121.4', '"lon": -Infinity', 1)
    body = body[: body.rindex("]")] + ", " + tail[1:-1] + "]}"
    r = await client.post(
        "/v1/tracks", headers={**rep["headers"], "Content-Type": "application/json"}, content=body.encode()
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert [(x["index"], x["code"], x["field"]) for x in got["rejected"]] == [
        (1, "lat_out_of_range", "lat"),
        (2, "lon_out_of_range", "lon"),
        (4, "time_in_future", "t"),
        (5, "time_too_old", "t"),
        (6, "invalid_accuracy", "accuracy_m"),
        (7, "invalid_speed", "speed_mps"),
        (8, "invalid_heading", "heading"),
        (9, "invalid_point", "lat"),
        (10, "invalid_point", "t"),
        (11, "invalid_point", "altitude_m"),
        (12, "invalid_point", "lat"),
        (13, "invalid_point", None),
        (14, "invalid_point", "provider"),
        (15, "not_finite", "lat"),
        (16, "not_finite", "lon"),
        (17, "not_finite", "lon"),
    ]
    assert got["accepted"] == 2
    assert got["duplicates"] == 0
    rows = await stored(session_factory)
    assert [r.t_ms for r in rows] == [int((base + timedelta(seconds=i)).timestamp() * 1000) for i in range(2)]


async def test_every_point_refused_still_answers_200(client, world, session_factory) -> None:
    rep = await login(client, "rep1")
    at = local_time(local_day(1), 9)
    r = await post_points(client, rep, [point(at, 95.0, 0.0), point(at, 0.0, 200.0)])
    assert r.status_code == 200
    assert r.json() == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [
            {"index": 0, "code": "lat_out_of_range", "field": "lat"},
            {"index": 1, "code": "lon_out_of_range", "field": "lon"},
        ],
    }
    assert await stored(session_factory) == []


async def test_more_than_10000_points_is_refused_whole(client, world, session_factory) -> None:
    rep = await login(client, "rep1")
    points = walk(local_time(local_day(2), 6), 10_001, step_s=1.0)
    r = await post_points(client, rep, points)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "payload_too_large"
    assert r.json()["max_points"] == 10_000
    assert await stored(session_factory) == []
    r = await post_points(client, rep, points[:10_000])
    assert r.json()["accepted"] == 10_000


async def test_empty_batch(client, world) -> None:
    rep = await login(client, "rep1")
    r = await post_points(client, rep, [])
    assert r.status_code == 200
    assert r.json() == {"accepted": 0, "duplicates": 0, "rejected": []}


async def test_malformed_and_invalid_bodies(client, world, session_factory) -> None:
    rep = await login(client, "rep1")
    headers = {**rep["headers"], "Content-Type": "application/json"}
    r = await client.post("/v1/tracks", headers=headers, content=b'{"device_id": "x", "points": [')
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "malformed_json"
    for body in (
        {"points": []},
        {"device_id": "not-a-uuid", "points": []},
        {"device_id": rep["device_id"], "points": {}},
        {"device_id": rep["device_id"], "points": [], "extra": 1},
        [],
    ):
        r = await client.post("/v1/tracks", headers=headers, content=json.dumps(body).encode())
        assert r.status_code == 422, body
        assert r.json()["code"] == "validation_failed"
    assert await stored(session_factory) == []


async def test_device_must_be_the_callers(client, world, session_factory) -> None:
    rep1 = await login(client, "rep1")
    rep2 = await login(client, "rep2")
    pts = walk(local_time(local_day(1), 9), 3)
    for device in (rep2["device_id"], str(uuid.uuid4())):
        r = await post_points(client, rep1, pts, device=device)
        assert r.status_code == 403
        assert r.json()["code"] == "device_mismatch"
    assert await stored(session_factory) == []
    # The rep's other phone (signed in separately) is theirs.
    other_phone = await login(client, "rep1", device=uuid.uuid4())
    r = await post_points(client, rep1, pts, device=other_phone["device_id"])
    assert r.json()["accepted"] == 3
    assert {str(p.device_id) for p in await stored(session_factory)} == {other_phone["device_id"]}


async def test_unauthenticated(client, world) -> None:
    r = await client.post("/v1/tracks", json={"device_id": str(uuid.uuid4()), "points": []})
    assert r.status_code == 401


async def test_a_rep_day_is_the_tenants_calendar_day(client, world, session_factory) -> None:
    rep = await login(client, "rep1")
    day = local_day(3)
    late_evening = local_time(day, 23, 30)  # 15:30 UTC: the same UTC date ...
    after_midnight = local_time(day + timedelta(days=1), 0, 10)  # 16:10 UTC: still the same UTC date
    assert late_evening.date() == after_midnight.date()
    early_morning = local_time(day, 7, 45)  # 23:45 UTC the evening before
    assert early_morning.date() == day - timedelta(days=1)
    midnight = local_time(day + timedelta(days=1), 0)  # the first instant of the next day
    r = await post_points(
        client,
        rep,
        [point(t, 31.23, 121.47) for t in (late_evening, after_midnight, early_morning, midnight)],
    )
    assert r.json()["accepted"] == 4
    rep1 = world.users["rep1"]
    assert await day_times(session_factory, world.tenant_a, rep1, day) == [
        ms(early_morning),
        ms(late_evening),
    ]
    assert await day_times(session_factory, world.tenant_a, rep1, day + timedelta(days=1)) == [
        ms(midnight),
        ms(after_midnight),
    ]
    # A tenant in London puts the same instants on its own days.
    rep_b = await login(client, "rep_b")
    r = await post_points(client, rep_b, [point(late_evening, 51.5, -0.12)])
    assert r.json()["accepted"] == 1
    london_day = late_evening.date()  # 15:30 UTC is 15:30 or 16:30 in London
    assert await day_times(session_factory, world.tenant_b, world.users["rep_b"], london_day, LONDON) == [
        ms(late_evening)
    ]
    # Another tenant's rep-day is not readable with this tenant's id.
    assert await day_times(session_factory, world.tenant_a, world.users["rep_b"], london_day, LONDON) == []


async def test_a_shared_phone_keeps_each_reps_points_on_their_own_days(
    client, world, session_factory
) -> None:
    phone = uuid.uuid4()
    rep1 = await login(client, "rep1", device=phone)
    day = local_day(1)
    morning = walk(local_time(day, 9), 10)
    afternoon = walk(local_time(day, 14), 10)
    assert (await post_points(client, rep1, morning)).json()["accepted"] == 10
    rep2 = await login(client, "rep2", device=phone)
    assert (await post_points(client, rep2, afternoon)).json()["accepted"] == 10
    # The phone re-sends its whole queue under the second rep: the first rep's fixes are stored.
    again = (await post_points(client, rep2, morning + afternoon)).json()
    assert again == {"accepted": 0, "duplicates": 20, "rejected": []}
    # Signing out of the phone keeps its fixes on the rep's days.
    assert (await client.post("/v1/auth/logout", headers=rep1["headers"])).status_code < 300
    rows = await stored(session_factory)
    assert await day_times(session_factory, world.tenant_a, world.users["rep1"], day) == [
        r.t_ms for r in rows[:10]
    ]
    assert await day_times(session_factory, world.tenant_a, world.users["rep2"], day) == [
        r.t_ms for r in rows[10:]
    ]


async def test_a_reps_day_spans_their_phones_in_time_order(client, world, session_factory) -> None:
    old_phone = await login(client, "rep1", device=uuid.uuid4())
    new_phone = await login(client, "rep1", device=uuid.uuid4())
    day = local_day(2)
    points = walk(local_time(day, 8), 20)
    assert (await post_points(client, old_phone, points[::2])).json()["accepted"] == 10
    assert (await post_points(client, new_phone, points[1::2])).json()["accepted"] == 10
    rows = await stored(session_factory)
    assert len({r.device_id for r in rows}) == 2
    tenant, rep1, rep2 = world.tenant_a, world.users["rep1"], world.users["rep2"]
    assert await day_times(session_factory, tenant, rep1, day) == [r.t_ms for r in rows]
    first = local_time(day, 8)
    before = first + timedelta(seconds=5 * 7 + 1)
    async with session_factory() as s:
        repo = TrackRepository(s)
        latest = await repo.latest_before(tenant, rep1, before, before - timedelta(days=2))
        assert latest is not None
        assert latest.t_ms == ms(first) + 5 * 7 * 1000
        assert str(latest.device_id) == new_phone["device_id"]  # the 8th fix came from the new phone
        assert await repo.latest_before(tenant, rep1, first, first - timedelta(days=2)) is None
        assert await repo.latest_before(tenant, rep2, before, first) is None


async def test_points_of_different_devices_at_the_same_time_are_both_kept(
    client, world, session_factory
) -> None:
    rep1 = await login(client, "rep1")
    rep2 = await login(client, "rep2")
    at = local_time(local_day(1), 9)
    assert (await post_points(client, rep1, [point(at, 31.2, 121.4)])).json()["accepted"] == 1
    assert (await post_points(client, rep2, [point(at, 31.3, 121.5)])).json()["accepted"] == 1
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(TrackPoint)) == 2


async def test_a_fix_stored_by_another_request_in_between_is_counted_once(
    client, world, session_factory, monkeypatch
) -> None:
    """The last resort on PostgreSQL: the stored-times lookup misses fixes another request stored
    (as when it commits between the lookup and the copy); the merge still stores each fix once."""
    if ENGINE != "postgres":
        pytest.skip("the COPY paths are PostgreSQL's")
    import geo.track_repository as repository

    rep = await login(client, "rep1")
    points = walk(local_time(local_day(1), 10), 30)
    assert (await post_points(client, rep, points[:20])).json()["accepted"] == 20
    monkeypatch.setattr(
        repository, "_STORED_TIMES", "SELECT NULL::bigint[] WHERE $1::uuid IS NULL OR $2::bigint[] IS NULL"
    )
    r = await post_points(client, rep, points[10:])
    assert r.json() == {"accepted": 10, "duplicates": 10, "rejected": []}
    assert [r.t_ms for r in await stored(session_factory)] == [ms(parse_rfc3339(p["t"])) for p in points]
