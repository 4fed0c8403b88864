"""A tiny protocol client for conformance tests (a phone's view of the server)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.factories import login


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
