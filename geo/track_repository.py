"""Storage of raw track points: bulk idempotent insert, one rep-day read, a rep's latest fix.

PostgreSQL, optimistically: new fixes are the common case, so the batch is copied (binary
``COPY``, laid out by :mod:`api.db.pg_copy` with numpy) straight into ``track_points`` inside a
savepoint, and every point is stored. When a point is already there (a phone re-sending) the key
refuses the ``COPY`` and the savepoint is rolled back; the batch's stored times are looked up
along the key and only the others are copied, again straight into the table. Only if that second
``COPY`` is refused too (another request stored some of the same fixes in between) do they take
the merge path: copied into a per-connection temporary table and moved with ``INSERT … SELECT …
ON CONFLICT (device_id, t_ms) DO NOTHING``, whose row count is the number stored (the temporary
table empties itself at commit). The merge costs the database about twice the direct ``COPY``
(a second table written and read back). SQLite: one ``executemany`` of ``INSERT OR IGNORE``. All
run inside the caller's transaction.

Reads go along the ``(device_id, t_ms)`` key, the table's only index: the rep's devices (from
``devices``), then each device's time range, keeping the rep's own points (a phone may be shared).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from api.accounts.models import Device
from api.db import pg_copy
from api.db.engine import driver_connection
from geo.ingest import ParsedBatch
from geo.models import TrackPoint

__all__ = ["DayPoints", "TrackRepository"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLUMNS = ("t_ms", "lat", "lon", "accuracy_m", "speed_mps", "heading", "provider", "is_mock")
_ALL_COLUMNS = ("tenant_id", "rep_id", "device_id", *_COLUMNS)
_TABLE = "track_points"
_STAGING = "track_points_staged"
_CREATE_STAGING = f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (LIKE {_TABLE}) ON COMMIT DELETE ROWS"
_STORED_TIMES = f"SELECT array_agg(t_ms) FROM {_TABLE} WHERE device_id = $1 AND t_ms = ANY($2::bigint[])"
_MOVE_STAGED = (
    f"INSERT INTO {_TABLE} ({', '.join(_ALL_COLUMNS)}) SELECT {', '.join(_ALL_COLUMNS)} FROM {_STAGING} "
    "ON CONFLICT (device_id, t_ms) DO NOTHING"
)
_SQLITE_INSERT = (
    "INSERT OR IGNORE INTO track_points (tenant_id, rep_id, device_id, "
    + ", ".join(_COLUMNS)
    + ") VALUES ("
    + ", ".join("?" * (len(_COLUMNS) + 3))
    + ")"
)


@dataclass(frozen=True, slots=True, eq=False)
class DayPoints:
    """One rep-day of stored fixes, sorted by time (columns; NaN where unknown)."""

    t_ms: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    accuracy_m: np.ndarray
    speed_mps: np.ndarray

    def __len__(self) -> int:
        return int(self.t_ms.size)


def _optional(values: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in values.tolist()]  # NaN != NaN


async def _copy_if_all_new(conn: AsyncConnection, pg: Any, payload: bytes) -> bool:
    """``COPY`` the rows into ``track_points`` inside a savepoint; False (and nothing stored) if
    the key refuses one of them."""
    try:
        async with conn.begin_nested():
            # asyncpg reads a ``bytes`` source as a file name: a memoryview is sent as it is.
            await pg.copy_to_table(_TABLE, source=memoryview(payload), columns=_ALL_COLUMNS, format="binary")
    except asyncpg.UniqueViolationError:
        return False
    return True


def _row_count(status: str) -> int:
    """The row count of a command tag (``COPY 10000``, ``INSERT 0 42``)."""
    return int(status.rsplit(" ", 1)[-1])


def _copy_payload(
    tenant_id: uuid.UUID,
    rep_id: uuid.UUID,
    device_id: uuid.UUID,
    batch: ParsedBatch,
    rows: NDArray[np.intp] | None = None,
) -> bytes:
    """The batch's points (those at ``rows``, or all) as binary ``COPY`` data for
    ``track_points``, columns in ``_ALL_COLUMNS`` order; NaN (not sent) becomes NULL."""

    def pick(values: NDArray[Any]) -> NDArray[Any]:
        return values if rows is None else values[rows]

    def pick_list(values: list[Any]) -> list[Any]:
        return values if rows is None else [values[i] for i in rows.tolist()]

    columns = [
        pg_copy.uuid_column(tenant_id),
        pg_copy.uuid_column(rep_id),
        pg_copy.uuid_column(device_id),
        pg_copy.int8_column(pick(batch.t_ms)),
        pg_copy.float8_column(pick(batch.lat)),
        pg_copy.float8_column(pick(batch.lon)),
        pg_copy.float8_column(pick(batch.accuracy_m)),
        pg_copy.float8_column(pick(batch.speed_mps)),
        pg_copy.float8_column(pick(batch.heading)),
        pg_copy.text_column(pick_list(batch.provider)),
        pg_copy.boolean_column(pick_list(batch.is_mock)),
    ]
    return pg_copy.encode(columns, batch.count if rows is None else int(rows.size))


class TrackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(
        self, tenant_id: uuid.UUID, rep_id: uuid.UUID, device_id: uuid.UUID, batch: ParsedBatch
    ) -> int:
        """Store the batch's points; returns how many were new (the rest were already stored)."""
        if batch.count == 0:
            return 0
        conn = await self.session.connection()
        if conn.dialect.name == "postgresql":
            return await self._insert_postgres(conn, tenant_id, rep_id, device_id, batch)
        return await self._insert_sqlite(conn, tenant_id, rep_id, device_id, batch)

    async def _insert_postgres(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        rep_id: uuid.UUID,
        device_id: uuid.UUID,
        batch: ParsedBatch,
    ) -> int:
        pg: Any = await driver_connection(conn)
        payload = _copy_payload(tenant_id, rep_id, device_id, batch)
        if await _copy_if_all_new(conn, pg, payload):
            return batch.count
        # Some are stored already (a phone re-sending): look them up and copy the others.
        stored = await pg.fetchval(_STORED_TIMES, device_id, batch.t_ms.tolist())
        fresh = np.flatnonzero(~np.isin(batch.t_ms, np.array(stored or [], dtype=np.int64)))
        if fresh.size == 0:
            return 0
        payload = _copy_payload(tenant_id, rep_id, device_id, batch, fresh)
        if await _copy_if_all_new(conn, pg, payload):
            return int(fresh.size)
        # Another request stored some of them meanwhile: the key decides point by point.
        await pg.execute(_CREATE_STAGING)
        await pg.copy_to_table(_STAGING, source=memoryview(payload), columns=_ALL_COLUMNS, format="binary")
        return _row_count(await pg.execute(_MOVE_STAGED))

    async def _insert_sqlite(
        self,
        conn: AsyncConnection,
        tenant_id: uuid.UUID,
        rep_id: uuid.UUID,
        device_id: uuid.UUID,
        batch: ParsedBatch,
    ) -> int:
        dialect = conn.dialect
        table = TrackPoint.__table__
        as_uuid = table.c.device_id.type.dialect_impl(dialect).bind_processor(dialect)
        as_bool = table.c.is_mock.type.dialect_impl(dialect).bind_processor(dialect)
        ids = tuple(as_uuid(v) if as_uuid else v for v in (tenant_id, rep_id, device_id))
        is_mock = batch.is_mock
        if as_bool is not None:
            is_mock = [None if v is None else as_bool(v) for v in is_mock]
        columns = (
            batch.t_ms.tolist(),
            batch.lat.tolist(),
            batch.lon.tolist(),
            _optional(batch.accuracy_m),
            _optional(batch.speed_mps),
            _optional(batch.heading),
            batch.provider,
            is_mock,
        )
        rows = [ids + row for row in zip(*columns, strict=True)]
        result = await conn.exec_driver_sql(_SQLITE_INSERT, rows)
        return int(result.rowcount)

    async def day(self, tenant_id: uuid.UUID, rep_id: uuid.UUID, start: datetime, end: datetime) -> DayPoints:
        """The rep's fixes in ``[start, end)`` (a calendar day of the tenant's zone), by time."""
        rows = (
            await self.session.execute(
                select(
                    TrackPoint.t_ms,
                    TrackPoint.lat,
                    TrackPoint.lon,
                    TrackPoint.accuracy_m,
                    TrackPoint.speed_mps,
                )
                .where(
                    TrackPoint.device_id.in_(_devices_of(tenant_id, rep_id)),
                    TrackPoint.t_ms >= _ms(start),
                    TrackPoint.t_ms < _ms(end),
                    TrackPoint.tenant_id == tenant_id,
                    TrackPoint.rep_id == rep_id,
                )
                .order_by(TrackPoint.t_ms)
            )
        ).all()
        if not rows:
            empty = np.zeros(0, dtype=np.float64)
            return DayPoints(np.zeros(0, dtype=np.int64), empty, empty, empty, empty)
        t_ms = np.array([r[0] for r in rows], dtype=np.int64)
        values = np.array([r[1:] for r in rows], dtype=np.float64)  # None -> NaN
        return DayPoints(t_ms, values[:, 0], values[:, 1], values[:, 2], values[:, 3])

    async def latest_before(
        self, tenant_id: uuid.UUID, rep_id: uuid.UUID, at: datetime, since: datetime
    ) -> TrackPoint | None:
        """The rep's last fix in ``[since, at)``: per device, one step back along the key."""
        devices = list(await self.session.scalars(_devices_of(tenant_id, rep_id)))
        best: TrackPoint | None = None
        for device_id in devices:
            point = await self.session.scalar(
                select(TrackPoint)
                .where(
                    TrackPoint.device_id == device_id,
                    TrackPoint.t_ms >= _ms(since),
                    TrackPoint.t_ms < _ms(at),
                    TrackPoint.tenant_id == tenant_id,
                    TrackPoint.rep_id == rep_id,
                )
                .order_by(TrackPoint.t_ms.desc())
                .limit(1)
            )
            if point is not None and (best is None or point.t_ms > best.t_ms):
                best = point
        return best


def _devices_of(tenant_id: uuid.UUID, rep_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """The install ids the rep ever signed in from (revoked ones too: their points stay)."""
    return select(Device.device_id).where(Device.user_id == rep_id, Device.tenant_id == tenant_id)


def _ms(at: datetime) -> int:
    """Epoch milliseconds of an aware instant, exactly (no float rounding)."""
    return (at - _EPOCH) // timedelta(milliseconds=1)
