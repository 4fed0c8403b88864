"""Where a push's time went: the parts, the ``Server-Timing`` header and what a push reports."""

from __future__ import annotations

import re
import time
import uuid

from sync.push_timing import PARTS, PushTiming
from tests.factories import login

_ENTRY = re.compile(r"^([a-z]+);dur=(\d+\.\d)$")


def _parse(header: str) -> dict[str, float]:
    out = {}
    for entry in header.split(", "):
        match = _ENTRY.match(entry)
        assert match, entry
        out[match.group(1)] = float(match.group(2))
    return out


def test_app_is_what_the_other_parts_leave() -> None:
    timing = PushTiming(lock=0.001, db=0.0125, commit=0.002)
    parts = timing.parts(0.04)
    assert list(parts) == list(PARTS)
    assert abs(parts["app"] - 0.0245) < 1e-9
    assert timing.header(0.04) == "lock;dur=1.0, db;dur=12.5, commit;dur=2.0, app;dur=24.5, total;dur=40.0"


def test_app_is_never_negative() -> None:
    # Rounding of the clocks can make the measured parts exceed the total by a hair.
    assert PushTiming(lock=0.002, db=0.003, commit=0.001).parts(0.0059)["app"] == 0.0


async def test_a_push_says_where_its_time_went(client, world) -> None:
    rep = await login(client, "rep1")
    now = int(time.time() * 1000)
    mutations = [
        {
            "seq": i + 1,
            "entity": "visit",
            "id": str(uuid.uuid4()),
            "op": "upsert",
            "hlc": f"{now + i:016d}-0000-phone",
            "fields": {"customer_id": str(world.customers["c0"]), "notes": f"n{i}"},
        }
        for i in range(200)
    ]
    body = {"schema_version": 1, "client_id": rep["device_id"], "mutations": mutations}
    r = await client.post("/v1/sync/push", json=body, headers=rep["headers"])
    assert r.status_code == 200
    assert {x["status"] for x in r.json()["results"]} == {"applied"}
    timing = _parse(r.headers["server-timing"])
    assert list(timing) == [*PARTS, "total"]
    # The push read its customer and wrote its visits, and committed: both took time.
    assert timing["db"] > 0
    assert timing["commit"] > 0
    # The parts add up to the total (each rounded to a tenth of a millisecond).
    assert abs(sum(timing[p] for p in PARTS) - timing["total"]) <= 0.25


async def test_an_empty_push_and_a_refused_one(client, world) -> None:
    rep = await login(client, "rep1")
    empty = {"schema_version": 1, "client_id": rep["device_id"], "mutations": []}
    r = await client.post("/v1/sync/push", json=empty, headers=rep["headers"])
    assert r.status_code == 200
    assert _parse(r.headers["server-timing"])["db"] == 0.0  # nothing applied: no transaction waited
    # A push the server refuses before applying anything answers with a problem, not timings.
    foreign = {**empty, "client_id": str(uuid.uuid4())}
    r = await client.post("/v1/sync/push", json=foreign, headers=rep["headers"])
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "server-timing" not in r.headers
