"""A rep-day with known answers, built through the API: customers, a plan, a track posted through
``POST /v1/tracks``, a verified check-in, an action and an expense.

Positions are metres east/north of an origin 4 km from the shared test customers. The plan is
A -> B -> C on the x axis (straight legs, so a 300 m corridor); the rep visits A, makes a detour
1.5 km north between A and B, visits B and never reaches C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from api.lib.clock import rfc3339
from tests.factories import login
from tests.geo.trackgen import DayBuilder
from tests.geo_api.helpers import local_day, local_time, post_points, track_points

ORIGIN = (31.26, 121.52)
A, B, C = (2000.0, 0.0), (4000.0, 0.0), (6000.0, 0.0)
DETOUR_NORTH_M = 1500.0
DETOUR_SPEED = 8.0
CORRIDOR_M = 300.0


@dataclass
class AuditDay:
    day: date
    rep: dict[str, Any]
    manager: dict[str, Any]
    customers: dict[str, str]
    builder: DayBuilder
    #: Expected first and last off-corridor fix of the detour (epoch s).
    off_route: tuple[float, float]
    visit_a: str
    check_in_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


def _leg_fix_time(
    first: float, length_m: float, speed: float, step_s: float, beyond_m: float, out: bool
) -> float:
    """Time of the first fix farther than ``beyond_m`` along a straight leg (``out``) or of the
    last one before coming back within it, for DayBuilder's evenly spaced fixes."""

    n = max(1, math.ceil(length_m / (speed * step_s)))
    step = length_m / n
    k = math.floor(beyond_m / step) + 1 if out else math.ceil((length_m - beyond_m) / step) - 1
    return first + (k - 1) * step_s


async def build_audit_day(client: Any, world: Any, *, days_ago: int = 2, rep_key: str = "rep1") -> AuditDay:
    day = local_day(days_ago)
    admin = await login(client, "admin")
    manager = await login(client, "manager1")
    rep = await login(client, rep_key)
    b = DayBuilder(start=local_time(day, 8, 30), origin=ORIGIN, step_s=5.0, seed=11)

    customers: dict[str, str] = {}
    for name, (x, y) in (("A", A), ("B", B), ("C", C)):
        lat, lon = b.latlon(x, y)
        r = await client.post(
            "/v1/customers",
            headers=admin["headers"],
            json={
                "name": f"Shop {name}",
                "lat": lat,
                "lon": lon,
                "assigned_rep_id": str(world.users[rep_key]),
            },
        )
        assert r.status_code == 201, r.text
        customers[name] = r.json()["id"]

    b.stay(10 * 60)
    b.drive_to(*A)
    stay_a = b.stay(20 * 60)
    b.drive_to(2500.0, 0.0)
    north = b.drive_to(2500.0, DETOUR_NORTH_M, speed_mps=DETOUR_SPEED)
    b.drive_to(3500.0, DETOUR_NORTH_M, speed_mps=DETOUR_SPEED)
    south = b.drive_to(3500.0, 0.0, speed_mps=DETOUR_SPEED)
    b.drive_to(*B)
    b.stay(20 * 60)
    off_start = _leg_fix_time(north[0], DETOUR_NORTH_M, DETOUR_SPEED, 5.0, CORRIDOR_M, out=True)
    off_end = _leg_fix_time(south[0], DETOUR_NORTH_M, DETOUR_SPEED, 5.0, CORRIDOR_M, out=False)

    planned = {
        "A": local_time(day, 9, 0),
        "B": local_time(day, 10, 0),
        "C": local_time(day, 11, 0),
    }
    r = await client.post(
        "/v1/route-plans",
        headers=manager["headers"],
        json={
            "rep_id": str(world.users[rep_key]),
            "date": day.isoformat(),
            "stops": [{"customer_id": customers[k], "planned_at": rfc3339(planned[k])} for k in "ABC"],
        },
    )
    assert r.status_code == 201, r.text

    r = await post_points(client, rep, track_points(b.track()))
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] == []

    # Visit A, checked in at the shop during the stay; visit C planned and never made.
    r = await client.post(
        "/v1/visits",
        headers=rep["headers"],
        json={"customer_id": customers["A"], "planned_at": rfc3339(planned["A"])},
    )
    assert r.status_code == 201, r.text
    visit_a = r.json()["id"]
    at = datetime.fromtimestamp(stay_a[0] + 300, tz=UTC)
    lat, lon = b.latlon(A[0] + 8.0, A[1] + 5.0)
    r = await client.post(
        f"/v1/visits/{visit_a}/check-in",
        headers=rep["headers"],
        json={"at": rfc3339(at), "lat": lat, "lon": lon, "accuracy_m": 8.0, "fix_at": rfc3339(at)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["check_in_verdict"]["status"] == "verified", r.json()["check_in_verdict"]
    r = await client.post(
        "/v1/visits",
        headers=rep["headers"],
        json={"customer_id": customers["C"], "planned_at": rfc3339(planned["C"])},
    )
    assert r.status_code == 201, r.text
    return AuditDay(
        day=day,
        rep=rep,
        manager=manager,
        customers=customers,
        builder=b,
        off_route=(off_start, off_end),
        visit_a=visit_a,
        check_in_at=at,
        extra={"visit_c": r.json()["id"], "admin": admin},
    )
