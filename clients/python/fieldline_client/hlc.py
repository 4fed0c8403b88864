"""The device's hybrid logical clock and client-generated ids.

A stamp is ``<16-digit ms since the epoch>-<4-digit counter>-<node id>``; plain string comparison
orders stamps. The node id is the device id. Every push and pull answer carries ``server_hlc``:
:meth:`HybridClock.observe` moves the clock past it (the HLC receive rule), so a phone whose clock
is behind catches up at its first sync.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable

_STAMP = re.compile(r"^(\d{16})-(\d{4})-([A-Za-z0-9._:~-]{1,64})$")
#: The server replaces a stamp further ahead of its clock than this (``clock_skew``); the client
#: ignores server stamps that far ahead of its own wall clock plus this bound for the same reason.
MAX_AHEAD_MS = 5 * 60 * 1000
MAX_COUNTER = 9999

WallClock = Callable[[], int]


def wall_ms() -> int:
    return int(time.time() * 1000)


def format_stamp(ms: int, counter: int, node: str) -> str:
    return f"{ms:016d}-{counter:04d}-{node}"


def parse_stamp(text: str) -> tuple[int, int, str]:
    match = _STAMP.match(text)
    if match is None:
        raise ValueError(f"not an HLC stamp: {text!r}")
    return int(match.group(1)), int(match.group(2)), match.group(3)


class HybridClock:
    """Stamps later than every stamp this clock issued or observed."""

    def __init__(self, node: str, wall: WallClock = wall_ms, last: str | None = None) -> None:
        if not _STAMP.match(format_stamp(0, 0, node)):
            raise ValueError(f"node id {node!r} cannot appear in a stamp")
        self.node = node
        self._wall = wall
        self._ms = 0
        self._counter = 0
        if last:
            self.observe(last, trust=True)

    @property
    def last(self) -> str:
        return format_stamp(self._ms, self._counter, self.node)

    def now(self) -> str:
        wall = int(self._wall())
        if wall > self._ms:
            self._ms, self._counter = wall, 0
        else:
            self._counter += 1
            if self._counter > MAX_COUNTER:
                self._ms, self._counter = self._ms + 1, 0
        return self.last

    def observe(self, stamp: str, *, trust: bool = False) -> None:
        """Receive rule: never issue a stamp at or below ``stamp`` afterwards."""
        try:
            ms, counter, _ = parse_stamp(stamp)
        except ValueError:
            return
        if not trust and ms > int(self._wall()) + MAX_AHEAD_MS * 12:
            return  # a wildly wrong remote clock must not drag ours a day ahead
        if (ms, counter) > (self._ms, self._counter):
            self._ms, self._counter = ms, counter


def uuid7(wall: WallClock = wall_ms) -> str:
    """A time-ordered UUIDv7 (RFC 9562) as a string: ids sort in creation order."""
    ms = int(wall()) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b))
