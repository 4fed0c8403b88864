"""Property: random scope moves among offline edits converge, and every replica holds its scope.

Six phones of tenant A (the admin, both managers, the three reps) keep an outbox, a hybrid
logical clock and a replica built only from pulls, and live across examples like real phones.
Between syncs, offline:
- the admin and the managers reassign customers to other reps, give visits to other reps, and
  the admin moves reps between teams (each scope move of ``docs/sync.md``);
- the reps create visits at customers they hold, add actions to visits they hold, edit and
  delete them; anyone edits a visit's notes;
- phones push and pull at random, pulls in pages of one to nine changes.

After everyone pushes and pulls:
- every replica equals a fresh bootstrap of its user (convergence across evictions and arrivals);
- every replica holds exactly its user's scope by the rules, computed from the admin's replica
  (the whole tenant): a rep holds the customers assigned to them and their visits with those
  visits' actions; a manager holds what their team's reps own;
- every mutation got exactly one result, and every create reported ``applied`` is on the server
  unless a delete of it (or of its visit) was reported ``applied`` too: nothing lost, nothing twice.
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
USERS = ("admin", "manager1", "manager2", "rep1", "rep2", "rep3")
REPS = ("rep1", "rep2", "rep3")
BOSSES = (0, 1, 2)  # the admin and the managers


@pytest.fixture
def settings(settings: Any) -> Any:
    """Pulls of one change a page make many requests: no rate limit for these phones."""
    return without_rate_limits(settings)


@dataclass
class Step:
    kind: str
    device: int
    pick: int
    target: int


steps = st.lists(
    st.builds(
        Step,
        kind=st.sampled_from(
            ["reassign"] * 3
            + ["give"] * 2
            + ["team"]
            + ["visit"] * 3
            + ["action"] * 2
            + ["edit"] * 2
            + ["delete"]
            + ["push"] * 5
            + ["pull"] * 5
        ),
        device=st.integers(0, len(USERS) - 1),
        pick=st.integers(0, 7),
        target=st.integers(0, 8),
    ),
    min_size=4,
    max_size=24,
)


class Harness:
    def __init__(self, client: Any, world: Any) -> None:
        self.client = client
        self.world = world
        self.wall = NOW_MS
        self.users = {key: str(world.users[key]) for key in USERS}
        self.teams = [str(world.teams["north"]), str(world.teams["south"])]

    async def start(self) -> None:
        self.devices = [OfflineDevice(await Phone.sign_in(self.client, key), key) for key in USERS]
        self.observers = {key: await Phone.sign_in(self.client, key) for key in USERS}

    async def run(self, plan: list[Step]) -> None:
        for device in self.devices:
            device.sent.clear()
            device.results.clear()
            await device.pull(500)
        for step in plan:
            await self._step(step)
        for device in self.devices:
            await device.push()
            assert device.outbox == [], device.node
        for device in self.devices:
            await device.pull(500)
        await self._check()

    async def _step(self, step: Step) -> None:
        self.wall += 1 + step.target
        if step.kind == "push":
            await self.devices[step.device].push()
        elif step.kind == "pull":
            await self.devices[step.device].pull(1 + step.target)
        elif step.kind in {"reassign", "give", "team"}:
            self._boss_move(self.devices[BOSSES[step.device % len(BOSSES)]], step)
        else:
            self._rep_edit(self.devices[3 + step.device % len(REPS)] if step.kind != "edit" else None, step)

    def _boss_move(self, device: OfflineDevice, step: Step) -> None:
        wall = self.wall
        rep = self.users[REPS[step.target % len(REPS)]]
        if step.kind == "reassign":
            held = device.held("customer")
            if held:
                cid = held[step.pick % len(held)]
                device.queue(
                    device.phone.mutation("customer", cid, {"assigned_rep_id": rep}, hlc=device.tick(wall))
                )
        elif step.kind == "give":
            held = device.held("visit")
            if held:
                vid = held[step.pick % len(held)]
                version = device.phone.replica[("visit", vid)]["version"]
                device.queue(
                    device.phone.mutation(
                        "visit", vid, {"rep_id": rep}, hlc=device.tick(wall), base_version=version
                    )
                )
        elif device is self.devices[0]:
            team = self.teams[step.pick % 2]
            device.queue(device.phone.mutation("user", rep, {"team_id": team}, hlc=device.tick(wall)))

    def _rep_edit(self, rep: OfflineDevice | None, step: Step) -> None:
        device = rep or self.devices[step.device]
        wall = self.wall
        if step.kind == "visit":
            held = device.held("customer")
            if held:
                cid = held[step.pick % len(held)]
                m = device.phone.mutation("visit", uuid.uuid4(), {"customer_id": cid}, hlc=device.tick(wall))
                device.queue(m)
            return
        visits = device.held("visit")
        if step.kind == "action":
            if visits:
                vid = visits[step.pick % len(visits)]
                fields = {"visit_id": vid, "kind": "training", "payload": {"topic": f"t{step.target}"}}
                device.queue(
                    device.phone.mutation("visit_action", uuid.uuid4(), fields, hlc=device.tick(wall))
                )
            return
        if step.kind == "edit":
            if visits:
                vid = visits[step.pick % len(visits)]
                version = device.phone.replica[("visit", vid)]["version"]
                notes = f"{device.node} {step.target}"
                device.queue(
                    device.phone.mutation(
                        "visit", vid, {"notes": notes}, hlc=device.tick(wall), base_version=version
                    )
                )
            return
        # delete: an action if the rep holds one, else a visit
        actions = device.held("visit_action")
        entity, held = ("visit_action", actions) if actions and step.target % 2 else ("visit", visits)
        if held:
            ident = held[step.pick % len(held)]
            version = device.phone.replica[(entity, ident)]["version"]
            device.queue(
                device.phone.mutation(entity, ident, op="delete", hlc=device.tick(wall), base_version=version)
            )

    async def _check(self) -> None:
        for device in self.devices:
            observer = self.observers[device.node]
            await observer.bootstrap(limit=7)
            assert device.phone.replica == observer.replica, f"{device.node} did not converge"
        tenant = self.observers["admin"].replica
        self._check_scopes(tenant)
        self._check_results(tenant)

    def _check_scopes(self, tenant: dict[tuple[str, str], dict[str, Any]]) -> None:
        team_of = {data["id"]: data["team_id"] for (entity, _), data in tenant.items() if entity == "user"}
        visit_rep = {ident: data["rep_id"] for (entity, ident), data in tenant.items() if entity == "visit"}

        def owner(entity: str, data: dict[str, Any]) -> str | None:
            if entity == "customer":
                return data["assigned_rep_id"]
            if entity == "visit":
                return data["rep_id"]
            if entity in {"visit_action", "photo"}:
                assert data["visit_id"] in visit_rep, f"{entity} {data['id']} outlived its visit"
                return visit_rep[data["visit_id"]]
            if entity == "user":
                return data["id"]
            return None

        for key in USERS[1:]:
            me = self.users[key]
            if key.startswith("rep"):
                owners = {me}
            else:
                team = self.teams[0 if key == "manager1" else 1]
                owners = {user for user, t in team_of.items() if t == team} | {me}
            expected = {
                item
                for item, data in tenant.items()
                if item[0] in {"customer", "visit", "visit_action", "photo", "user"}
                and owner(item[0], data) in owners
            }
            held = {
                item
                for item in self.devices[USERS.index(key)].phone.replica
                if item[0] in {"customer", "visit", "visit_action", "photo", "user"}
            }
            assert held == expected, (key, held ^ expected)

    def _check_results(self, tenant: dict[tuple[str, str], dict[str, Any]]) -> None:
        deleted: set[str] = set()
        created: list[tuple[str, dict[str, Any]]] = []
        for device in self.devices:
            assert sorted(device.results) == sorted(device.sent), device.node
            for seq, m in device.sent.items():
                (res,) = device.results[seq]  # exactly one result each
                assert res["status"] in {"applied", "merged", "rejected"}, res
                if res["status"] == "rejected":
                    assert res["error"]["code"], res
                    continue
                if m["op"] == "delete":
                    deleted.add(m["id"])
                elif m["entity"] in {"visit", "visit_action"} and m.get("base_version") is None:
                    created.append((m["entity"], m))
        for entity, m in created:
            gone = m["id"] in deleted or m.get("fields", {}).get("visit_id") in deleted
            assert gone or (entity, m["id"]) in tenant, (entity, m)


async def test_random_scope_moves_converge_and_every_replica_holds_its_scope(client, world) -> None:
    harness = Harness(client, world)
    await harness.start()

    @hyp_settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(plan=steps)
    def check(plan: list[Step]) -> None:
        anyio.from_thread.run(harness.run, plan)

    await anyio.to_thread.run_sync(check)
