"""One push may create a visit and its children (actions, photos) together."""

from __future__ import annotations

import time
import uuid

from tests.sync.helpers import Phone, stamp


async def test_visit_with_actions_and_photo_in_one_push(client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    now = int(time.time() * 1000)
    visit, action, photo = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    batch = [
        phone.mutation(
            "visit",
            visit,
            {"customer_id": str(world.customers["c0"]), "status": "planned"},
            hlc=stamp(now, 0),
        ),
        phone.mutation(
            "visit_action",
            action,
            {"visit_id": str(visit), "kind": "competitor_report", "payload": {"competitor": "Acme"}},
            hlc=stamp(now, 1),
        ),
        phone.mutation("photo", photo, {"visit_id": str(visit), "caption": "shelf"}, hlc=stamp(now, 2)),
    ]
    r = await phone.push(batch)
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["applied", "applied", "applied"]
    await phone.pull_all()
    assert ("photo", str(photo)) in phone.replica
    assert phone.replica[("visit_action", str(action))]["visit_id"] == str(visit)
