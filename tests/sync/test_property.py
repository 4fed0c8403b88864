"""Property: random offline edits on 2-5 devices, synced in random interleavings, converge.

Devices: a manager's phone and one to four phones of one or two reps. Each keeps a hybrid logical
clock (skewed by up to half a minute), an outbox and a replica built only from pulls. Between syncs
they edit visits offline (text fields, status, deletes; the manager also reviews). After everyone
pushes and pulls:
- every replica equals a fresh bootstrap of its user's scope (convergence);
- every write that did not take effect was reported to its client: the final value of each field
  is the one written by the latest-stamped write the server reported as taking effect (status: the
  latest to arrive, since status only moves forward), and each write reported lost was beaten by a
  stamp the server names.
Runs in-process (ASGI) on the test's engine; the devices live across examples, like real phones.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from tests.sync.helpers import OfflineDevice, Phone, without_rate_limits

NOW_MS = int(time.time() * 1000)
TEXT_FIELDS = ("notes", "outcome", "next_steps")
STATUSES = ("planned", "in_progress", "completed", "cancelled")
VALUES = ("a", "b", "c", None)


@pytest.fixture
def settings(settings: Any) -> Any:
    """Five phones syncing in a loop make many requests: no rate limit for them."""
    return without_rate_limits(settings)


@dataclass
class Step:
    kind: str
    device: int
    visit: int
    field: str
    value: Any
    wait_ms: int


steps = st.lists(
    st.builds(
        Step,
        kind=st.sampled_from(["edit"] * 10 + ["push"] * 4 + ["pull"] * 4 + ["delete", "review"]),
        device=st.integers(0, 4),
        visit=st.integers(0, 3),
        field=st.sampled_from([*TEXT_FIELDS, "status"]),
        value=st.integers(0, 3),
        wait_ms=st.integers(0, 40),
    ),
    min_size=4,
    max_size=16,
)
offsets = st.lists(st.integers(-30_000, 30_000), min_size=5, max_size=5)


class Harness:
    def __init__(self, client: Any, world: Any) -> None:
        self.client = client
        self.world = world
        self.wall = NOW_MS

    async def start(self) -> None:
        sign = Phone.sign_in
        self.manager = OfflineDevice(await sign(self.client, "manager1"), "m")
        self.reps = [
            OfflineDevice(await sign(self.client, "rep1"), "r1a", rep="rep1"),
            OfflineDevice(await sign(self.client, "rep1"), "r1b", rep="rep1"),
            OfflineDevice(await sign(self.client, "rep2"), "r2a", rep="rep2"),
            OfflineDevice(await sign(self.client, "rep2"), "r2b", rep="rep2"),
        ]
        self.setup = {key: await sign(self.client, key) for key in ("rep1", "rep2")}
        self.observers = {key: await sign(self.client, key) for key in ("rep1", "rep2", "manager1")}

    def now(self, wait: int = 0) -> int:
        self.wall += wait + 1
        return self.wall

    async def run(self, rep_devices: list[int], offset_ms: list[int], plan: list[Step]) -> None:
        devices = [self.manager, *(self.reps[i] for i in rep_devices)]
        for device, offset in zip(devices, offset_ms, strict=False):
            device.offset_ms = offset
            device.sent.clear()
            device.results.clear()
        visits = await self._create_visits({d.rep for d in devices if d.rep})
        for device in devices:
            await device.pull()
        for step in plan:
            await self._step(devices[step.device % len(devices)], visits, step)
        for device in devices:
            await device.push()
            assert device.outbox == []
        for device in devices:
            await device.pull()
        await self._check(devices, visits)

    async def _create_visits(self, reps: set[str]) -> dict[str, str]:
        visits: dict[str, str] = {}
        for rep in sorted(reps):
            phone = self.setup[rep]
            batch = []
            for i in range(2):
                vid = str(uuid.uuid4())
                visits[vid] = rep
                customer = self.world.customers["c0" if rep == "rep1" else "c2"]
                stamp = f"{self.now():016d}-0000-setup{i}"
                batch.append(phone.mutation("visit", vid, {"customer_id": str(customer)}, hlc=stamp))
            r = await phone.push(batch)
            assert [x["status"] for x in r.json()["results"]] == ["applied", "applied"], r.text
        return visits

    async def _step(self, device: OfflineDevice, visits: dict[str, str], step: Step) -> None:
        wall = self.now(step.wait_ms)
        if step.kind == "push":
            await device.push()
            return
        if step.kind == "pull":
            await device.pull()
            return
        mine = [vid for vid, rep in visits.items() if device.rep in {None, rep}]
        vid = mine[step.visit % len(mine)]
        held = device.phone.replica.get(("visit", vid))
        if held is None:
            return  # the app only edits what it holds
        if step.kind == "delete":
            m = device.phone.mutation("visit", vid, op="delete", hlc=device.tick(wall))
        elif step.kind == "review" and device.rep is None:
            status = ("approved", "rejected")[step.value % 2]
            m = device.phone.mutation(
                "visit",
                vid,
                {"review": {"status": status}},
                hlc=device.tick(wall),
                base_version=held["version"],
            )
        else:
            value = STATUSES[step.value] if step.field == "status" else VALUES[step.value]
            m = device.phone.mutation(
                "visit", vid, {step.field: value}, hlc=device.tick(wall), base_version=held["version"]
            )
        device.queue(m)

    async def _check(self, devices: list[OfflineDevice], visits: dict[str, str]) -> None:
        for key, observer in self.observers.items():
            await observer.bootstrap(limit=1000)
            for device in devices:
                if device.phone.user == key:
                    assert device.phone.replica == observer.replica, f"{device.node} did not converge"
        server = self.observers["manager1"].replica
        writes = [(d, d.sent[seq], d.results[seq][0]) for d in devices for seq in sorted(d.sent)]
        for vid in visits:
            mine = [(d, m, res) for d, m, res in writes if m["id"] == vid]
            deleted = any(m["op"] == "delete" and res["status"] == "applied" for _, m, res in mine)
            if deleted:
                assert ("visit", vid) not in server
                continue
            data = server[("visit", vid)]
            for name in (*TEXT_FIELDS, "status"):
                effective, lost = [], []
                for _, m, res in mine:
                    if m["op"] != "upsert" or name not in m["fields"]:
                        continue
                    refused = {c["field"] for c in res.get("conflicts", []) if c["outcome"] != "overwrote"}
                    if res["status"] == "rejected" or name in refused:
                        lost.append((m, res))
                    else:
                        effective.append((m, res))
                if name == "status":
                    by_arrival = sorted(effective, key=lambda e: e[1]["version"])
                    expected = by_arrival[-1][0]["fields"]["status"] if by_arrival else "planned"
                else:
                    by_stamp = sorted(effective, key=lambda e: e[0]["hlc"])
                    expected = by_stamp[-1][0]["fields"][name] if by_stamp else None
                assert data[name] == expected, (vid, name, effective, lost)
                for m, res in lost:
                    beaten = [c for c in res.get("conflicts", []) if c["field"] == name]
                    if name in TEXT_FIELDS and beaten and beaten[0]["outcome"] == "kept_server":
                        assert beaten[0]["server_hlc"] > m["hlc"]


async def test_random_offline_edits_converge_and_every_loss_is_reported(client, world) -> None:
    harness = Harness(client, world)
    await harness.start()

    @hyp_settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        rep_devices=st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True),
        offset_ms=offsets,
        plan=steps,
    )
    def check(rep_devices: list[int], offset_ms: list[int], plan: list[Step]) -> None:
        anyio.from_thread.run(harness.run, rep_devices, offset_ms, plan)

    await anyio.to_thread.run_sync(check)
