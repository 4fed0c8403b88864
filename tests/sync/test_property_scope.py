"""Property: random scope moves among offline edits converge, and every replica holds its scope.

Seven phones of tenant A (the admin's, both managers', two of rep1's and one each of the other
reps') keep an outbox, a hybrid logical clock and a replica built only from pulls, and live
across examples like real phones.
Between syncs, offline:
- the admin and the managers reassign customers to other reps, give visits to other reps, and
  the admin moves reps between teams (each scope move of ``docs/sync.md``); they also plan reps'
  days (route plans), decide submitted expenses, and add and delete customers;
- the reps create visits at customers they hold, add actions and photos to visits they hold,
  submit expenses (some for a visit) and edit them, and delete visits and actions; anyone edits
  a visit's notes;
- phones push and pull at random, pulls in pages of one to nine changes.

After everyone pushes and pulls:
- every replica equals a fresh bootstrap of its user (convergence across evictions and arrivals);
- every replica holds exactly its user's scope by the rules, computed from the admin's replica
  (the whole tenant): a rep holds the customers assigned to them, their visits with those visits'
  actions and photos, their route plans and expenses; a manager holds what their team's reps own;
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
#: Each phone's user and clock node: rep1 has two phones.
PHONES = (*((key, key) for key in USERS[:4]), ("rep1", "rep1b"), *((key, key) for key in USERS[4:]))
BOSSES = (0, 1, 2)  # the admin's and the managers' phones
REP_PHONES = tuple(range(3, len(PHONES)))
OWNED = frozenset({"customer", "route_plan", "visit", "visit_action", "photo", "expense", "user"})
CREATED = frozenset({"customer", "route_plan", "visit", "visit_action", "photo", "expense"})
BOSS_STEPS = frozenset({"customer", "reassign", "give", "team", "plan", "review", "drop"})


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
            + ["team", "plan", "review", "drop"]
            + ["customer"] * 2
            + ["visit"] * 3
            + ["action"] * 2
            + ["photo", "expense", "expense_edit"]
            + ["edit"] * 2
            + ["delete"]
            + ["push"] * 6
            + ["pull"] * 6
        ),
        device=st.integers(0, len(PHONES) - 1),
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
        self.devices = [OfflineDevice(await Phone.sign_in(self.client, user), node) for user, node in PHONES]
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
        elif step.kind == "edit":
            self._edit(self.devices[step.device], step)
        elif step.kind in BOSS_STEPS:
            getattr(self, f"_{step.kind}")(self.devices[BOSSES[step.device % len(BOSSES)]], step)
        else:
            getattr(self, f"_{step.kind}")(self.devices[REP_PHONES[step.device % len(REP_PHONES)]], step)

    def _send(
        self,
        device: OfflineDevice,
        entity: str,
        ident: Any,
        fields: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        device.queue(device.phone.mutation(entity, ident, fields, hlc=device.tick(self.wall), **options))

    @staticmethod
    def _pick(device: OfflineDevice, entity: str, step: Step) -> tuple[str, int] | None:
        """One of the entities the phone holds, with the version it holds."""
        held = device.held(entity)
        if not held:
            return None
        ident = held[step.pick % len(held)]
        return ident, device.phone.replica[(entity, ident)]["version"]

    def _rep(self, step: Step) -> str:
        return self.users[REPS[step.target % len(REPS)]]

    # The admin's and the managers' steps.

    def _customer(self, device: OfflineDevice, step: Step) -> None:
        fields = {
            "name": f"Shop {step.pick}",
            "lat": 31.23,
            "lon": 121.47,
            "assigned_rep_id": self._rep(step),
        }
        self._send(device, "customer", uuid.uuid4(), fields)

    def _reassign(self, device: OfflineDevice, step: Step) -> None:
        if picked := self._pick(device, "customer", step):
            self._send(device, "customer", picked[0], {"assigned_rep_id": self._rep(step)})

    def _give(self, device: OfflineDevice, step: Step) -> None:
        if picked := self._pick(device, "visit", step):
            self._send(device, "visit", picked[0], {"rep_id": self._rep(step)}, base_version=picked[1])

    def _team(self, device: OfflineDevice, step: Step) -> None:
        if device is self.devices[0]:
            self._send(device, "user", self._rep(step), {"team_id": self.teams[step.pick % 2]})

    def _plan(self, device: OfflineDevice, step: Step) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime(self.wall / 1000 + 86_400 * (step.pick % 3)))
        self._send(
            device, "route_plan", uuid.uuid4(), {"rep_id": self._rep(step), "date": day, "name": "Day"}
        )

    def _review(self, device: OfflineDevice, step: Step) -> None:
        if picked := self._pick(device, "expense", step):
            decision = ("approved", "rejected")[step.target % 2]
            self._send(device, "expense", picked[0], {"review": {"status": decision}}, base_version=picked[1])

    def _drop(self, device: OfflineDevice, step: Step) -> None:
        if picked := self._pick(device, "customer", step):
            self._send(device, "customer", picked[0], op="delete", base_version=picked[1])

    # The reps' steps.

    def _visit(self, device: OfflineDevice, step: Step) -> None:
        if picked := self._pick(device, "customer", step):
            self._send(device, "visit", uuid.uuid4(), {"customer_id": picked[0]})

    def _action(self, device: OfflineDevice, step: Step) -> None:
        if picked := self._pick(device, "visit", step):
            fields = {"visit_id": picked[0], "kind": "training", "payload": {"topic": f"t{step.target}"}}
            self._send(device, "visit_action", uuid.uuid4(), fields)

    def _photo(self, device: OfflineDevice, step: Step) -> None:
        if picked := self._pick(device, "visit", step):
            self._send(device, "photo", uuid.uuid4(), {"visit_id": picked[0], "caption": f"c{step.target}"})

    def _expense(self, device: OfflineDevice, step: Step) -> None:
        fields: dict[str, Any] = {"status": "submitted", "merchant": "Cafe", "total": f"{step.target}.50"}
        if step.pick % 2 and (picked := self._pick(device, "visit", step)):
            fields["visit_id"] = picked[0]
        self._send(device, "expense", uuid.uuid4(), {**fields, "currency": "CNY"})

    def _expense_edit(self, device: OfflineDevice, step: Step) -> None:
        if picked := self._pick(device, "expense", step):
            self._send(device, "expense", picked[0], {"notes": f"n{step.target}"}, base_version=picked[1])

    def _delete(self, device: OfflineDevice, step: Step) -> None:
        """An action if the rep holds one (every other time), else a visit."""
        entity = "visit_action" if device.held("visit_action") and step.target % 2 else "visit"
        if picked := self._pick(device, entity, step):
            self._send(device, entity, picked[0], op="delete", base_version=picked[1])

    # Anyone's.

    def _edit(self, device: OfflineDevice, step: Step) -> None:
        if picked := self._pick(device, "visit", step):
            notes = f"{device.node} {step.target}"
            self._send(device, "visit", picked[0], {"notes": notes}, base_version=picked[1])

    async def _check(self) -> None:
        for device in self.devices:
            observer = self.observers[device.phone.user]
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
            if entity in {"route_plan", "expense"}:
                return data["rep_id"]
            if entity == "user":
                return data["id"]
            return None

        for device in self.devices[1:]:
            key = device.phone.user
            me = self.users[key]
            if key.startswith("rep"):
                owners = {me}
            else:
                team = self.teams[0 if key == "manager1" else 1]
                owners = {user for user, t in team_of.items() if t == team} | {me}
            expected = {
                item for item, data in tenant.items() if item[0] in OWNED and owner(item[0], data) in owners
            }
            held = {item for item in device.phone.replica if item[0] in OWNED}
            assert held == expected, (device.node, held ^ expected)

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
                elif m["entity"] in CREATED and m.get("base_version") is None:
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
