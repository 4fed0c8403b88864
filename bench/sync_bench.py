"""Sync benchmark on PostgreSQL: push and pull throughput over HTTP, beside baselines.

What is measured, each in the same run:
- **push, new**: batches of 500 new visits through ``POST /v1/sync/push`` of a real server
  (``fieldline serve``, uvicorn, one worker), one client sending batches one after another (with
  ``--phones K --workers W``: K phones of the rep pushing at once, each its share of the batches,
  against W workers; pouchdb-server gets the same K clients at once);
- **push, conflicting updates**: batches of 500 updates of those visits from a second phone,
  each losing one field to a newer write (reported and logged as a conflict) and winning another;
- **pull**: a phone's bootstrap of 100 000 visits, pages of 1 000, and the server's peak RSS;
- baseline (a): the same rows written by a bare SQLAlchemy Core ``executemany`` in one
  transaction (and, for pull, read back by a bare Core keyset scan in pages of 1 000);
- baseline (b): pouchdb-server (``express-pouchdb`` + ``pouchdb-core`` + LevelDB, installed by
  this script into a temporary folder) taking the same documents through ``_bulk_docs`` (500 per
  request; updates carry the current ``_rev``) and ``_all_docs?include_docs=true`` (pages of 1 000).

Clients encode and decode with msgspec for both servers; each client's requests run one after
another. Usage::

    .venv/bin/python bench/sync_bench.py            # print the table
    .venv/bin/python bench/sync_bench.py --write    # and replace "## Sync" in docs/benchmarks.md
    .venv/bin/python bench/sync_bench.py --no-pouch # skip the npm install and pouchdb-server
    .venv/bin/python bench/sync_bench.py --phones 4 --workers 2 --entities 20000  # pushes at once
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, update  # noqa: E402

from api.accounts.users_service import create_user  # noqa: E402
from api.db.engine import create_engine, create_session_factory, write_session  # noqa: E402
from api.db.migrate import upgrade  # noqa: E402
from api.lib.ids import uuid7  # noqa: E402
from api.tenancy.models import Tenant  # noqa: E402
from api.visits.models import Visit  # noqa: E402
from sync.clock_repository import allocate_versions, ensure_clock  # noqa: E402
from sync.entities import Actor  # noqa: E402
from sync.hlc import HybridClock  # noqa: E402
from sync.policy import Incoming  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proc_cpu import backend_cpu_since, backends_cpu, children, process_tree_cpu  # noqa: E402

from sync.writer import SyncWriter  # noqa: E402

PG_URL = os.environ.get("FIELDLINE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-1"
BATCH = 500
PAGE = 1000
PUSH_TARGET = 5000.0
PULL_TARGET = 50000.0
NPM_PACKAGES = [
    "express@4",
    "express-pouchdb@4",
    "pouchdb-core@9",
    "pouchdb-adapter-leveldb@9",
    "pouchdb-adapter-http@9",
    "pouchdb-mapreduce@9",
    "pouchdb-replication@9",
]
POUCH_SERVER_JS = """
const express = require('express');
const PouchDB = require('pouchdb-core')
  .plugin(require('pouchdb-adapter-leveldb'))
  .plugin(require('pouchdb-adapter-http'))
  .plugin(require('pouchdb-mapreduce'))
  .plugin(require('pouchdb-replication'));
const dir = process.argv[3];
const P = PouchDB.defaults({prefix: dir + '/'});
const app = express();
app.use('/', require('express-pouchdb')(P, {
  mode: 'minimumForPouchDB', inMemoryConfig: true, logPath: dir + '/log.txt'}));
app.listen(+process.argv[2], '127.0.0.1', () => console.log('ready'));
"""

encode = msgspec.json.encode
decode = msgspec.json.decode


# --- plumbing ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _async_url(url: str, dbname: str) -> str:
    base = url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{dbname}"


async def _admin_sql(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _rss_kib(pid: int, key: str) -> int:
    """``key`` (``VmRSS`` or ``VmHWM``) of ``pid`` and its direct children (uvicorn's workers)."""
    total = 0
    for one in (pid, *children(pid)):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
    return total


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer at {url}")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_fieldline(db_url: str, var_dir: Path, workers: int = 1) -> Server:
    port = _free_port()
    env = {
        **os.environ,
        "FIELDLINE_DATABASE_URL": db_url,
        "FIELDLINE_SECRET_KEY": "bench-" + "s" * 48,
        "FIELDLINE_VAR_DIR": str(var_dir),
        "FIELDLINE_RUN_WORKER": "0",
        "FIELDLINE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    log = var_dir / "fieldline.log"
    cmd = [sys.executable, "-m", "api.cli", "serve", "--no-migrate", "--workers", str(workers)]
    cmd += ["--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    _wait_http(f"{base}/health", proc, log)
    return Server(proc, base)


# --- data ----------------------------------------------------------------------------------------


@dataclass
class World:
    tenant: uuid.UUID
    rep: uuid.UUID
    customers: list[uuid.UUID] = field(default_factory=list)


async def seed(db_url: str) -> World:
    engine = create_engine(db_url, null_pool=True)
    sessions = create_session_factory(engine)
    try:
        async with write_session(sessions) as s:
            tenant = Tenant(id=uuid7(), slug="bench", name="Bench", timezone="UTC", settings={})
            s.add(tenant)
            await s.flush()
            await ensure_clock(s, tenant.id)
            rep = await create_user(
                s, tenant_id=tenant.id, email="rep@bench.test", name="Rep", role="rep", password=PASSWORD
            )
            world = World(tenant.id, rep.id)
            writer = SyncWriter(s, tenant.id, Actor(user_id=None, role="system"))
            clock = HybridClock()
            muts = []
            for i in range(20):
                cid = uuid7()
                world.customers.append(cid)
                fields = {
                    "name": f"Shop {i}",
                    "lat": 31.2 + i / 1000,
                    "lon": 121.4,
                    "assigned_rep_id": str(rep.id),
                }
                muts.append(Incoming("customer", cid, "upsert", clock.now(), None, fields))
            await writer.apply(muts)
        return world
    finally:
        await engine.dispose()


def visit_fields(world: World, i: int) -> dict[str, Any]:
    planned = datetime.now(UTC) - timedelta(days=i % 60)
    return {
        "customer_id": str(world.customers[i % len(world.customers)]),
        "planned_at": planned.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "notes": f"Visit {i}: met the buyer, shelf at 80%",
        "outcome": "ordered" if i % 3 == 0 else None,
        "next_steps": "call back next week",
    }


def stamp(ms: int, counter: int, node: str) -> str:
    return f"{ms:016d}-{counter % 10000:04d}-{node}"


# --- Fieldline over HTTP -------------------------------------------------------------------------


def login(base: str, device: uuid.UUID) -> dict[str, str]:
    r = httpx.post(
        f"{base}/v1/auth/token",
        json={"email": "rep@bench.test", "password": PASSWORD, "device_id": str(device)},
        timeout=30,
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}", "Content-Type": "application/json"}


@dataclass
class Timed:
    count: int
    seconds: float
    note: str = ""
    #: CPU seconds spent during the run: ``{"app": server or client process, "db": PostgreSQL}``.
    cpu: dict[str, float] = field(default_factory=dict)
    #: The server's ``Server-Timing`` of each request (milliseconds by part), when it sends one.
    timings: list[dict[str, float]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def cpu_us(self, part: str) -> float:
        return self.cpu.get(part, 0.0) * 1e6 / self.count if self.count else 0.0


# --- CPU time: what the run cost, whatever else shares the machine ------------------------------


class CpuMeter:
    """CPU seconds of one process (``pid`` with its workers, or this one) and of PostgreSQL's
    backends for ``dbname``.

    Both are read from ``/proc`` (PostgreSQL runs on this machine), so the figures do not depend
    on how busy the machine is, unlike wall time.
    """

    def __init__(self, pid: int | None, dbname: str | None) -> None:
        self.pid = pid
        self.dbname = dbname

    def _app(self) -> float:
        return process_tree_cpu(self.pid) if self.pid is not None else time.process_time()

    def snapshot(self) -> tuple[float, dict[int, float]]:
        backends = backends_cpu(self.dbname) if self.dbname else {}
        return self._app(), backends

    def since(self, before: tuple[float, dict[int, float]]) -> dict[str, float]:
        out = {"app": self._app() - before[0]}
        if self.dbname:
            out["db"] = backend_cpu_since(self.dbname, before[1])
        return out


def run_at_once(jobs: list[Callable[[], None]]) -> None:
    """Run ``jobs`` (one per phone) at the same time; one runs in this thread."""
    if len(jobs) == 1:
        jobs[0]()
        return
    with ThreadPoolExecutor(len(jobs)) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def push_batches(
    base: str,
    streams: list[list[list[dict[str, Any]]]],
    check: Callable[[dict[str, Any]], None],
    meter: CpuMeter,
) -> Timed:
    """Each stream's batches from its own phone, the phones pushing at once."""
    phones = []
    timings: list[dict[str, float]] = []
    for _ in streams:
        device = uuid.uuid4()
        client = httpx.Client(base_url=base, headers=login(base, device), timeout=300)
        client.get("/v1/sync/info").raise_for_status()  # the connection is open before the clock starts
        phones.append((client, device))

    def pusher(
        client: httpx.Client, device: uuid.UUID, batches: list[list[dict[str, Any]]]
    ) -> Callable[[], None]:
        def push() -> None:
            seq = 0
            for batch in batches:
                for m in batch:
                    seq += 1
                    m["seq"] = seq
                body = encode({"schema_version": 1, "client_id": str(device), "mutations": batch})
                r = client.post("/v1/sync/push", content=body)
                r.raise_for_status()
                timings.append(server_timing(r.headers["server-timing"]))
                for res in decode(r.content)["results"]:
                    check(res)

        return push

    jobs = [
        pusher(client, device, batches) for (client, device), batches in zip(phones, streams, strict=True)
    ]
    try:
        cpu = meter.snapshot()
        t0 = time.perf_counter()
        run_at_once(jobs)
        elapsed = time.perf_counter() - t0
        used = meter.since(cpu)
    finally:
        for client, _ in phones:
            client.close()
    return Timed(sum(len(b) for batches in streams for b in batches), elapsed, cpu=used, timings=timings)


def server_timing(header: str) -> dict[str, float]:
    """``lock;dur=0.3, db;dur=4.1, …`` as ``{"lock": 0.3, "db": 4.1, …}`` (milliseconds)."""
    out = {}
    for entry in header.split(","):
        name, _, dur = entry.strip().partition(";dur=")
        out[name] = float(dur)
    return out


def shares(batches: list[Any], phones: int) -> list[list[Any]]:
    """The batches dealt out to ``phones`` phones in turn."""
    return [batches[k::phones] for k in range(phones)]


def bench_push(
    base: str, world: World, n_batches: int, meter: CpuMeter, phones: int = 1
) -> tuple[Timed, Timed, list[str]]:
    ids = [str(uuid.uuid4()) for _ in range(n_batches * BATCH)]
    now = int(time.time() * 1000)
    new = [
        [
            {
                "entity": "visit",
                "id": ids[b * BATCH + j],
                "op": "upsert",
                "hlc": stamp(now, b * BATCH + j, "phoneA"),
                "fields": visit_fields(world, b * BATCH + j),
            }
            for j in range(BATCH)
        ]
        for b in range(n_batches)
    ]

    def applied(res: dict[str, Any]) -> None:
        assert res["status"] == "applied", res

    created = push_batches(base, shares(new, phones), applied, meter)
    # A second phone edited the same visits offline, without having seen them (base_version 0): half
    # of its edits are stamped before the first phone's (both fields lose: kept_server), half after
    # (both win, replacing values it had not seen: overwrote). Either way each result has conflicts,
    # and each conflict is written to the conflict log.
    earlier, later = now - 60_000, now + 1_000
    updates = [
        [
            {
                "entity": "visit",
                "id": ids[b * BATCH + j],
                "op": "upsert",
                "hlc": stamp(later if j % 2 else earlier, b * BATCH + j, "phoneB"),
                "base_version": 0,
                "fields": {"notes": "stale notes", "outcome": f"reordered {b}-{j}"},
            }
            for j in range(BATCH)
        ]
        for b in range(n_batches)
    ]

    def merged(res: dict[str, Any]) -> None:
        assert res["status"] in {"merged", "applied"}, res
        assert res.get("conflicts"), res

    conflicting = push_batches(base, shares(updates, phones), merged, meter)
    return created, conflicting, ids


def bench_pull(base: str, expect: int, meter: CpuMeter) -> tuple[Timed, int]:
    headers = login(base, uuid.uuid4())
    cursor: str | None = None
    seen = 0
    pages = 0
    with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        client.get("/v1/sync/info").raise_for_status()
        cpu = meter.snapshot()
        t0 = time.perf_counter()
        while True:
            params: dict[str, Any] = {"limit": PAGE}
            if cursor:
                params["cursor"] = cursor
            r = client.get("/v1/sync/pull", params=params)
            r.raise_for_status()
            page = decode(r.content)
            seen += sum(1 for c in page["changes"] if c["entity"] == "visit")
            pages += 1
            cursor = page["cursor"]
            if not page["has_more"]:
                break
        elapsed = time.perf_counter() - t0
        used = meter.since(cpu)
    assert seen == expect, (seen, expect)
    return Timed(seen, elapsed, cpu=used), pages


async def bulk_visits(db_url: str, world: World, n: int, first: int = 0) -> None:
    """Load ``n`` visits directly (for the pull bench), numbered like the writer would."""
    engine = create_engine(db_url, null_pool=True)
    sessions = create_session_factory(engine)
    now = datetime.now(UTC)
    try:
        async with write_session(sessions) as s:
            version = await allocate_versions(s, world.tenant, n)
            rows = []
            for i in range(n):
                f = visit_fields(world, first + i)
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": world.tenant,
                        "version": version + i,
                        "field_meta": {},
                        "scope_rep_id": world.rep,
                        "customer_id": uuid.UUID(f["customer_id"]),
                        "rep_id": world.rep,
                        "status": "planned",
                        "planned_at": now - timedelta(days=i % 60),
                        "notes": f["notes"],
                        "outcome": f["outcome"],
                        "next_steps": f["next_steps"],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for start in range(0, n, 10_000):
                await s.execute(insert(Visit.__table__), rows[start : start + 10_000])
    finally:
        await engine.dispose()


# --- baseline (a): bare SQLAlchemy Core ----------------------------------------------------------


async def core_baseline(db_url: str, world: World, n: int, meter: CpuMeter) -> tuple[Timed, Timed]:
    engine = create_engine(db_url, null_pool=True)
    table: Any = Visit.__table__
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        f = visit_fields(world, i)
        rows.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": world.tenant,
                "version": 10_000_000 + i,
                "field_meta": {},
                "scope_rep_id": world.rep,
                "customer_id": uuid.UUID(f["customer_id"]),
                "rep_id": world.rep,
                "status": "planned",
                "planned_at": now,
                "notes": f["notes"],
                "outcome": f["outcome"],
                "next_steps": f["next_steps"],
                "created_at": now,
                "updated_at": now,
            }
        )
    from sqlalchemy import bindparam

    try:
        async with engine.begin() as conn:
            await conn.execute(select(1))
            cpu = await asyncio.to_thread(meter.snapshot)
            t0 = time.perf_counter()
            await conn.execute(insert(table), rows)
            inserted = Timed(n, time.perf_counter() - t0)
            inserted.cpu = await asyncio.to_thread(meter.since, cpu)
            params = [{"_id": r["id"], "_notes": "stale notes", "_outcome": "reordered"} for r in rows]
            cpu = await asyncio.to_thread(meter.snapshot)
            t0 = time.perf_counter()
            await conn.execute(
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values(notes=bindparam("_notes"), outcome=bindparam("_outcome")),
                params,
            )
            updated = Timed(n, time.perf_counter() - t0)
            updated.cpu = await asyncio.to_thread(meter.since, cpu)
            await conn.execute(table.delete().where(table.c.version >= 10_000_000))
    finally:
        await engine.dispose()
    return inserted, updated


async def core_read_baseline(db_url: str, world: World, expect: int, meter: CpuMeter) -> Timed:
    engine = create_engine(db_url, null_pool=True)
    table: Any = Visit.__table__
    cols = [c for c in table.c if c.name not in {"field_meta"}]
    seen = 0
    try:
        async with engine.connect() as conn:
            await conn.execute(select(1))
            cpu = await asyncio.to_thread(meter.snapshot)
            t0 = time.perf_counter()
            after = 0
            while True:
                rows = (
                    await conn.execute(
                        select(*cols)
                        .where(table.c.tenant_id == world.tenant, table.c.version > after)
                        .order_by(table.c.version)
                        .limit(PAGE)
                    )
                ).all()
                if not rows:
                    break
                seen += len(rows)
                after = rows[-1].version
            elapsed = time.perf_counter() - t0
            used = await asyncio.to_thread(meter.since, cpu)
    finally:
        await engine.dispose()
    assert seen >= expect, (seen, expect)
    return Timed(seen, elapsed, cpu=used)


# --- baseline (b): pouchdb-server ----------------------------------------------------------------


def start_pouch(workdir: Path) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "package.json").write_text('{"name": "fieldline-sync-bench", "private": true}')
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *NPM_PACKAGES],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (workdir / "server.js").write_text(POUCH_SERVER_JS)
    data = workdir / "data"
    data.mkdir()
    port = _free_port()
    log = workdir / "pouch.log"
    proc = subprocess.Popen(
        ["node", "server.js", str(port), str(data)],
        cwd=workdir,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_http(f"{base}/", proc, log)
    return Server(proc, base)


def pouch_doc(world: World, ident: str, i: int) -> dict[str, Any]:
    f = visit_fields(world, i)
    return {"_id": ident, "type": "visit", "rep_id": str(world.rep), "status": "planned", **f}


def bench_pouch(server: Server, world: World, ids: list[str], n_pull: int, phones: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {}
    json_headers = {"Content-Type": "application/json"}
    with httpx.Client(base_url=server.base, timeout=300, headers=json_headers) as c:
        c.put("/bench").raise_for_status()
        meter = CpuMeter(server.proc.pid, None)
        batches = list(enumerate(ids[i : i + BATCH] for i in range(0, len(ids), BATCH)))
        revs: dict[str, str] = {}

        def bulk(numbered: list[tuple[int, list[str]]], update: bool) -> Callable[[], None]:
            def send() -> None:
                with httpx.Client(base_url=server.base, timeout=300, headers=json_headers) as client:
                    for b, batch in numbered:
                        docs = []
                        for j, ident in enumerate(batch):
                            doc = pouch_doc(world, ident, b * BATCH + j)
                            if update:
                                doc.update(
                                    _rev=revs[ident], notes="stale notes", outcome=f"reordered {b}-{j}"
                                )
                            docs.append(doc)
                        r = client.post("/bench/_bulk_docs", content=encode({"docs": docs}))
                        r.raise_for_status()
                        for res in decode(r.content):
                            assert res.get("ok"), res
                            revs[res["id"]] = res["rev"]

            return send

        for key, update in (("push_new", False), ("push_update", True)):
            jobs = [bulk(share, update) for share in shares(batches, phones)]
            cpu = meter.snapshot()
            t0 = time.perf_counter()
            run_at_once(jobs)
            out[key] = Timed(len(ids), time.perf_counter() - t0, cpu=meter.since(cpu))
        # The pull dataset: top up to n_pull documents, then page through _all_docs.
        extra = n_pull - len(ids)
        for start in range(0, extra, 5000):
            docs = [pouch_doc(world, f"x{start + k:08d}", start + k) for k in range(min(5000, extra - start))]
            c.post("/bench/_bulk_docs", content=encode({"docs": docs})).raise_for_status()
        rss_idle = _rss_kib(server.proc.pid, "VmRSS")
        seen = 0
        pages = 0
        cpu = meter.snapshot()
        t0 = time.perf_counter()
        startkey: str | None = None
        while True:
            params: dict[str, Any] = {"include_docs": "true", "limit": PAGE}
            if startkey is not None:
                params.update(startkey=encode(startkey).decode(), skip=1)
            r = c.get("/bench/_all_docs", params=params)
            r.raise_for_status()
            rows = decode(r.content)["rows"]
            pages += 1
            if not rows:
                break
            seen += len(rows)
            startkey = rows[-1]["id"]
            if len(rows) < PAGE:
                break
        out["pull"] = Timed(seen, time.perf_counter() - t0, cpu=meter.since(cpu))
        out["pull_pages"] = pages
        out["rss_idle"] = rss_idle
        out["rss_peak"] = _rss_kib(server.proc.pid, "VmHWM")
    return out


# --- report --------------------------------------------------------------------------------------


def fmt_rate(t: Timed) -> str:
    return f"{t.rate:,.0f}/s ({t.count:,} in {t.seconds:.2f} s)"


def report(r: dict[str, Any]) -> str:
    lines = []
    pouch = r.get("pouch")
    lines.append(
        "| what | Fieldline (HTTP, merge included) | baseline (a): bare Core, one transaction | "
        "baseline (b): pouchdb-server | target |"
    )
    lines.append("|---|---|---|---|---|")
    lines.append(
        f"| push, new visits (batches of {BATCH}) | **{fmt_rate(r['push_new'])}** | "
        f"{fmt_rate(r['core_insert'])} `executemany` INSERT | "
        f"{fmt_rate(pouch['push_new']) if pouch else 'not run'} `_bulk_docs` | >= peer, >= 5,000/s |"
    )
    lines.append(
        f"| push, conflicting updates (batches of {BATCH}) | **{fmt_rate(r['push_conflict'])}** | "
        f"{fmt_rate(r['core_update'])} `executemany` UPDATE | "
        f"{fmt_rate(pouch['push_update']) if pouch else 'not run'} `_bulk_docs` with `_rev` | "
        ">= peer, >= 5,000/s |"
    )
    lines.append(
        f"| pull, bootstrap of {r['pull'].count:,} visits (pages of {PAGE}) | **{fmt_rate(r['pull'])}**, "
        f"{r['pull_pages']} pages | {fmt_rate(r['core_read'])} keyset SELECT | "
        f"{fmt_rate(pouch['pull']) if pouch else 'not run'} `_all_docs?include_docs=true` | >= 50,000/s |"
    )
    lines.append(
        f"| server memory during the bootstrap | **{r['rss_idle'] / 1024:.0f} MiB idle, peak "
        f"{r['rss_peak'] / 1024:.0f} MiB** | - | "
        + (
            f"{pouch['rss_idle'] / 1024:.0f} MiB before, peak {pouch['rss_peak'] / 1024:.0f} MiB"
            if pouch
            else "not run"
        )
        + " | bounded |"
    )
    lines += ["", cpu_report(r), "", timing_report(r)]
    return "\n".join(lines)


def timing_report(r: dict[str, Any]) -> str:
    """Where the server's time went in a push of one batch (its ``Server-Timing``), median of the run."""
    lines = [
        f"Where a push of {BATCH} went, from the server's `Server-Timing` (median over the run's "
        "batches, milliseconds; `db` is the time the server waited for PostgreSQL while applying, "
        "`app` its own work: checking, merging, results; the request's HTTP and JSON decoding are "
        "outside `total`, the client's time too):",
        "",
        "| push | lock | db | commit | app | total | the run's wall time per batch |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, key in (("new visits", "push_new"), ("conflicting updates", "push_conflict")):
        t: Timed = r[key]
        if not t.timings:
            continue
        parts = ("lock", "db", "commit", "app", "total")
        cells = " | ".join(f"{statistics.median(x[p] for x in t.timings):.1f}" for p in parts)
        per_batch = t.seconds / len(t.timings) * 1000
        lines.append(f"| {label} | {cells} | {per_batch:.1f} |")
    return "\n".join(lines)


def cpu_report(r: dict[str, Any]) -> str:
    """CPU time per item, read from /proc: unlike wall time, it does not depend on the load."""
    pouch = r.get("pouch") or {}

    def both(t: Timed) -> str:
        return f"{t.cpu_us('app'):.0f} + {t.cpu_us('db'):.0f} = {t.cpu_us('app') + t.cpu_us('db'):.0f}"

    def node(key: str) -> str:
        return f"{pouch[key].cpu_us('app'):.0f}" if key in pouch else "not run"

    rows = [
        ("push, new visits", "push_new", "core_insert", "push_new"),
        ("push, conflicting updates", "push_conflict", "core_update", "push_update"),
        ("pull, bootstrap", "pull", "core_read", "pull"),
    ]
    lines = [
        "CPU time per mutation or entity, in microseconds, read from `/proc` (so it depends little "
        "on the load): the server process + the PostgreSQL backends of the bench database; for bare "
        "Core the bench's own process + its backend; for pouchdb-server its Node process:",
        "",
        "| what | Fieldline server + PostgreSQL | bare Core (client process + PostgreSQL) | "
        "pouchdb-server (Node, LevelDB in process) |",
        "|---|---|---|---|",
    ]
    for label, ours, core, peer in rows:
        lines.append(f"| {label} | **{both(r[ours])}** | {both(r[core])} | {node(peer)} |")
    return "\n".join(lines)


def machine() -> str:
    load = os.getloadavg()
    node = (
        subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        if shutil.which("node")
        else "-"
    )
    pg = r_pg_version()
    return (
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"PostgreSQL {pg}, Node {node}; "
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}. "
        f"Measured {datetime.now(UTC):%Y-%m-%d}."
    )


def r_pg_version() -> str:
    async def go() -> str:
        import asyncpg

        conn = await asyncpg.connect(PG_URL)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    return asyncio.run(go())


def write_section(body: str, path: Path) -> None:
    from docs_section import replace_section

    replace_section("## Sync", "## Sync\n\n" + body, path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=20, help="push batches of 500 (default 20)")
    parser.add_argument("--entities", type=int, default=100_000, help="visits in the bootstrap")
    parser.add_argument("--phones", type=int, default=1, help="phones pushing at once (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="Fieldline worker processes (default 1)")
    parser.add_argument("--no-pouch", action="store_true", help="skip pouchdb-server")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--write", action="store_true", help="replace the Sync section of docs/benchmarks.md")
    args = parser.parse_args()

    dbname = f"fl_sync_bench_{os.getpid()}"
    asyncio.run(_admin_sql(f"CREATE DATABASE {dbname}"))
    db_url = _async_url(PG_URL, dbname)
    results: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp(prefix="fl-sync-bench-"))
    try:
        upgrade(db_url)
        world = asyncio.run(seed(db_url))
        server = start_fieldline(db_url, tmp, args.workers)
        try:
            meter = CpuMeter(server.proc.pid, dbname)
            results["push_new"], results["push_conflict"], ids = bench_push(
                server.base, world, args.batches, meter, args.phones
            )
        finally:
            server.stop()
        results["core_insert"], results["core_update"] = asyncio.run(
            core_baseline(db_url, world, len(ids), CpuMeter(None, dbname))
        )
        asyncio.run(bulk_visits(db_url, world, args.entities - len(ids), first=len(ids)))
        server = start_fieldline(db_url, tmp, args.workers)
        try:
            results["rss_idle"] = _rss_kib(server.proc.pid, "VmRSS")
            results["pull"], results["pull_pages"] = bench_pull(
                server.base, args.entities, CpuMeter(server.proc.pid, dbname)
            )
            results["rss_peak"] = _rss_kib(server.proc.pid, "VmHWM")
        finally:
            server.stop()
        results["core_read"] = asyncio.run(
            core_read_baseline(db_url, world, args.entities, CpuMeter(None, dbname))
        )
        if not args.no_pouch:
            pouch = start_pouch(tmp / "pouch")
            try:
                results["pouch"] = bench_pouch(pouch, world, ids, args.entities, args.phones)
            finally:
                pouch.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep:
            asyncio.run(_admin_sql(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"))
    table = report(results)
    print(table)
    print(machine())
    if args.write:
        if (args.phones, args.workers) != (1, 1):
            parser.error("--write records the default run (one phone, one worker)")
        write_section(
            INTRO + "\n" + table + "\n\n" + machine() + "\n" + NOTES, ROOT / "docs" / "benchmarks.md"
        )
        print("wrote docs/benchmarks.md (## Sync)")


INTRO = """Measured with `.venv/bin/python bench/sync_bench.py --write` on PostgreSQL 15 (one Fieldline
worker, one client sending requests one after another; the pouchdb-server baseline is installed
by the script into a temporary folder). Figures are wall time seen by the client, so HTTP, JSON,
authentication, the merge and the commit are all included.
"""
NOTES = ""


if __name__ == "__main__":
    main()
