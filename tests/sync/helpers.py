"""A tiny protocol client for conformance tests (a phone's view of the server)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.factories import login


def without_rate_limits(settings: Any) -> Any:
    """The test app's settings with no request limits: for tests whose phones sync in a loop."""
    return dataclasses.replace(settings, rate_limit_per_minute=0, sync_rate_limit_per_minute=0)


def stamp(ms: int, counter: int = 0, node: str = "dev") -> str:
    return f"{ms:016d}-{counter:04d}-{node}"


@dataclass
class Phone:
    client: Any
    user: str
    device: uuid.UUID
    headers: dict[str, str]
    seq: int = 0
    cursor: str | None = None
    server_hlc: str | None = None
    replica: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    async def sign_in(cls, client: Any, user: str) -> Phone:
        device = uuid.uuid4()
        body = await login(client, user, device=device)
        return cls(client=client, user=user, device=device, headers=body["headers"])

    def mutation(
        self,
        entity: str,
        ident: uuid.UUID | str,
        fields: dict[str, Any] | None = None,
        *,
        op: str = "upsert",
        hlc: str,
        base_version: int | None = None,
    ) -> dict[str, Any]:
        self.seq += 1
        m: dict[str, Any] = {"seq": self.seq, "entity": entity, "id": str(ident), "op": op, "hlc": hlc}
        if fields is not None:
            m["fields"] = fields
        if base_version is not None:
            m["base_version"] = base_version
        return m

    async def push(
        self, mutations: list[dict[str, Any]], *, schema_version: int = 1, client_id: uuid.UUID | None = None
    ) -> Any:
        return await self.client.post(
            "/v1/sync/push",
            headers=self.headers,
            json={
                "schema_version": schema_version,
                "client_id": str(client_id or self.device),
                "mutations": mutations,
            },
        )

    async def pull_page(self, limit: int = 500, *, schema_version: int | None = None) -> Any:
        params: dict[str, Any] = {"limit": limit}
        if self.cursor:
            params["cursor"] = self.cursor
        if schema_version is not None:
            params["schema_version"] = schema_version
        return await self.client.get("/v1/sync/pull", headers=self.headers, params=params)

    async def pull_all(self, limit: int = 500, *, schema_version: int | None = None) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        while True:
            r = await self.pull_page(limit, schema_version=schema_version)
            assert r.status_code == 200, r.text
            page = r.json()
            self.server_hlc = page["server_hlc"]
            changes.extend(page["changes"])
            for ch in page["changes"]:
                key = (ch["entity"], ch["id"])
                if ch["op"] == "upsert":
                    self.replica[key] = ch["data"]
                else:
                    self.replica.pop(key, None)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return changes

    async def bootstrap(self, limit: int = 500, *, schema_version: int | None = None) -> list[dict[str, Any]]:
        """Forget the replica and the cursor, and pull from nothing."""
        self.cursor = None
        self.replica.clear()
        return await self.pull_all(limit, schema_version=schema_version)

    def held(self, entity: str) -> set[str]:
        return {ident for (name, ident) in self.replica if name == entity}


@dataclass
class OfflineDevice:
    """A phone that edits offline: a hybrid logical clock (``offset_ms`` off the wall clock), an
    outbox, what it sent and every result it got, by ``seq``."""

    phone: Phone
    node: str
    rep: str | None = None  # the rep whose records it edits (None: a manager or an admin)
    offset_ms: int = 0
    ms: int = 0
    counter: int = 0
    outbox: list[dict[str, Any]] = field(default_factory=list)
    sent: dict[int, dict[str, Any]] = field(default_factory=dict)
    results: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def tick(self, wall: int) -> str:
        wall += self.offset_ms
        if wall > self.ms:
            self.ms, self.counter = wall, 0
        else:
            self.counter += 1
        return f"{self.ms:016d}-{self.counter:04d}-{self.node}"

    def observe(self, stamp: str) -> None:
        ms, counter = int(stamp[:16]), int(stamp[17:21])
        if (ms, counter) > (self.ms, self.counter):
            self.ms, self.counter = ms, counter

    def queue(self, m: dict[str, Any]) -> None:
        self.outbox.append(m)
        self.sent[m["seq"]] = m

    def held(self, entity: str) -> list[str]:
        return sorted(self.phone.held(entity))

    async def push(self) -> None:
        """Send the outbox; keep what the server did not take (a gap) for the next push."""
        if not self.outbox:
            return
        r = await self.phone.push(self.outbox)
        assert r.status_code == 200, r.text
        body = r.json()
        self.observe(body["server_hlc"])
        for res in body["results"]:
            if res["status"] not in {"duplicate", "out_of_order"}:
                self.results.setdefault(res["seq"], []).append(res)
        self.outbox = [m for m in self.outbox if m["seq"] > body["last_seq"]]

    async def pull(self, limit: int = 7) -> None:
        await self.phone.pull_all(limit=limit)
        assert self.phone.server_hlc is not None
        self.observe(self.phone.server_hlc)


async def visit_with_children(phone: Phone, customer: uuid.UUID, now_ms: int) -> tuple[str, str, str]:
    """A new visit at ``customer`` with an action and a photo, pushed: their ids."""
    vid, aid, pid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    r = await phone.push(
        [
            phone.mutation("visit", vid, {"customer_id": str(customer)}, hlc=stamp(now_ms)),
            phone.mutation(
                "visit_action",
                aid,
                {"visit_id": str(vid), "kind": "training", "payload": {"topic": "pricing"}},
                hlc=stamp(now_ms + 1),
            ),
            phone.mutation("photo", pid, {"visit_id": str(vid), "caption": "shelf"}, hlc=stamp(now_ms + 2)),
        ]
    )
    assert [x["status"] for x in r.json()["results"]] == ["applied"] * 3, r.text
    return str(vid), str(aid), str(pid)
