"""Where a push's time went: waiting for the database, committing, or deciding.

A push answers with a ``Server-Timing`` header (see docs/sync.md) and feeds the
``fieldline_sync_push_seconds{part}`` histogram, so operators can tell a slow database from a
busy server. The parts are measured by :class:`~sync.push.PushService`:

- ``lock``: beginning the transaction and locking the client's row;
- ``db``: waiting for PostgreSQL (or SQLite) while the mutations were applied: reading the rows
  (their decoding included), and the writes still on their way when the decisions were done;
- ``commit``: storing the results and committing;
- ``app``: the rest of the request: decoding, checking and merging the mutations, the results.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The parts of :meth:`PushTiming.parts`, in order.
PARTS = ("lock", "db", "commit", "app")


@dataclass
class PushTiming:
    """Seconds spent on each part of one push (summed over its transactions and retries)."""

    lock: float = 0.0
    db: float = 0.0
    commit: float = 0.0

    def parts(self, total: float) -> dict[str, float]:
        """Each part in seconds; ``app`` is what ``total`` leaves (never below zero)."""
        app = max(total - self.lock - self.db - self.commit, 0.0)
        return {"lock": self.lock, "db": self.db, "commit": self.commit, "app": app}

    def header(self, total: float) -> str:
        """A ``Server-Timing`` value: each part and the total, in milliseconds."""
        parts = [*self.parts(total).items(), ("total", total)]
        return ", ".join(f"{name};dur={seconds * 1000:.1f}" for name, seconds in parts)
