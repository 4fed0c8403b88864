"""PostgreSQL's binary ``COPY`` format, built from columns with numpy.

``asyncpg``'s ``copy_records_to_table`` encodes every value of every row in a loop; for bulk
inserts of numeric columns (track points: ten thousand rows of a dozen values) that loop was a
quarter of the request's CPU. Here a batch is laid out as numpy structured arrays and written in
one piece, to be sent with ``copy_to_table(..., source=payload, format="binary")``.

The format (PostgreSQL docs, "COPY", "Binary Format"): a header, then per row a big-endian int16
field count and, per field, an int32 byte length (-1 for NULL, then no bytes) followed by the
value in the type's binary send format; an int16 -1 ends the data. Rows whose NULLs and text
lengths fall the same way have the same layout, so rows are written group by group, each group
as one structured array (typically one group: a phone sends the same fields with every fix).
Row order is not preserved, which ``COPY`` into a table does not need.

Pure functions: nothing here talks to a database.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CopyColumn",
    "boolean_column",
    "date_column",
    "encode",
    "float8_column",
    "int8_column",
    "text_column",
    "uuid_column",
]

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
_NULL = -1
#: ``date`` is sent as days since 2000-01-01; the columns here take days since 1970-01-01.
_PG_EPOCH_DAY = (date(2000, 1, 1) - date(1970, 1, 1)).days


@dataclass(frozen=True, slots=True, eq=False)
class CopyColumn:
    """One column of a batch, each value already in its binary send format.

    Attributes:
        values: one value per row as a numpy array of a big-endian dtype (``kind`` "typed"), or
            one row of bytes per row padded on the right (``uint8``, shape ``(n, longest)``;
            "bytes"), or the bytes of one value every row shares ("shared").
        widths: per row, the byte length of the value, -1 for NULL; or one int for every row.
        kind: see ``values``.
    """

    values: NDArray[Any]
    widths: NDArray[np.int32] | int
    kind: Literal["typed", "bytes", "shared"] = "typed"

    def dtype(self, width: int) -> Any:
        """The numpy type of one value ``width`` bytes long."""
        return self.values.dtype if self.kind == "typed" else (np.uint8, (width,))

    def take(self, rows: NDArray[np.intp] | None, width: int) -> NDArray[Any]:
        """The values of ``rows`` (None: every row), all ``width`` bytes long."""
        if self.kind == "shared":
            return self.values
        picked = self.values if rows is None else self.values[rows]
        return picked[:, :width] if self.kind == "bytes" else picked


def uuid_column(value: uuid.UUID) -> CopyColumn:
    """The same ``uuid`` on every row."""
    return CopyColumn(np.frombuffer(value.bytes, dtype=np.uint8), 16, "shared")


def int8_column(values: ArrayLike) -> CopyColumn:
    """``bigint`` values, none NULL."""
    return CopyColumn(np.asarray(values, dtype=np.int64).astype(">i8"), 8)


def date_column(days: ArrayLike) -> CopyColumn:
    """``date`` values given as days since 1970-01-01, none NULL."""
    return CopyColumn((np.asarray(days, dtype=np.int64) - _PG_EPOCH_DAY).astype(">i4"), 4)


def float8_column(values: ArrayLike) -> CopyColumn:
    """``double precision`` values; NaN is written as NULL."""
    v = np.asarray(values, dtype=np.float64)
    missing = np.isnan(v)
    widths = np.where(missing, _NULL, 8).astype(np.int32) if missing.any() else 8
    return CopyColumn(v.astype(">f8"), widths)


def boolean_column(values: Sequence[bool | None]) -> CopyColumn:
    """``boolean`` values; None is written as NULL."""
    nulls = values.count(None) if isinstance(values, list) else sum(v is None for v in values)
    if nulls == len(values):
        return CopyColumn(np.zeros(1, dtype=np.uint8), _NULL, "shared")
    if nulls == 0:
        return CopyColumn(np.array(values, dtype=np.bool_).view(np.uint8), 1)
    widths = np.array([_NULL if v is None else 1 for v in values], dtype=np.int32)
    return CopyColumn(np.array([v is True for v in values], dtype=np.uint8), widths)


def text_column(values: Sequence[str | None]) -> CopyColumn:
    """``text`` or ``varchar`` values, UTF-8; None is written as NULL."""
    distinct = set(values)
    if len(distinct) == 1:  # the usual batch: one provider (or none) on every fix
        (only,) = distinct
        if only is None:
            return CopyColumn(np.zeros(1, dtype=np.uint8), _NULL, "shared")
        raw = only.encode()
        return CopyColumn(np.frombuffer(raw, dtype=np.uint8), len(raw), "shared")
    utf8 = {v: v.encode() for v in distinct if v is not None}
    encoded = [b"" if v is None else utf8[v] for v in values]
    widths = np.array([_NULL if v is None else len(utf8[v]) for v in values], dtype=np.int32)
    longest = max(1, int(widths.max(initial=0)))
    padded = np.array(encoded, dtype=f"S{longest}").view(np.uint8).reshape(len(values), longest)
    return CopyColumn(padded, widths, "bytes")


def _layouts(columns: Sequence[CopyColumn], n: int) -> tuple[list[list[int]], NDArray[np.intp]]:
    """The distinct layouts (each column's width) and the layout of each row."""
    fixed = [c.widths if isinstance(c.widths, int) else 0 for c in columns]
    varying = [j for j, c in enumerate(columns) if not isinstance(c.widths, int)]
    if not varying:
        return [fixed], np.zeros(n, dtype=np.intp)
    widths = np.stack([np.asarray(columns[j].widths, dtype=np.int64) + 1 for j in varying], axis=1)
    radix = [int(w) + 1 for w in widths.max(axis=0)]
    if math.prod(radix) < 2**62:
        # Each row's widths as one number (mixed radix): finding the layouts is a 1-d unique.
        key = widths @ np.array([math.prod(radix[k + 1 :]) for k in range(len(radix))], dtype=np.int64)
        _, first, group = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, group = np.unique(widths, axis=0, return_index=True, return_inverse=True)
    layouts = []
    for row in first.tolist():
        layout = list(fixed)
        for k, j in enumerate(varying):
            layout[j] = int(widths[row, k]) - 1
        layouts.append(layout)
    return layouts, group.reshape(-1)


def encode(columns: Sequence[CopyColumn], n: int) -> bytes:
    """``n`` rows of ``columns`` as one binary ``COPY`` payload (header and trailer included)."""
    if n == 0:
        return HEADER + TRAILER
    layouts, group = _layouts(columns, n)
    if len(layouts) == 1:
        return HEADER + _group(columns, layouts[0], None, n) + TRAILER
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(layouts) + 1))
    parts = [HEADER]
    for g, layout in enumerate(layouts):
        rows = order[bounds[g] : bounds[g + 1]]
        parts.append(_group(columns, layout, rows, rows.size))
    parts.append(TRAILER)
    return b"".join(parts)


def _group(
    columns: Sequence[CopyColumn], layout: list[int], rows: NDArray[np.intp] | None, size: int
) -> bytes:
    """Rows sharing one layout (the same NULLs and text lengths) as one structured array; ``rows``
    None means every row."""
    fields: list[tuple[str, Any]] = [("count", ">i2")]
    for j, (column, width) in enumerate(zip(columns, layout, strict=True)):
        fields.append((f"w{j}", ">i4"))
        if width != _NULL:
            fields.append((f"v{j}", column.dtype(width)))
    block = np.empty(size, dtype=np.dtype(fields))
    block["count"] = len(columns)
    for j, (column, width) in enumerate(zip(columns, layout, strict=True)):
        block[f"w{j}"] = width
        if width != _NULL:
            block[f"v{j}"] = column.take(rows, width)
    return block.tobytes()
