"""The outbox: mutations made on the device, durable before the call that made them returns.

Each mutation has the next ``seq`` of this device (persisted, starts at 1, +1 each time) and an HLC
stamp. A mutation is *pending* until the server's answer for its ``seq`` arrives; then it is removed
(rejected) or marked *acked* (applied or merged) and kept as an overlay until a complete pull has
brought the server state that contains it, so the app never sees its own write flicker away.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from fieldline_client.storage import StorageAdapter, commit, read

PREFIX = "outbox/"
NEXT_SEQ_KEY = "meta/next_seq"
#: Set once a push carrying this outbox's seqs may have reached the server.
SENT_KEY = "meta/pushed"


def outbox_key(seq: int) -> str:
    return f"{PREFIX}{seq:020d}"


@dataclass
class Mutation:
    seq: int
    entity: str
    id: str
    op: str
    hlc: str
    base_version: int | None = None
    fields: dict[str, Any] | None = None
    #: ``pending`` (not answered yet) or ``acked`` (took effect, waiting for the pull that shows it).
    state: str = "pending"
    #: For acked mutations: fields the server did not take (kept its own value or refused).
    lost_fields: list[str] = field(default_factory=list)
    #: For acked mutations: the entity version the server gave the write.
    version: int | None = None

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "entity": self.entity,
            "id": self.id,
            "op": self.op,
            "hlc": self.hlc,
        }
        if self.base_version is not None:
            out["base_version"] = self.base_version
        if self.op == "upsert":
            out["fields"] = self.fields or {}
        return out

    def effective_fields(self) -> dict[str, Any]:
        """The fields that took (or, while pending, are expected to take) effect."""
        fields = self.fields or {}
        if not self.lost_fields:
            return fields
        return {k: v for k, v in fields.items() if k not in self.lost_fields}

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> Mutation:
        return cls(**json.loads(text))


class Outbox:
    def __init__(self, storage: StorageAdapter) -> None:
        self.storage = storage
        self.entries: dict[int, Mutation] = {}
        self.next_seq = 1
        self.pushed = False
        self._loaded = False

    async def load(self) -> None:
        if self._loaded:
            return
        for key in await self.storage.keys(PREFIX):
            raw = await read(self.storage, key)
            if raw is not None:
                m = Mutation.load(raw)
                self.entries[m.seq] = m
        raw_next = await self.storage.get(NEXT_SEQ_KEY)
        self.next_seq = max([int(raw_next or 1), *[s + 1 for s in self.entries]])
        self.pushed = (await read(self.storage, SENT_KEY)) == "1"
        self._loaded = True

    # ---------------------------------------------------------------------------------- reads
    def ordered(self) -> list[Mutation]:
        return [self.entries[s] for s in sorted(self.entries)]

    def pending(self) -> list[Mutation]:
        return [m for m in self.ordered() if m.state == "pending"]

    def acked(self) -> list[Mutation]:
        return [m for m in self.ordered() if m.state == "acked"]

    def for_entity(self, entity: str, ident: str) -> list[Mutation]:
        return [m for m in self.ordered() if m.entity == entity and m.id == ident]

    def __len__(self) -> int:
        return len(self.entries)

    # --------------------------------------------------------------------------------- writes
    def draft(self, entity: str, ident: str, op: str, hlc: str, **kw: Any) -> Mutation:
        return Mutation(seq=self.next_seq, entity=entity, id=ident, op=op, hlc=hlc, **kw)

    async def append(self, mutation: Mutation, extra: dict[str, str]) -> None:
        """Persist ``mutation`` with the seq counter and ``extra`` items in one transaction."""
        if mutation.seq != self.next_seq:
            raise ValueError("mutation drafted against a stale seq counter")
        await self.storage.set_many(
            {outbox_key(mutation.seq): mutation.dump(), NEXT_SEQ_KEY: str(mutation.seq + 1), **extra}
        )
        self.entries[mutation.seq] = mutation
        self.next_seq = mutation.seq + 1

    async def mark_pushed(self) -> None:
        if not self.pushed:
            await self.storage.set(SENT_KEY, "1")
            self.pushed = True

    async def settle(self, acked: list[Mutation], removed: list[int]) -> None:
        """Record push answers: ``acked`` mutations updated in place, ``removed`` seqs dropped."""
        await commit(
            self.storage, {outbox_key(m.seq): m.dump() for m in acked}, [outbox_key(s) for s in removed]
        )
        for s in removed:
            self.entries.pop(s, None)
        for m in acked:
            self.entries[m.seq] = m

    async def drop(self, seqs: list[int]) -> None:
        await self.settle([], seqs)

    async def realign(self, server_last_seq: int) -> None:
        """After sign-in: continue the server's numbering for this user and device.

        With no mutation that may have reached the server, pending mutations are renumbered to
        follow ``server_last_seq`` (a device id reused with fresh storage, or another user on this
        device, must not have its writes taken for retries of old ones).
        """
        if self.pushed and self.entries:
            return
        items: dict[str, str] = {}
        old = self.ordered()
        renumbered: dict[int, Mutation] = {}
        seq = server_last_seq + 1
        for m in old:
            m.seq = seq
            renumbered[seq] = m
            items[outbox_key(seq)] = m.dump()
            seq += 1
        stale = [outbox_key(old_seq) for old_seq in self.entries if old_seq not in renumbered]
        await commit(self.storage, {**items, NEXT_SEQ_KEY: str(seq)}, stale)
        self.entries = renumbered
        self.next_seq = seq

    async def clear(self) -> None:
        await commit(self.storage, {}, [outbox_key(s) for s in self.entries] + [SENT_KEY])
        self.entries = {}
        self.pushed = False
