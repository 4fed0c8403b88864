"""Push: per-client ``seq`` bookkeeping around the writer, in short transactions.

Each chunk of consecutive mutations (a whole push, up to the per-push limit) is one transaction
that locks the client's row, applies the mutations, records their results and advances
``last_seq`` together, so a crash never applies a mutation without recording it or records it
without applying it. On PostgreSQL the chunk's rows are read while its mutations are checked
(:meth:`~sync.writer.SyncWriter.read_ahead`). The bookkeeping costs a locking ``SELECT`` of the
client's row and, after the writes, the chunk's results (encoded once, with msgspec, while the
last writes finish) stored with the new ``last_seq`` (one statement on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from time import perf_counter
from typing import Any

import msgspec
from sqlalchemy import Text, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.accounts.principal import Principal
from api.db.engine import write_session
from api.lib.clock import utcnow
from api.lib.ids import parse_uuid
from sync import hlc as hlc_mod
from sync.entities import Actor
from sync.models import SyncClient, SyncPushResult
from sync.policy import Incoming
from sync.push_timing import PushTiming
from sync.rows import Write, driver
from sync.schema_versions import CURRENT, downgrade_result, upgrade_fields
from sync.schemas import MutationIn
from sync.writer import AfterMerge, SyncWriter

log = logging.getLogger("fieldline.sync.push")

#: Mutations per transaction: a whole push of up to 1,000 mutations commits once.
CHUNK = 1000
RETRIES = 3


class PushUnavailable(Exception):
    """The database could not go on; ``last_seq`` is what was processed."""

    def __init__(self, last_seq: int) -> None:
        super().__init__("database unavailable")
        self.last_seq = last_seq


def actor_for(principal: Principal) -> Actor:
    return Actor(user_id=principal.user_id, role=principal.role, rep_scope=principal.rep_scope)


def normalise(m: MutationIn, schema_version: int = CURRENT) -> tuple[Incoming | None, dict[str, Any] | None]:
    """Check one mutation's shape (and translate it from an older schema); returns it or an error."""

    def bad(field: str, message: str) -> tuple[None, dict[str, Any]]:
        return None, {"code": "validation_failed", "message": message, "field": field}

    try:
        ident = parse_uuid(m.id) if isinstance(m.id, str) else None
    except ValueError:
        ident = None
    if ident is None:
        return bad("id", "id must be a UUID string")
    if m.op not in {"upsert", "delete"}:
        return bad("op", "op must be upsert or delete")
    if not isinstance(m.hlc, str) or not hlc_mod.is_valid(m.hlc):
        return bad("hlc", "hlc must be a stamp like 0001763890271123-0000-<node>")
    if m.base_version is not None and (
        not isinstance(m.base_version, int) or isinstance(m.base_version, bool) or m.base_version < 0
    ):
        return bad("base_version", "base_version must be a non-negative integer")
    if m.op == "upsert" and not isinstance(m.fields, dict):
        return bad("fields", "an upsert needs a fields object")
    if m.op == "delete" and m.fields not in (None, {}):
        return bad("fields", "a delete takes no fields")
    fields, error = upgrade_fields(schema_version, m.entity, m.fields or {})
    if error is not None:
        return None, error
    return Incoming(
        entity=m.entity,
        id=ident,
        op=m.op,
        hlc=m.hlc,
        base_version=m.base_version,
        fields=fields,
        seq=m.seq,
    ), None


class PushService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: hlc_mod.HybridClock,
        *,
        after_merge: Sequence[AfterMerge] = (),
        chunk: int = CHUNK,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.after_merge = after_merge
        self.chunk = chunk

    async def push(
        self,
        principal: Principal,
        client_id: uuid.UUID,
        mutations: list[MutationIn],
        *,
        schema_version: int = CURRENT,
        timing: PushTiming | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """Process a batch; results are stored and answered in the client's schema version.

        ``timing``, when given, is told where the time went (see :mod:`sync.push_timing`)."""
        client_id = parse_uuid(str(client_id))  # the C UUID: written with every conflict-log row
        timing = timing if timing is not None else PushTiming()
        results: list[dict[str, Any] | None] = [None] * len(mutations)
        last_seq = 0
        start = 0
        while start < len(mutations):
            end = min(start + self.chunk, len(mutations))
            last_seq = await self._chunk_with_retry(
                principal, client_id, mutations, start, end, results, schema_version, timing
            )
            start = end
        if not mutations:
            last_seq = await self._last_seq(principal, client_id)
        await self._fill_duplicates(principal, client_id, mutations, results)
        return last_seq, [r for r in results if r is not None]

    async def _chunk_with_retry(
        self,
        principal: Principal,
        client_id: uuid.UUID,
        mutations: list[MutationIn],
        start: int,
        end: int,
        results: list[dict[str, Any] | None],
        schema_version: int,
        timing: PushTiming,
    ) -> int:
        for attempt in range(RETRIES + 1):
            try:
                return await self._chunk(
                    principal, client_id, mutations, start, end, results, schema_version, timing
                )
            except IntegrityError:
                # Another writer created one of these ids concurrently: re-read and merge.
                if attempt == RETRIES:
                    raise
            except (OperationalError, DBAPIError) as exc:
                if _retryable(exc) and attempt < RETRIES:
                    await asyncio.sleep(0.05 * (attempt + 1))
                    continue
                log.warning("push stopped: %s", type(exc).__name__)
                raise PushUnavailable(await self._last_seq_safe(principal, client_id)) from exc
        raise AssertionError("unreachable")

    async def _chunk(
        self,
        principal: Principal,
        client_id: uuid.UUID,
        mutations: list[MutationIn],
        start: int,
        end: int,
        results: list[dict[str, Any] | None],
        schema_version: int,
        timing: PushTiming,
    ) -> int:
        started = perf_counter()
        async with write_session(self.sessions) as session:
            sync_client_id, last = await _lock_client(session, principal, client_id)
            timing.lock += perf_counter() - started
            accepted: list[int] = []
            for i in range(start, end):
                m = mutations[i]
                if m.seq <= last:
                    results[i] = None  # duplicate: filled from stored results
                    continue
                if m.seq != last + 1:
                    results[i] = {"seq": m.seq, "status": "out_of_order"}
                    continue
                last = m.seq
                accepted.append(i)
            to_apply: list[Incoming] = []
            skewed: list[bool] = []
            slots: list[int] = []
            local: dict[int, dict[str, Any]] = {}
            writer: SyncWriter | None = None
            try:
                if accepted:
                    writer = SyncWriter(
                        session,
                        principal.tenant_id,
                        actor_for(principal),
                        after_merge=self.after_merge,
                        lock_rows=True,
                        client_id=client_id,
                    )
                    # The database reads the batch's rows while its mutations are checked.
                    named = (mutations[i] for i in accepted)
                    await writer.read_ahead((m.entity, m.id, m.op, m.fields) for m in named)
                admit = self.clock.admit
                for i in accepted:
                    m = mutations[i]
                    incoming, error = normalise(m, schema_version)
                    if error is not None or incoming is None:
                        local[i] = {"seq": m.seq, "status": "rejected", "error": error}
                        continue
                    incoming.hlc, was_skewed = admit(incoming.hlc)
                    to_apply.append(incoming)
                    skewed.append(was_skewed)
                    slots.append(i)
                if writer is not None and to_apply:
                    # The last writes are still being sent while the results are put together.
                    outcomes = await writer.apply(to_apply, skewed=skewed, wait=False)
                    for i, incoming, outcome in zip(slots, to_apply, outcomes, strict=True):
                        local[i] = downgrade_result(
                            schema_version, incoming.entity, outcome.to_wire(incoming.seq)
                        )
                record = None
                if local:
                    record = _prepare_record(sync_client_id, [local[i] for i in sorted(local)], last)
                if writer is not None:
                    await writer.finish()
            except BaseException:
                if writer is not None:
                    await writer.abandon()
                raise
            finally:
                if writer is not None:
                    timing.db += writer.waited
            started = perf_counter()
            if record is not None:
                await record(session)
            for i, res in local.items():
                results[i] = res
        timing.commit += perf_counter() - started  # the results stored, and the commit
        return last

    async def _fill_duplicates(
        self,
        principal: Principal,
        client_id: uuid.UUID,
        mutations: list[MutationIn],
        results: list[dict[str, Any] | None],
    ) -> None:
        missing = [i for i, r in enumerate(results) if r is None]
        if not missing:
            return
        seqs = {mutations[i].seq for i in missing}
        originals: dict[int, dict[str, Any]] = {}
        async with self.sessions() as session:
            client = await session.scalar(
                select(SyncClient).where(
                    SyncClient.user_id == principal.user_id, SyncClient.client_id == client_id
                )
            )
            if client is not None:
                conds = [and_(SyncPushResult.first_seq <= s, SyncPushResult.last_seq >= s) for s in seqs]
                rows = await session.scalars(
                    select(SyncPushResult).where(SyncPushResult.sync_client_id == client.id, or_(*conds))
                )
                for row in rows:
                    for res in row.results:
                        if res.get("seq") in seqs:
                            originals[res["seq"]] = res
        for i in missing:
            seq = mutations[i].seq
            original = originals.get(seq)
            if original is None:
                results[i] = {"seq": seq, "status": "duplicate"}
            else:
                results[i] = {**original, "status": "duplicate", "original_status": original["status"]}

    async def _last_seq(self, principal: Principal, client_id: uuid.UUID) -> int:
        async with self.sessions() as session:
            value = await session.scalar(
                select(SyncClient.last_seq).where(
                    SyncClient.user_id == principal.user_id, SyncClient.client_id == client_id
                )
            )
            return int(value or 0)

    async def _last_seq_safe(self, principal: Principal, client_id: uuid.UUID) -> int:
        try:
            return await self._last_seq(principal, client_id)
        except Exception:
            return 0


_CLIENTS: Any = SyncClient.__table__
_RESULTS: Any = SyncPushResult.__table__


#: PostgreSQL: the client's row, locked; sent as written (no statement to build or compile), it
#: also begins the transaction.
_LOCK_PG = "SELECT id, last_seq FROM sync_clients WHERE user_id = $1 AND client_id = $2 FOR UPDATE"
#: PostgreSQL: a chunk's results and the client's new ``last_seq`` in one statement.
_RECORD_PG = (
    "WITH stored AS (INSERT INTO sync_push_results (sync_client_id, first_seq, last_seq, results, created_at)"
    " VALUES ($1, $2, $3, $4::json, $5))"
    " UPDATE sync_clients SET last_seq = $6, updated_at = $5 WHERE id = $1"
)


async def _lock_client(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> tuple[uuid.UUID, int]:
    """The client's row (created on its first push), locked on PostgreSQL: ``(id, last_seq)``."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        row = (await connection.exec_driver_sql(_LOCK_PG, (principal.user_id, client_id))).first()
    else:
        stmt = select(_CLIENTS.c.id, _CLIENTS.c.last_seq).where(
            _CLIENTS.c.user_id == principal.user_id, _CLIENTS.c.client_id == client_id
        )
        row = (await connection.execute(stmt)).first()
    if row is not None:
        return row[0], int(row[1])
    ident = uuid.uuid4()
    # A concurrent first push of the same client fails here on the unique key and is retried.
    await connection.execute(
        insert(_CLIENTS).values(
            id=ident,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            client_id=client_id,
            last_seq=0,
            updated_at=utcnow(),
        )
    )
    return ident, 0


def _prepare_record(sync_client_id: uuid.UUID, processed: list[dict[str, Any]], last: int) -> Write:
    """Storing the results of a chunk (for retries) and advancing the client's ``last_seq`` to
    ``last``; the results are encoded now, sent with ``await record(session)``."""
    now = utcnow()
    results = msgspec.json.encode(processed).decode()
    first_seq, last_seq = processed[0]["seq"], processed[-1]["seq"]

    async def record(session: AsyncSession) -> None:
        connection = await session.connection()
        if connection.dialect.name == "postgresql":
            async with driver(session, "INSERT sync_push_results") as raw:
                await raw.execute(_RECORD_PG, sync_client_id, first_seq, last_seq, results, now, last)
            return
        await connection.execute(
            insert(_RESULTS).values(
                sync_client_id=sync_client_id,
                first_seq=first_seq,
                last_seq=last_seq,
                results=bindparam("results", type_=Text),
                created_at=now,
            ),
            {"results": results},
        )
        await connection.execute(
            update(_CLIENTS).where(_CLIENTS.c.id == sync_client_id).values(last_seq=last, updated_at=now)
        )

    return record


def _retryable(exc: Exception) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(
        getattr(exc, "orig", None), "pgcode", None
    )
    text = str(exc).lower()
    return code in {"40001", "40P01"} or "deadlock" in text or "database is locked" in text
