"""The sync engine: push the outbox in order, then pull until ``has_more`` is false.

Push sends pending mutations in ``seq`` order, in chunks within the server's limits
(``GET /v1/sync/info``). Every answer settles its mutation: ``rejected`` ones leave the outbox,
``applied``/``merged`` ones stay as an overlay until a complete pull shows them, ``duplicate``
(a retry of a push whose answer was lost) is settled by the original status the server kept, and
``out_of_order`` ones are sent again. ``merged`` and ``rejected`` answers reach the conflict
callbacks. Pull applies pages atomically with their cursor; ``cursor_expired`` or
``invalid_cursor`` starts a new bootstrap (the outbox is kept).
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fieldline_client.errors import FieldlineError, RequestRejected
from fieldline_client.hlc import HybridClock
from fieldline_client.outbox import Mutation, Outbox
from fieldline_client.replica import Key, Replica
from fieldline_client.transport import Http

log = logging.getLogger("fieldline_client.sync")

SCHEMA_VERSION = 1
#: Room left in a push body for the envelope around the mutations.
ENVELOPE_BYTES = 1024


@dataclass
class Limits:
    """The server's batch limits (``GET /v1/sync/info``); the spec's values until it answers."""

    max_mutations: int = 1000
    max_push_bytes: int = 5_000_000
    max_pull_limit: int = 1000


@dataclass
class ConflictEvent:
    """One ``merged`` or ``rejected`` answer to a mutation of this device."""

    entity: str
    id: str
    seq: int
    status: str
    #: Per-field details as the server sent them: ``field``, ``outcome`` (``kept_server``,
    #: ``overwrote`` or ``rejected``), ``code`` for refusals, ``server_value``, ``server_hlc``.
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    #: For ``rejected``: ``{code, message, field}``.
    error: dict[str, Any] | None = None
    version: int | None = None
    notes: list[str] = field(default_factory=list)
    #: What this device sent.
    op: str = "upsert"
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    conflicts: list[ConflictEvent] = field(default_factory=list)
    rejected: list[ConflictEvent] = field(default_factory=list)
    evicted: list[Key] = field(default_factory=list)
    #: The replica was rebuilt from scratch (``cursor_expired`` / ``invalid_cursor``).
    rebootstrapped: bool = False


ConflictCallback = Callable[[ConflictEvent], Awaitable[None] | None]


def mutation_bytes(m: Mutation) -> int:
    return len(json.dumps(m.wire(), separators=(",", ":")).encode()) + 1


class SyncEngine:
    def __init__(
        self,
        http: Http,
        outbox: Outbox,
        replica: Replica,
        clock: HybridClock,
        device_id: str,
        *,
        pull_limit: int = 500,
    ) -> None:
        self.http = http
        self.outbox = outbox
        self.replica = replica
        self.clock = clock
        self.device_id = device_id
        self.pull_limit = pull_limit
        self.limits: Limits | None = None
        self.callbacks: list[ConflictCallback] = []

    async def info(self) -> Limits:
        if self.limits is None:
            body = await self.http.json("GET", "/v1/sync/info")
            self.clock.observe(body["server_hlc"])
            raw = body["limits"]
            self.limits = Limits(
                max_mutations=int(raw["max_mutations"]),
                max_push_bytes=int(raw["max_push_bytes"]),
                max_pull_limit=int(raw["max_pull_limit"]),
            )
        return self.limits

    async def last_seq(self) -> int:
        """The last ``seq`` the server processed for this user and device (an empty push)."""
        body = await self._post_push([])
        return int(body["last_seq"])

    async def _post_push(self, mutations: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = await self.http.json(
            "POST",
            "/v1/sync/push",
            json={"schema_version": SCHEMA_VERSION, "client_id": self.device_id, "mutations": mutations},
        )
        self.clock.observe(body["server_hlc"])
        return body

    # ------------------------------------------------------------------------------------ push
    def _chunk(self, pending: list[Mutation], limits: Limits, max_count: int) -> list[Mutation]:
        budget = limits.max_push_bytes - ENVELOPE_BYTES
        chunk: list[Mutation] = []
        size = 0
        for m in pending:
            cost = mutation_bytes(m)
            if chunk and (len(chunk) >= max_count or size + cost > budget):
                break
            chunk.append(m)
            size += cost
        return chunk

    async def push(self, report: SyncReport) -> None:
        limits = await self.info()
        max_count = limits.max_mutations
        while pending := self.outbox.pending():
            chunk = self._chunk(pending, limits, max_count)
            await self.outbox.mark_pushed()
            try:
                body = await self._post_push([m.wire() for m in chunk])
            except RequestRejected as exc:
                if exc.code != "payload_too_large":
                    raise
                if len(chunk) > 1:
                    max_count = max(1, len(chunk) // 2)
                    continue
                await self._replace_oversized(chunk[0], report)
                continue
            progressed = await self._settle(chunk, body, report)
            if not progressed:
                raise FieldlineError(
                    f"the server has processed up to seq {body['last_seq']} but the outbox starts at "
                    f"{chunk[0].seq}: earlier mutations are missing on the server",
                    code="outbox_gap",
                )

    async def _replace_oversized(self, m: Mutation, report: SyncReport) -> None:
        """A single mutation larger than the server accepts can never be sent: it is reported as
        rejected and its ``seq`` is spent on an empty upsert, which has no effect."""
        event = ConflictEvent(
            entity=m.entity,
            id=m.id,
            seq=m.seq,
            status="rejected",
            error={"code": "payload_too_large", "message": "larger than the push size limit", "field": None},
            op=m.op,
            fields=m.fields or {},
        )
        m.op, m.fields, m.base_version = "upsert", {}, None
        await self.outbox.settle([m], [])
        report.rejected.append(event)
        await self.notify(event)

    async def _settle(self, chunk: list[Mutation], body: dict[str, Any], report: SyncReport) -> bool:
        by_seq = {m.seq: m for m in chunk}
        acked: list[Mutation] = []
        removed: list[int] = []
        events: list[ConflictEvent] = []
        for result in body.get("results", []):
            m = by_seq.get(result.get("seq"))
            status = result.get("status")
            if m is None or status == "out_of_order":
                continue
            effective = result.get("original_status", status) if status == "duplicate" else status
            conflicts = list(result.get("conflicts") or [])
            if effective == "rejected":
                removed.append(m.seq)
                events.append(self._event(m, result, "rejected", conflicts))
            else:
                m.state = "acked"
                m.version = result.get("version")
                m.lost_fields = [c["field"] for c in conflicts if c.get("outcome") != "overwrote"]
                acked.append(m)
                relevant = [c for c in conflicts if not self._own_overwrite(c)]
                if effective == "merged" and relevant:
                    events.append(self._event(m, result, "merged", relevant))
        # Callbacks first, then the outbox: a crash in between reports again, never loses a report.
        for event in events:
            (report.rejected if event.status == "rejected" else report.conflicts).append(event)
            await self.notify(event)
        await self.outbox.settle(acked, removed)
        report.pushed += len(acked) + len(removed)
        return bool(acked or removed)

    def _own_overwrite(self, conflict: dict[str, Any]) -> bool:
        """An ``overwrote`` of a value this device wrote itself (an earlier mutation of the same
        push) is not a conflict worth reporting."""
        stamp = conflict.get("server_hlc") or ""
        return conflict.get("outcome") == "overwrote" and stamp.endswith(f"-{self.device_id}")

    @staticmethod
    def _event(
        m: Mutation, result: dict[str, Any], status: str, conflicts: list[dict[str, Any]]
    ) -> ConflictEvent:
        return ConflictEvent(
            entity=m.entity,
            id=m.id,
            seq=m.seq,
            status=status,
            conflicts=conflicts,
            error=result.get("error"),
            version=result.get("version"),
            notes=list(result.get("notes") or []),
            op=m.op,
            fields=dict(m.fields or {}),
        )

    async def notify(self, event: ConflictEvent) -> None:
        for callback in list(self.callbacks):
            try:
                outcome = callback(event)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("conflict callback failed for %s %s seq %s", event.entity, event.id, event.seq)

    # ------------------------------------------------------------------------------------ pull
    async def pull(self, report: SyncReport) -> None:
        limits = await self.info()
        limit = max(1, min(self.pull_limit, limits.max_pull_limit))
        settled = {m.seq for m in self.outbox.acked()}
        restarted = False
        if self.replica.cursor is None:
            await self.replica.start_bootstrap()
        while True:
            params: dict[str, Any] = {"limit": limit}
            if self.replica.cursor:
                params["cursor"] = self.replica.cursor
            try:
                body = await self.http.json("GET", "/v1/sync/pull", params=params)
            except RequestRejected as exc:
                if exc.code in {"cursor_expired", "invalid_cursor"} and not restarted:
                    log.info("pull answered %s: bootstrapping again", exc.code)
                    restarted = True
                    report.rebootstrapped = True
                    await self.replica.start_bootstrap()
                    continue
                raise
            self.clock.observe(body["server_hlc"])
            page = await self.replica.apply_page(body["changes"], body["cursor"])
            report.pulled += page.applied
            report.evicted.extend(page.evicted)
            shown = self._shown(page.deleted + page.evicted)
            if shown:
                await self.outbox.drop(sorted(shown))
            if not body["has_more"]:
                break
        if self.replica.bootstrapping:
            report.evicted.extend(await self.replica.finish_bootstrap())
        # A complete pull contains every write the server acknowledged before it started.
        await self.outbox.drop(sorted(settled & set(self.outbox.entries)))

    def _shown(self, gone: list[Key]) -> set[int]:
        """Acked mutations whose effect the replica now holds (or whose entity is gone)."""
        gone_set = set(gone)
        out: set[int] = set()
        for m in self.outbox.acked():
            version = self.replica.version(m.entity, m.id)
            if (m.entity, m.id) in gone_set or (
                m.version is not None and version is not None and version >= m.version
            ):
                out.add(m.seq)
        return out
