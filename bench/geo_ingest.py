"""Geo benchmark, ingestion half: ``POST /v1/tracks`` through HTTP on PostgreSQL.

A real server (``fieldline serve``: uvicorn, PostgreSQL + PostGIS, a freshly migrated database)
runs in a subprocess; reps sign in and post their days in batches of 10 000 fixes. Beside it, in
the same run on the same database and the same fixes:

- the storage step alone (``parse_batch`` + ``TrackRepository.insert``, no HTTP), to show what HTTP
  costs on top;
- the baseline: a plain per-row insert (one ``INSERT … ON CONFLICT DO NOTHING`` through
  SQLAlchemy Core per fix, one transaction per batch), what a straightforward endpoint does.

Every run starts from an empty ``track_points`` table and checks that exactly the points sent are
stored. Usage: ``.venv/bin/python bench/geo_bench.py --ingest-only`` (or as part of the whole
geo bench).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.accounts.users_service import create_user  # noqa: E402
from api.db.engine import create_engine, create_session_factory, write_session  # noqa: E402
from api.db.migrate import upgrade  # noqa: E402
from api.lib.clock import rfc3339  # noqa: E402
from api.lib.ids import uuid7  # noqa: E402
from api.tenancy.models import Tenant  # noqa: E402
from geo.ingest import parse_batch  # noqa: E402
from geo.models import TrackPoint  # noqa: E402
from geo.track_repository import TrackRepository  # noqa: E402
from sync.clock_repository import ensure_clock  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proc_cpu import backend_cpu_since, backends_cpu, process_tree_cpu  # noqa: E402

PG_ADMIN_URL = os.environ.get("FIELDLINE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BATCH = 10_000
REPS = 8
BATCHES_PER_REP = 5  # 50 000 fixes per rep: 14 h at 1 Hz
PASSWORD = "bench-password-123"
TARGET_PPS = 150_000


@dataclass
class Batch:
    rep: int
    body: bytes


def make_batches(devices: list[uuid.UUID], start: datetime) -> list[Batch]:
    """Each rep's day as 1 Hz fixes with what an Android fused provider reports, interleaved
    between reps so consecutive requests come from different phones."""
    rng = np.random.default_rng(5)
    per_rep: list[list[Batch]] = []
    for rep, device in enumerate(devices):
        batches = []
        lat0, lon0 = 31.10 + 0.05 * rep, 121.30 + 0.05 * rep
        for b in range(BATCHES_PER_REP):
            i = np.arange(b * BATCH, (b + 1) * BATCH)
            lat = lat0 + np.cumsum(rng.normal(0, 2e-5, BATCH))
            lon = lon0 + np.cumsum(rng.normal(0, 2e-5, BATCH))
            acc = np.round(rng.uniform(3, 40, BATCH), 1)
            speed = np.round(rng.uniform(0, 15, BATCH), 2)
            heading = np.round(rng.uniform(0, 360, BATCH), 1)
            points = [
                {
                    "t": rfc3339(start + timedelta(seconds=int(k))),
                    "lat": round(float(la), 7),
                    "lon": round(float(lo), 7),
                    "accuracy_m": float(a),
                    "speed_mps": float(s),
                    "heading": float(h),
                    "provider": "fused",
                }
                for k, la, lo, a, s, h in zip(i, lat, lon, acc, speed, heading, strict=True)
            ]
            body = msgspec.json.encode({"device_id": str(device), "points": points})
            batches.append(Batch(rep, body))
        per_rep.append(batches)
    return [per_rep[r][b] for b in range(BATCHES_PER_REP) for r in range(len(devices))]


# --- database ------------------------------------------------------------------------------------


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_dsn(PG_ADMIN_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _db_url(name: str) -> str:
    base = _dsn(PG_ADMIN_URL).rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"


async def seed(url: str) -> tuple[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """A tenant in Shanghai and its reps; returns the tenant and (rep id, email) pairs."""
    engine = create_engine(url, null_pool=True)
    factory = create_session_factory(engine)
    reps = []
    try:
        async with write_session(factory) as s:
            tenant = Tenant(id=uuid7(), slug="bench", name="Bench", timezone="Asia/Shanghai", settings={})
            s.add(tenant)
            await s.flush()
            await ensure_clock(s, tenant.id)
            for k in range(REPS):
                email = f"rep{k}@bench.example"
                user = await create_user(
                    s, tenant_id=tenant.id, email=email, name=f"Rep {k}", role="rep", password=PASSWORD
                )
                reps.append((user.id, email))
    finally:
        await engine.dispose()
    return tenant.id, reps


async def count_points(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(_dsn(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM track_points"))
    finally:
        await conn.close()


async def server_version(url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(_dsn(url))
    try:
        pg = await conn.fetchval("SHOW server_version")
        postgis = await conn.fetchval("SELECT postgis_lib_version()")
        return f"{str(pg).split()[0]} + PostGIS {postgis}"
    finally:
        await conn.close()


async def truncate(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute("TRUNCATE track_points")
        await conn.execute("VACUUM ANALYZE track_points")
    finally:
        await conn.close()


# --- CPU accounting ------------------------------------------------------------------------------


# --- the server ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``fieldline serve`` in a subprocess."""

    def __init__(self, url: str, workers: int, var_dir: Path) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FIELDLINE_DATABASE_URL": url,
            "FIELDLINE_SECRET_KEY": "bench-secret-" + "x" * 40,
            "FIELDLINE_RUN_WORKER": "0",
            "FIELDLINE_VAR_DIR": str(var_dir),
            "FIELDLINE_LOG_LEVEL": "WARNING",
        }
        cmd = [sys.executable, "-m", "api.cli", "serve", "--no-migrate", "--port", str(self.port)]
        cmd += ["--workers", str(workers)]
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited")
            try:
                if httpx.get(self.base + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def sign_in(base: str, reps: list[tuple[uuid.UUID, str]], devices: list[uuid.UUID]) -> list[str]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        tokens = []
        for (_, email), device in zip(reps, devices, strict=True):
            r = await client.post(
                "/v1/auth/token", json={"email": email, "password": PASSWORD, "device_id": str(device)}
            )
            r.raise_for_status()
            tokens.append(r.json()["access_token"])
        return tokens


async def post_all(
    base: str, tokens: list[str], batches: list[Batch], concurrency: int
) -> tuple[float, list[float], dict[str, int]]:
    """Post every batch, ``concurrency`` requests in flight; wall time, per-request latencies and
    the summed answers."""
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    latencies: list[float] = []
    queue = list(reversed(batches))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def worker() -> None:
            while queue:
                batch = queue.pop()
                t0 = time.perf_counter()
                r = await client.post(
                    "/v1/tracks",
                    content=batch.body,
                    headers={
                        "Authorization": f"Bearer {tokens[batch.rep]}",
                        "Content-Type": "application/json",
                    },
                )
                latencies.append(time.perf_counter() - t0)
                r.raise_for_status()
                body = r.json()
                totals["accepted"] += body["accepted"]
                totals["duplicates"] += body["duplicates"]
                totals["rejected"] += len(body["rejected"])

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0, latencies, totals


# --- the in-process comparisons ------------------------------------------------------------------


async def storage_alone(url: str, tenant_id: uuid.UUID, reps: list[uuid.UUID], batches: list[Batch]) -> float:
    """``parse_batch`` + ``TrackRepository.insert`` per batch, one transaction each, no HTTP."""
    engine = create_engine(url, pool_size=2)
    factory = create_session_factory(engine)
    try:
        t0 = time.perf_counter()
        for batch in batches:
            parsed = parse_batch(batch.body, int(time.time() * 1000))
            async with write_session(factory) as s:
                await TrackRepository(s).insert(tenant_id, reps[batch.rep], parsed.device_id, parsed)
        return time.perf_counter() - t0
    finally:
        await engine.dispose()


async def baseline_per_row(
    url: str, tenant_id: uuid.UUID, reps: list[uuid.UUID], batches: list[Batch]
) -> float:
    """The plain way: decode with the standard library, one ``INSERT … ON CONFLICT DO NOTHING``
    per fix through SQLAlchemy Core, one transaction per batch."""
    import json

    from sqlalchemy.dialects.postgresql import insert

    engine = create_engine(url, pool_size=2)
    factory = create_session_factory(engine)
    stmt = insert(TrackPoint).on_conflict_do_nothing(index_elements=["device_id", "t_ms"])
    try:
        t0 = time.perf_counter()
        for batch in batches:
            data = json.loads(batch.body)
            device = uuid.UUID(data["device_id"])
            async with write_session(factory) as s:
                for p in data["points"]:
                    at = datetime.fromisoformat(p["t"].replace("Z", "+00:00"))
                    await s.execute(
                        stmt.values(
                            tenant_id=tenant_id,
                            rep_id=reps[batch.rep],
                            device_id=device,
                            t_ms=int(at.timestamp() * 1000),
                            lat=p["lat"],
                            lon=p["lon"],
                            accuracy_m=p.get("accuracy_m"),
                            speed_mps=p.get("speed_mps"),
                            heading=p.get("heading"),
                            provider=p.get("provider"),
                            is_mock=p.get("is_mock"),
                        )
                    )
        return time.perf_counter() - t0
    finally:
        await engine.dispose()


# --- the run -------------------------------------------------------------------------------------


@dataclass
class HttpRun:
    label: str
    workers: int
    concurrency: int
    seconds: float
    points: int
    p50_ms: float
    p95_ms: float
    accepted: int
    duplicates: int
    server_cpu_ms: float
    pg_cpu_ms: float
    client_cpu_ms: float

    @property
    def pps(self) -> float:
        return self.points / self.seconds

    @property
    def cpu_ms(self) -> float:
        """CPU per 10 000-point batch, every process included."""
        return self.server_cpu_ms + self.pg_cpu_ms + self.client_cpu_ms


def run(baseline_batches: int = 1) -> dict[str, Any]:
    name = f"fl_bench_ingest_{os.getpid()}"
    url = _db_url(name)
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name}"))
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    try:
        upgrade(url)
        tenant_id, reps = asyncio.run(seed(url))
        rep_ids = [r[0] for r in reps]
        devices = [uuid.uuid4() for _ in reps]
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        batches = make_batches(devices, start)
        n_points = len(batches) * BATCH
        body_mb = statistics.mean(len(b.body) for b in batches) / 1e6
        results: dict[str, Any] = {"batches": len(batches), "points": n_points, "body_mb": body_mb}
        results["pg_version"] = asyncio.run(server_version(url))

        # Baseline first, on an empty table, over the first batches.
        few = batches[:baseline_batches]
        results["baseline_s"] = asyncio.run(baseline_per_row(url, tenant_id, rep_ids, few))
        results["baseline_points"] = len(few) * BATCH
        assert asyncio.run(count_points(url)) == len(few) * BATCH
        asyncio.run(truncate(url))

        results["storage_s"] = asyncio.run(storage_alone(url, tenant_id, rep_ids, batches))
        assert asyncio.run(count_points(url)) == n_points

        runs: list[HttpRun] = []
        n_batches = len(batches)
        with tempfile.TemporaryDirectory() as var_dir:
            for workers, concurrency in ((1, 1), (1, 4), (2, 4)):
                asyncio.run(truncate(url))
                server = Server(url, workers, Path(var_dir))
                try:
                    server.wait_ready()
                    tokens = asyncio.run(sign_in(server.base, reps, devices))
                    asyncio.run(post_all(server.base, tokens, batches[:2], 2))  # warm up
                    asyncio.run(truncate(url))
                    passes = [("new fixes", n_points, 0)]
                    if (workers, concurrency) == (1, 4):
                        passes.append(("re-sent (all duplicates)", 0, n_points))
                    for label, accepted, duplicates in passes:
                        server_cpu, pg_cpu = process_tree_cpu(server.proc.pid), backends_cpu(name)
                        client_cpu = time.process_time()
                        seconds, lat, totals = asyncio.run(
                            post_all(server.base, tokens, batches, concurrency)
                        )
                        cpu = (
                            (process_tree_cpu(server.proc.pid) - server_cpu) * 1000 / n_batches,
                            backend_cpu_since(name, pg_cpu) * 1000 / n_batches,
                            (time.process_time() - client_cpu) * 1000 / n_batches,
                        )
                        expected = {"accepted": accepted, "duplicates": duplicates, "rejected": 0}
                        assert totals == expected, totals
                        assert asyncio.run(count_points(url)) == n_points
                        runs.append(
                            _http_run(label, workers, concurrency, seconds, lat, n_points, totals, cpu)
                        )
                finally:
                    server.stop()
        results["http"] = runs
        results["load"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        return results
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _http_run(
    label: str,
    workers: int,
    concurrency: int,
    seconds: float,
    lat: list[float],
    n: int,
    totals: dict[str, int],
    cpu: tuple[float, float, float],
) -> HttpRun:
    ms = sorted(x * 1000 for x in lat)
    return HttpRun(
        label=label,
        workers=workers,
        concurrency=concurrency,
        seconds=seconds,
        points=n,
        p50_ms=ms[len(ms) // 2],
        p95_ms=ms[min(len(ms) - 1, int(len(ms) * 0.95))],
        accepted=totals["accepted"],
        duplicates=totals["duplicates"],
        server_cpu_ms=cpu[0],
        pg_cpu_ms=cpu[1],
        client_cpu_ms=cpu[2],
    )


def _n(value: float) -> str:
    """Thousands with a thin space, as the rest of docs/benchmarks.md writes them."""
    return f"{value:,.0f}".replace(",", " ")


def table(r: dict[str, Any]) -> str:
    base_pps = r["baseline_points"] / r["baseline_s"]
    storage_pps = r["points"] / r["storage_s"]
    lines = [
        "| path | points | points/s | vs baseline | per 10 000-point batch |",
        "|---|---|---|---|---|",
        f"| baseline: stdlib `json` + one Core `INSERT … ON CONFLICT DO NOTHING` per fix, no HTTP "
        f"| {_n(r['baseline_points'])} | {_n(base_pps)} | 1.0x | {BATCH / base_pps * 1000:.0f} ms |",
        f"| `parse_batch` + `TrackRepository.insert` (binary COPY), no HTTP "
        f"| {_n(r['points'])} | {_n(storage_pps)} | {storage_pps / base_pps:.0f}x "
        f"| {BATCH / storage_pps * 1000:.0f} ms |",
    ]
    for h in r["http"]:
        bold = "**" if h.label == "new fixes" else ""
        lines.append(
            f"| HTTP `POST /v1/tracks`, {h.label}, {h.workers} worker(s), {h.concurrency} in flight "
            f"| {_n(h.points)} | {bold}{_n(h.pps)}{bold} | {h.pps / base_pps:.0f}x "
            f"| p50 {h.p50_ms:.0f} ms, p95 {h.p95_ms:.0f} ms |"
        )
    lines += [
        "",
        "CPU time per 10 000-point batch in the HTTP runs (from `/proc`: the server process and its "
        "workers, the database's backends, the client), and the rate two cores would sustain if CPU "
        "were the only limit (2 cores / total CPU per fix):",
        "",
        "| run | server | PostgreSQL | client | total | CPU-bound rate on 2 cores |",
        "|---|---|---|---|---|---|",
    ]
    for h in r["http"]:
        lines.append(
            f"| {h.label}, {h.workers} worker(s), {h.concurrency} in flight | {h.server_cpu_ms:.0f} ms "
            f"| {h.pg_cpu_ms:.0f} ms | {h.client_cpu_ms:.0f} ms | {h.cpu_ms:.0f} ms "
            f"| {_n(2 * BATCH / (h.cpu_ms / 1000))} fixes/s |"
        )
    new = [h for h in r["http"] if h.label == "new fixes"]
    best = max(new, key=lambda h: h.pps)
    pg_share = sum(h.pg_cpu_ms for h in new) / sum(h.cpu_ms for h in new)
    server_share = sum(h.server_cpu_ms for h in new) / sum(h.cpu_ms for h in new)
    dup = next((h for h in r["http"] if h.label != "new fixes"), None)
    setup = (dup.workers, dup.concurrency) if dup else None
    same = next((h for h in new if (h.workers, h.concurrency) == setup), None)
    verdict = "meets" if best.pps >= TARGET_PPS else "misses"
    lines += [
        "",
        f"Best measured: {_n(best.pps)} fixes/s ({best.workers} worker(s), {best.concurrency} in flight), "
        f"which {verdict} the {_n(TARGET_PPS)} fixes/s target in this run. PostgreSQL takes "
        f"{pg_share:.0%} of the CPU of storing new fixes (heap, the `(device_id, t_ms)` key, their "
        f"WAL); the server process (HTTP, decoding, checks, COPY encoding) "
        f"{server_share:.0%}.",
    ]
    if dup is not None and same is not None:
        lines[-1] += f" A re-sent batch costs the database {dup.pg_cpu_ms / same.pg_cpu_ms:.0%} of a new one."
    return "\n".join(lines)


def best_http(r: dict[str, Any]) -> float:
    return max(h.pps for h in r["http"] if h.label == "new fixes")
