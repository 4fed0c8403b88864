"""The time budget of one extraction, counted in CPU seconds so a busy machine does not eat it.

On a shared machine a receipt's wall time grows with the load while the work stays the same; a
wall-clock budget then cuts reads short and accuracy drops with the load. The budget therefore counts
the CPU time the extraction itself used: its own thread plus the tesseract processes it waited for.
A wall-clock limit of `WALL_FACTOR` times the budget stays as a backstop, so a starved machine still
gives up in bounded time.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["WALL_FACTOR", "Budget"]

#: Wall-clock backstop, as a multiple of the CPU budget.
WALL_FACTOR = 3.0
#: Shortest time a tesseract call is given, however little budget is left (wall seconds before the factor).
_MIN_CALL = 1.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Budget:
    """`seconds` of CPU for one extraction; `timings` collects wall seconds per stage."""

    def __init__(self, seconds: float, *, wall_factor: float = WALL_FACTOR) -> None:
        self.seconds = seconds
        self.wall_factor = wall_factor
        self.started = time.perf_counter()
        self.wall_deadline = self.started + seconds * wall_factor
        self.timings: dict[str, float] = {}
        self._thread_started = time.thread_time()
        self._tesseract_cpu = 0.0

    def cpu_used(self) -> float:
        """CPU seconds so far: this thread's work plus the tesseract processes run through `tesseract()`."""
        return time.thread_time() - self._thread_started + self._tesseract_cpu

    def remaining(self) -> float:
        """Seconds left: of the CPU budget, or of the wall-clock backstop when that is closer."""
        cpu_left = self.seconds - self.cpu_used()
        wall_left = (self.wall_deadline - time.perf_counter()) / self.wall_factor
        return min(cpu_left, wall_left)

    def call_limit(self, cap: float) -> float:
        """Wall seconds one tesseract call may run: what is left of the budget (at least a second,
        at most `cap`), stretched by the wall factor for a busy machine, never far past the backstop."""
        stretched = min(cap, max(_MIN_CALL, self.seconds - self.cpu_used())) * self.wall_factor
        return min(stretched, max(_MIN_CALL, self.wall_deadline - time.perf_counter()))

    @contextmanager
    def tesseract(self) -> Iterator[None]:
        """Count the CPU of the child processes finished inside the block (one tesseract call).

        Children of other threads that finish meanwhile are counted too; the charge is capped at the
        block's wall time, which is what a wall-clock budget would have charged.
        """
        wall, cpu = time.perf_counter(), _children_cpu()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - wall
            self._tesseract_cpu += min(max(0.0, _children_cpu() - cpu), elapsed)

    def add(self, name: str, since: float) -> float:
        """Add the wall time since `since` to stage `name`; returns now (the next stage's start)."""
        now = time.perf_counter()
        self.timings[name] = round(self.timings.get(name, 0.0) + now - since, 4)
        return now

    def total(self) -> None:
        """Record the whole extraction: wall seconds as `total`, CPU seconds as `cpu`."""
        self.timings["total"] = round(time.perf_counter() - self.started, 4)
        self.timings["cpu"] = round(self.cpu_used(), 4)
