"""Calendar days of UTC instants in a time zone, for many instants at once.

A rep-day is a calendar day in the tenant's zone. The zone's UTC offset is looked up once per
distinct hour of the input rather than once per point; an hour in which the offset changes (a
daylight-saving or other transition, which need not fall on a UTC hour: Lord Howe Island shifts by
30 minutes at 15:30 UTC) is resolved point by point, so the result is exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EPOCH_ORDINAL", "day_to_date", "local_days"]

_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000
#: ``date(1970, 1, 1).toordinal()``: add to a day number to get a proleptic Gregorian ordinal.
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _offset_ms(epoch_ms: int, tz: tzinfo) -> int:
    offset = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).astimezone(tz).utcoffset()
    return int(offset.total_seconds() * 1000) if offset is not None else 0


def local_days(t_ms: ArrayLike, tz: tzinfo) -> NDArray[np.int64]:
    """Local calendar day of each instant, as days since 1970-01-01.

    Args:
        t_ms: instants, epoch milliseconds (UTC).
        tz: the zone (``zoneinfo.ZoneInfo`` or any ``tzinfo``).
    """
    t = np.asarray(t_ms, dtype=np.int64)
    if t.size == 0:
        return np.zeros(0, dtype=np.int64)
    hours, inverse = np.unique(t // _HOUR_MS, return_inverse=True)
    start = np.array([_offset_ms(int(h) * _HOUR_MS, tz) for h in hours], dtype=np.int64)
    end = np.array([_offset_ms(int(h) * _HOUR_MS + _HOUR_MS - 1, tz) for h in hours], dtype=np.int64)
    offset = start[inverse]
    changing = np.flatnonzero((start != end)[inverse])
    for i in changing.tolist():
        offset[i] = _offset_ms(int(t[i]), tz)
    return (t + offset) // _DAY_MS


def day_to_date(day: int) -> date:
    """The ``date`` of a day number from :func:`local_days`."""
    return date.fromordinal(int(day) + EPOCH_ORDINAL)
