"""Hybrid logical clock stamps: ``<16-digit ms>-<4-digit counter>-<node id>``.

Plain string comparison orders stamps (ties on time and counter go to the larger node id).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

_STAMP = re.compile(r"^(\d{16})-(\d{4})-([A-Za-z0-9._:~-]{1,64})$")
#: A client stamp further ahead of the server's clock than this is replaced (``clock_skew``).
MAX_AHEAD_MS = 5 * 60 * 1000
SERVER_NODE = "server"


@dataclass(frozen=True, order=True)
class Stamp:
    ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return format_stamp(self.ms, self.counter, self.node)


def format_stamp(ms: int, counter: int, node: str) -> str:
    return f"{ms:016d}-{counter:04d}-{node}"


def parse(text: str) -> Stamp:
    """Parse a stamp; raises ``ValueError`` for anything else."""
    match = _STAMP.match(text)
    if not match:
        raise ValueError("not an HLC stamp")
    return Stamp(int(match.group(1)), int(match.group(2)), match.group(3))


def is_valid(text: str) -> bool:
    return _STAMP.match(text) is not None


class HybridClock:
    """The server's HLC. Thread-safe; one per process (node id ``server``)."""

    def __init__(self, node: str = SERVER_NODE, wall_ms: callable | None = None) -> None:  # type: ignore[valid-type]
        self.node = node
        self._wall = wall_ms or (lambda: int(time.time() * 1000))
        self._ms = 0
        self._counter = 0
        self._lock = threading.Lock()

    def wall_ms(self) -> int:
        return int(self._wall())

    def now(self) -> str:
        """A new stamp, later than every stamp this clock issued or observed."""
        with self._lock:
            wall = self.wall_ms()
            if wall > self._ms:
                self._ms, self._counter = wall, 0
            else:
                self._counter += 1
                if self._counter > 9999:
                    self._ms, self._counter = self._ms + 1, 0
            return format_stamp(self._ms, self._counter, self.node)

    def observe(self, stamp: str) -> None:
        """HLC receive rule: never issue a stamp at or below one we have seen (within the skew bound)."""
        match = _STAMP.match(stamp)
        if match is not None:
            self._observe(int(match.group(1)), int(match.group(2)), self.wall_ms())

    def _observe(self, ms: int, counter: int, wall: int) -> None:
        if ms > wall + MAX_AHEAD_MS:
            return
        with self._lock:
            if (ms, counter) > (self._ms, self._counter):
                self._ms, self._counter = ms, counter

    def admit(self, stamp: str) -> tuple[str, bool]:
        """Accept a client's stamp, or replace one too far ahead. Returns ``(stamp, skewed)``."""
        match = _STAMP.match(stamp)
        if match is None:
            raise ValueError("not an HLC stamp")
        ms, wall = int(match.group(1)), self.wall_ms()
        if ms > wall + MAX_AHEAD_MS:
            return self.now(), True
        self._observe(ms, int(match.group(2)), wall)
        return stamp, False
