"""CPU seconds of local processes read from ``/proc``: a server's process tree and the PostgreSQL
backends of one database. Unlike wall time, CPU per request depends little on what else shares
the machine, so the benches report it beside their wall-clock figures."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICK if fields else 0.0


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def children(root: int) -> list[int]:
    """The direct children of ``root`` (uvicorn's workers)."""
    return [pid for pid in _pids() if (f := _stat(pid)) and int(f[1]) == root]


def process_tree_cpu(root: int) -> float:
    """CPU seconds used so far by ``root`` and its direct children (uvicorn workers)."""
    return cpu_s(root) + sum(cpu_s(c) for c in children(root))


def backends_cpu(dbname: str) -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL backend connected to ``dbname``, by pid."""
    out = {}
    for pid in _pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {dbname} " in title:
            out[pid] = cpu_s(pid)
    return out


def backend_cpu_since(dbname: str, before: dict[int, float]) -> float:
    """CPU seconds the backends of ``dbname`` used since ``before`` (new backends count whole)."""
    now = backends_cpu(dbname)
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


class BackendMeter:
    """CPU seconds used by the backends of one database over an interval, counting backends that
    exit before it ends (a connection pool replaces its connections): sampled every ``every``
    seconds in a thread, each backend counted from its first sample (from zero when it started
    inside the interval) to its last."""

    def __init__(self, dbname: str, every: float = 0.25) -> None:
        import threading

        self.dbname = dbname
        self.every = every
        self._start = backends_cpu(dbname)
        self._last = dict(self._start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        self._last.update(backends_cpu(self.dbname))

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(cpu - self._start.get(pid, 0.0) for pid, cpu in self._last.items())
