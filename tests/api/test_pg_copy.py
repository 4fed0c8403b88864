"""Binary COPY payloads built with numpy: the documented layout, and PostgreSQL reading them back."""

from __future__ import annotations

import asyncio
import math
import struct
import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from api.db import pg_copy
from tests.conftest import ENGINE

U = uuid.UUID("0196e3a2-5b1c-7d4e-8f00-123456789abc")
PG_EPOCH = date(2000, 1, 1)


def read_payload(payload: bytes, kinds: list[str]) -> list[tuple[Any, ...]]:
    """A reader of PostgreSQL's binary COPY format written from its documentation, for checking."""
    assert payload[:11] == b"PGCOPY\n\xff\r\n\x00"
    flags, extension = struct.unpack_from(">ii", payload, 11)
    assert (flags, extension) == (0, 0)
    pos, rows = 19, []
    while True:
        (count,) = struct.unpack_from(">h", payload, pos)
        pos += 2
        if count == -1:
            assert pos == len(payload)
            return rows
        assert count == len(kinds)
        row: list[Any] = []
        for kind in kinds:
            (width,) = struct.unpack_from(">i", payload, pos)
            pos += 4
            if width == -1:
                row.append(None)
                continue
            raw = payload[pos : pos + width]
            pos += width
            row.append(_value(kind, raw))
        rows.append(tuple(row))


def _value(kind: str, raw: bytes) -> Any:
    if kind == "uuid":
        return uuid.UUID(bytes=raw)
    if kind == "int8":
        return struct.unpack(">q", raw)[0]
    if kind == "date":
        return PG_EPOCH + timedelta(days=struct.unpack(">i", raw)[0])
    if kind == "float8":
        return struct.unpack(">d", raw)[0]
    if kind == "bool":
        assert raw in (b"\x00", b"\x01")
        return raw == b"\x01"
    return raw.decode()


KINDS = ["uuid", "int8", "date", "float8", "float8", "text", "bool"]


def sample(n: int, seed: int = 1) -> tuple[list[pg_copy.CopyColumn], list[tuple[Any, ...]]]:
    """``n`` rows with every kind of column, NULLs and text of several lengths mixed in."""
    rng = np.random.default_rng(seed)
    t = rng.integers(-(2**62), 2**62, n)
    days = rng.integers(-30_000, 30_000, n)
    lat = rng.normal(31.0, 1.0, n)
    acc = rng.uniform(0, 40, n)
    acc[rng.random(n) < 0.3] = np.nan
    texts = ["fused", "gps", "", "réseau", None]
    text = [texts[i] for i in rng.integers(0, len(texts), n)]
    flags = [(True, False, None)[i] for i in rng.integers(0, 3, n)]
    columns = [
        pg_copy.uuid_column(U),
        pg_copy.int8_column(t),
        pg_copy.date_column(days),
        pg_copy.float8_column(lat),
        pg_copy.float8_column(acc),
        pg_copy.text_column(text),
        pg_copy.boolean_column(flags),
    ]
    expected = [
        (
            U,
            int(t[i]),
            date(1970, 1, 1) + timedelta(days=int(days[i])),
            float(lat[i]),
            None if math.isnan(acc[i]) else float(acc[i]),
            text[i],
            flags[i],
        )
        for i in range(n)
    ]
    return columns, expected


def test_rows_follow_the_documented_layout() -> None:
    columns, expected = sample(500)
    rows = read_payload(pg_copy.encode(columns, 500), KINDS)
    assert Counter(rows) == Counter(expected)


def test_uniform_rows_are_one_block_in_order() -> None:
    n = 3
    columns = [
        pg_copy.uuid_column(U),
        pg_copy.int8_column([1, 2, 3]),
        pg_copy.date_column([0, 1, 2]),
        pg_copy.float8_column([1.5, 2.5, 3.5]),
        pg_copy.float8_column([np.nan] * n),
        pg_copy.text_column(["gps"] * n),
        pg_copy.boolean_column([False, True, False]),
    ]
    payload = pg_copy.encode(columns, n)
    assert read_payload(payload, KINDS) == [
        (U, k + 1, date(1970, 1, 1) + timedelta(days=k), k + 1.5, None, "gps", k == 1) for k in range(n)
    ]
    # 2 (field count) + 7 lengths + 16 + 8 + 4 + 8 + 0 + 3 + 1 bytes per row
    assert len(payload) == 19 + n * (2 + 7 * 4 + 16 + 8 + 4 + 8 + 3 + 1) + 2


def test_no_rows() -> None:
    assert read_payload(pg_copy.encode([pg_copy.int8_column([])], 0), ["int8"]) == []


def test_many_layouts_at_once() -> None:
    """Wide text columns make the layout key too large for one integer: the slower grouping."""
    n = 400
    words = [None if i % 7 == 0 else "x" * (i % 60) for i in range(n)]
    columns = [pg_copy.text_column(words) for _ in range(12)]
    rows = read_payload(pg_copy.encode(columns, n), ["text"] * 12)
    assert Counter(rows) == Counter(tuple([w] * 12) for w in words)


def test_postgres_reads_the_payload(db_url: str) -> None:
    if ENGINE != "postgres":
        pytest.skip("binary COPY is PostgreSQL's")
    import asyncpg

    columns, expected = sample(5_000, seed=2)
    payload = pg_copy.encode(columns, 5_000)

    async def go() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(
                "CREATE TEMPORARY TABLE copied (u uuid, t bigint, d date, lat double precision,"
                " acc double precision, p varchar(16), m boolean)"
            )
            await conn.copy_to_table("copied", source=memoryview(payload), format="binary")
            return [tuple(r) for r in await conn.fetch("SELECT * FROM copied")]
        finally:
            await conn.close()

    assert Counter(asyncio.run(go())) == Counter(expected)
