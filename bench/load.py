"""Load test: many simulated phones mixing sync push/pull, GPS track uploads and online check-ins.

    python bench/load.py                       # starts PostgreSQL-backed servers itself (2 API processes)
    python bench/load.py --devices 500 --duration 300
    python bench/load.py --base-url http://lb:8000 --admin admin@demo.test --password ...

Each device belongs to a rep (created for the run, ``--devices-per-rep`` devices each) and loops
with exponential think time: push a batch of offline mutations (new prospects, visits, visit
actions, edits), pull, upload a slice of its GPS track, or check in online. Network errors, 5xx and
429 are retried with backoff like the SDK does; every other non-2xx counts as an error.

Afterwards every device pulls to the end and the run checks convergence: every entity a rep's
devices created is in each of that rep's replicas and on the server exactly once, and every track
point was accepted or reported duplicate. Prints throughput and p50/p95/p99 per endpoint; exits 1 on
any error, divergence or loss.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# The bench's own helpers, also when this file is loaded as a module from the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from proc_cpu import BackendMeter, process_tree_cpu

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "load-test-password"
SHANGHAI = (31.2304, 121.4737)


# ----------------------------------------------------------------------------------------- metrics
@dataclass
class Metrics:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    retries: int = 0
    samples: list[str] = field(default_factory=list)

    def record(self, name: str, seconds: float) -> None:
        self.latency[name].append(seconds)

    def error(self, name: str, detail: str) -> None:
        self.errors[name] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{name}: {detail[:300]}")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


# ------------------------------------------------------------------------------------------ device
class Device:
    def __init__(
        self, http: httpx.AsyncClient, rep: dict[str, Any], metrics: Metrics, rng: random.Random
    ) -> None:
        self.http = http
        self.rep = rep
        self.metrics = metrics
        self.rng = rng
        self.device_id = uuid.uuid4()
        self.headers: dict[str, str] = {}
        self.seq = 0
        self.counter = 0
        self.cursor: str | None = None
        self.replica: dict[tuple[str, str], dict[str, Any]] = {}
        self.created: dict[str, set[str]] = defaultdict(set)
        self.my_visits: list[str] = []
        self.pushed_visits: list[str] = []
        self.customers: list[str] = []
        self.track_t = int(time.time() * 1000) - 6 * 3600 * 1000
        self.points_sent = 0
        self.points_seen = 0
        self.pos = (SHANGHAI[0] + rng.uniform(-0.1, 0.1), SHANGHAI[1] + rng.uniform(-0.1, 0.1))

    def hlc(self) -> str:
        self.counter = (self.counter + 1) % 10000
        return f"{int(time.time() * 1000):016d}-{self.counter:04d}-{self.device_id.hex[:8]}"

    async def call(self, name: str, method: str, url: str, **kw: Any) -> httpx.Response | None:
        for attempt in range(8):
            started = time.perf_counter()
            try:
                r = await self.http.request(method, url, headers=self.headers, **kw)
            except httpx.TransportError as exc:
                self.metrics.retries += 1
                if attempt == 7:
                    self.metrics.error(name, f"transport: {exc!r}")
                    return None
                await asyncio.sleep(min(8.0, 0.2 * 2**attempt) * self.rng.random())
                continue
            self.metrics.record(name, time.perf_counter() - started)
            if r.status_code in (429, 502, 503, 504) or r.status_code >= 500:
                self.metrics.retries += 1
                retry_after = float(r.headers.get("retry-after", "0") or 0)
                await asyncio.sleep(max(retry_after, min(8.0, 0.2 * 2**attempt) * self.rng.random()))
                continue
            if r.status_code >= 400:
                self.metrics.error(name, f"{r.status_code} {r.text}")
                return None
            return r
        self.metrics.error(name, "gave up after retries")
        return None

    async def login(self) -> None:
        r = await self.call(
            "auth.token",
            "POST",
            "/v1/auth/token",
            json={
                "email": self.rep["email"],
                "password": self.rep.get("password", PASSWORD),
                "device_id": str(self.device_id),
            },
        )
        assert r is not None, "login failed"
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    # -- actions -------------------------------------------------------------------------------
    def _mutation(self, entity: str, ident: str, fields: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return {
            "seq": self.seq,
            "entity": entity,
            "id": ident,
            "op": "upsert",
            "hlc": self.hlc(),
            "fields": fields,
        }

    def offline_batch(self) -> list[dict[str, Any]]:
        muts: list[dict[str, Any]] = []
        if not self.customers or self.rng.random() < 0.1:
            cid = str(uuid.uuid4())
            lat, lon = self.pos
            muts.append(
                self._mutation(
                    "customer",
                    cid,
                    {"name": f"Prospect {cid[:6]}", "lat": lat, "lon": lon, "is_prospect": True},
                )
            )
            self.customers.append(cid)
            self.created["customer"].add(cid)
        for _ in range(self.rng.randint(1, 8)):
            roll = self.rng.random()
            if roll < 0.4 or not self.my_visits:
                vid = str(uuid.uuid4())
                muts.append(
                    self._mutation(
                        "visit", vid, {"customer_id": self.rng.choice(self.customers), "status": "planned"}
                    )
                )
                self.my_visits.append(vid)
                self.created["visit"].add(vid)
            elif roll < 0.75:
                aid = str(uuid.uuid4())
                muts.append(
                    self._mutation(
                        "visit_action",
                        aid,
                        {
                            "visit_id": self.rng.choice(self.my_visits),
                            "kind": "competitor_report",
                            "payload": {"competitor": "Acme", "promotion": f"{self.rng.randint(5, 30)}% off"},
                        },
                    )
                )
                self.created["visit_action"].add(aid)
            else:
                muts.append(
                    self._mutation(
                        "visit", self.rng.choice(self.my_visits), {"notes": f"note {self.rng.random():.6f}"}
                    )
                )
        return muts

    async def push(self) -> None:
        batch = self.offline_batch()
        body = {"schema_version": 1, "client_id": str(self.device_id), "mutations": batch}
        r = await self.call("sync.push", "POST", "/v1/sync/push", json=body)
        if r is None:
            return
        results = r.json()["results"]
        bad = [x for x in results if x.get("status") not in ("applied", "merged", "duplicate")]
        if bad:
            self.metrics.error("sync.push", f"mutation results {bad[:2]}")
        pushed = {m["id"] for m in batch if m["entity"] == "visit"}
        self.pushed_visits.extend(v for v in self.my_visits if v in pushed and v not in self.pushed_visits)

    async def pull(self) -> None:
        while True:
            params: dict[str, Any] = {"limit": 500}
            if self.cursor:
                params["cursor"] = self.cursor
            r = await self.call("sync.pull", "GET", "/v1/sync/pull", params=params)
            if r is None:
                return
            page = r.json()
            for ch in page["changes"]:
                key = (ch["entity"], ch["id"])
                if ch["op"] == "upsert":
                    self.replica[key] = ch["data"]
                else:
                    self.replica.pop(key, None)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return

    async def track(self) -> None:
        points = []
        for _ in range(60):
            self.track_t += 5000
            self.pos = (self.pos[0] + self.rng.gauss(0, 0.0001), self.pos[1] + self.rng.gauss(0, 0.0001))
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.track_t / 1000))
            points.append(
                {
                    "t": f"{stamp}.{self.track_t % 1000:03d}Z",
                    "lat": self.pos[0],
                    "lon": self.pos[1],
                    "accuracy_m": 8.0,
                }
            )
        r = await self.call(
            "tracks", "POST", "/v1/tracks", json={"device_id": str(self.device_id), "points": points}
        )
        if r is None:
            return
        body = r.json()
        self.points_sent += len(points)
        self.points_seen += body["accepted"] + body["duplicates"]
        if body.get("rejected"):
            self.metrics.error("tracks", f"rejected {body['rejected'][:2]}")

    async def check_in(self) -> None:
        if not self.pushed_visits:
            await self.push()
            return
        vid = self.rng.choice(self.pushed_visits)
        lat, lon = self.pos
        fix = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "lat": lat,
            "lon": lon,
            "accuracy_m": 12.0,
            "provider": "gps",
            "is_mock": False,
        }
        await self.call("visits.check_in", "POST", f"/v1/visits/{vid}/check-in", json=fix)

    async def run(self, until: float, think_s: float) -> None:
        actions = [(self.push, 0.35), (self.pull, 0.30), (self.track, 0.25), (self.check_in, 0.10)]
        fns, weights = zip(*actions, strict=True)
        while True:
            pause = self.rng.expovariate(1 / think_s)
            if time.monotonic() + pause >= until:
                return
            await asyncio.sleep(pause)
            await self.rng.choices(fns, weights)[0]()


# ------------------------------------------------------------------------------------------ server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalFleet:
    """Servers this script started: where they listen, their database and their process ids."""

    url: str
    db_url: str
    db_name: str
    pids: list[int]

    def server_cpu(self) -> float:
        """CPU seconds so far of the API and worker processes."""
        return sum(process_tree_cpu(pid) for pid in self.pids)


@contextlib.contextmanager
def local_servers(pg_admin_url: str, api_processes: int, workers: int) -> Any:
    """A fresh PostgreSQL database, seeded, served by ``api_processes`` uvicorn workers + job workers."""
    import asyncpg

    name = f"fl_load_{os.getpid()}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_admin_url.replace("+asyncpg", ""))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name}"))
    asyncio.run(admin(f"CREATE DATABASE {name}"))
    base = pg_admin_url.rsplit("/", 1)[0]
    var_dir = Path(f"/tmp/{name}")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FIELDLINE_DATABASE_URL": f"{base}/{name}",
        "FIELDLINE_SECRET_KEY": "load-" + "k" * 48,
        "FIELDLINE_VAR_DIR": str(var_dir),
        "FIELDLINE_RUN_WORKER": "0",
        "FIELDLINE_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "api.cli"]
    subprocess.run([*cli, "seed", "demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    procs = [
        subprocess.Popen(
            [*cli, "serve", "--port", str(port), "--workers", str(api_processes)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    ]
    procs += [
        subprocess.Popen([*cli, "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        yield LocalFleet(url, env["FIELDLINE_DATABASE_URL"], name, [p.pid for p in procs])
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(20)
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


# ------------------------------------------------------------------------------------------- setup
async def create_reps(
    http: httpx.AsyncClient, admin: str, password: str, n: int, run: str
) -> list[dict[str, Any]]:
    r = await http.post(
        "/v1/auth/token", json={"email": admin, "password": password, "device_id": str(uuid.uuid4())}
    )
    r.raise_for_status()
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    reps = []
    for i in range(n):
        email = f"load-{run}-{i}@demo.test"
        r = await http.post(
            "/v1/users",
            headers=headers,
            json={"email": email, "name": f"Load rep {i}", "role": "rep", "password": PASSWORD},
        )
        r.raise_for_status()
        reps.append({"id": r.json()["id"], "email": email})
    return reps


async def verify(devices: list[Device], db_url: str | None) -> list[str]:
    """Convergence and exactly-once checks; returns the problems found."""
    problems: list[str] = []
    await asyncio.gather(*(d.pull() for d in devices))
    by_rep: dict[str, list[Device]] = defaultdict(list)
    for d in devices:
        by_rep[d.rep["id"]].append(d)
    for rep_devices in by_rep.values():
        expected = {(e, i) for d in rep_devices for e, ids in d.created.items() for i in ids}
        for d in rep_devices:
            missing = expected - set(d.replica)
            if missing:
                problems.append(f"device {d.device_id} misses {len(missing)} of its rep's entities")
        first = rep_devices[0].replica
        for d in rep_devices[1:]:
            if {k: v.get("version") for k, v in d.replica.items()} != {
                k: v.get("version") for k, v in first.items()
            }:
                problems.append(f"device {d.device_id} diverged from {rep_devices[0].device_id}")
    for d in devices:
        if d.points_seen != d.points_sent:
            problems.append(
                f"device {d.device_id}: {d.points_sent} points sent, {d.points_seen} acknowledged"
            )
    if db_url:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(db_url.replace("postgresql://", "postgresql+asyncpg://"))
        try:
            async with engine.connect() as conn:
                for entity, table in (
                    ("visit", "visits"),
                    ("visit_action", "visit_actions"),
                    ("customer", "customers"),
                ):
                    ids = [uuid.UUID(i) for d in devices for i in d.created[entity]]
                    found = (
                        await conn.execute(
                            text(f"SELECT count(*) FROM {table} WHERE id = ANY(:ids)"), {"ids": ids}
                        )
                    ).scalar()
                    if found != len(ids):
                        problems.append(f"{entity}: {len(ids)} created, {found} on the server")
                points = (
                    await conn.execute(
                        text("SELECT count(*) FROM track_points WHERE device_id = ANY(:ids)"),
                        {"ids": [d.device_id for d in devices]},
                    )
                ).scalar()
                sent = sum(d.points_sent for d in devices)
                if points != sent:
                    problems.append(f"track points: {sent} sent, {points} stored")
        finally:
            await engine.dispose()
    return problems


async def quiet_baseline(device: Device, rounds: int) -> Metrics:
    """The same requests from one device, one at a time, before the load starts: each endpoint's
    latency with the server otherwise idle, measured in the same run as the loaded figures."""
    quiet = Metrics()
    device.metrics = quiet
    for _ in range(rounds):
        for action in (device.push, device.pull, device.track, device.check_in):
            await action()
    return quiet


async def run_load(args: argparse.Namespace, base_url: str, fleet: LocalFleet | None) -> int:
    """One run per ``--think`` value, each with its own reps and phones, on the same servers."""
    reports = []
    for think in args.think:
        reports.append(await run_once(args, think, base_url, fleet))
        print(reports[-1].console(), flush=True)
    if args.write:
        from docs_section import replace_section

        replace_section("## Load", load_section(args, reports))
        print("wrote docs/benchmarks.md (## Load)")
    return 0 if all(r.ok for r in reports) else 1


async def run_once(
    args: argparse.Namespace, think: float, base_url: str, fleet: LocalFleet | None
) -> LoadReport:
    rng = random.Random(args.seed)
    metrics = Metrics()
    connections = args.connections or args.devices
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        n_reps = max(1, args.devices // args.devices_per_rep)
        reps = await create_reps(http, args.admin, args.password, n_reps, uuid.uuid4().hex[:6])
        devices = [
            Device(http, reps[i % n_reps], metrics, random.Random(rng.random())) for i in range(args.devices)
        ]
        for chunk in range(0, len(devices), 50):
            await asyncio.gather(*(d.login() for d in devices[chunk : chunk + 50]))
        await asyncio.gather(*(d.pull() for d in devices))
        quiet = await quiet_baseline(devices[0], args.baseline_rounds)
        devices[0].metrics = metrics
        metrics.latency.clear()
        print(
            f"{len(devices)} devices of {n_reps} reps logged in; running {args.duration:.0f} s, "
            f"think {think:g} s",
            flush=True,
        )
        load_before = os.getloadavg()
        cpu_before = (fleet.server_cpu(), time.process_time()) if fleet else None
        database = BackendMeter(fleet.db_name) if fleet else None
        started = time.monotonic()
        until = started + args.duration
        progress = asyncio.create_task(_progress(metrics, started, until))
        await asyncio.gather(*(d.run(until, think) for d in devices))
        progress.cancel()
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()
        cpu = None
        if fleet and cpu_before and database:
            server, client = fleet.server_cpu() - cpu_before[0], time.process_time() - cpu_before[1]
            cpu = (server, database.stop(), client)
        problems = await verify(devices, fleet.db_url if fleet else None)

    return LoadReport(args, think, metrics, quiet, elapsed, problems, load_before, load_after, cpu)


@dataclass
class LoadReport:
    args: argparse.Namespace
    think: float
    metrics: Metrics
    quiet: Metrics
    elapsed: float
    problems: list[str]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    #: CPU seconds during the run: API + worker processes, PostgreSQL backends, this client.
    cpu: tuple[float, ...] | None = None

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.metrics.latency.values())

    @property
    def errors(self) -> int:
        return sum(self.metrics.errors.values())

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems

    def rows(self) -> list[tuple[str, int, float, float, float, float, float, int]]:
        out = []
        for name, values in sorted(self.metrics.latency.items()):
            quiet = self.quiet.latency.get(name) or [float("nan")]
            out.append(
                (
                    name,
                    len(values),
                    len(values) / self.elapsed,
                    pct(quiet, 50),
                    pct(values, 50),
                    pct(values, 95),
                    pct(values, 99),
                    self.metrics.errors.get(name, 0),
                )
            )
        return out

    def cpu_line(self) -> str:
        """CPU per request of each side, and what two otherwise idle cores could serve."""
        if not self.cpu or not self.total:
            return ""
        server, database, client = (c * 1000 / self.total for c in self.cpu)
        capacity = 2000 / (server + database) if server + database else 0.0
        return (
            f"CPU per request (from `/proc`, load-independent): API + workers {server:.1f} ms, PostgreSQL "
            f"{database:.1f} ms, the simulated phones {client:.1f} ms; two cores given to the server alone "
            f"would serve about {capacity:.0f} requests/s of this mix."
        )

    def console(self) -> str:
        lines = [
            f"\n{self.total} requests in {self.elapsed:.0f} s = {self.total / self.elapsed:.0f} req/s; "
            f"retries {self.metrics.retries}",
            f"{'endpoint':<18}{'count':>8}{'req/s':>8}{'idle p50':>10}{'p50 ms':>9}{'p95 ms':>9}"
            f"{'p99 ms':>9}{'errors':>8}",
        ]
        for name, n, rate, idle, p50, p95, p99, errs in self.rows():
            lines.append(
                f"{name:<18}{n:>8}{rate:>8.1f}{idle:>10.1f}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}{errs:>8}"
            )
        rate = self.errors / self.total if self.total else 0.0
        lines.append(f"error rate {rate:.4%}")
        if self.cpu_line():
            lines.append(self.cpu_line())
        lines += [f"  error: {s}" for s in self.metrics.samples]
        if self.problems:
            lines.append("CONVERGENCE FAILED:")
            lines += [f"   {p}" for p in self.problems[:20]]
        else:
            lines.append(
                "converged: every device has its rep's writes; every write on the server exactly once"
            )
        return "\n".join(lines)

    def markdown(self) -> str:
        """This run's subsection of the Load section."""
        rate = self.errors / self.total if self.total else 0.0
        table = [
            "| endpoint | requests | req/s | idle p50 (baseline) | p50 | p95 | p99 | errors |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, n, rps, idle, p50, p95, p99, errs in self.rows():
            table.append(
                f"| {name} | {n:,} | {rps:.1f} | {idle:.0f} ms | **{p50:.0f} ms** | {p95:.0f} ms | "
                f"{p99:.0f} ms | {errs} |"
            )
        verdict = (
            "Converged: every phone pulled to the end and held every entity its rep's phones created; "
            "every created entity is on the server exactly once and every track point sent was stored."
            if not self.problems
            else "**Convergence failed:** " + "; ".join(self.problems[:5])
        )
        offered = self.args.devices / self.think
        return "\n".join(
            [
                f"### {self.args.devices} phones, think time {self.think:g} s "
                f"(offered about {offered:.0f} requests/s)",
                "",
                *table,
                "",
                f"Throughput: **{self.total / self.elapsed:.0f} requests/s** ({self.total:,} requests in "
                f"{self.elapsed:.0f} s, {self.metrics.retries} retries); error rate **{rate:.2%}**. "
                f"Load average before / after: {self.load_before[0]:.1f} / {self.load_after[0]:.1f}.",
                "",
                self.cpu_line(),
                "",
                verdict,
                "",
            ]
        )


def load_section(args: argparse.Namespace, reports: list[LoadReport]) -> str:
    where = (
        f"{args.api_processes} API processes (`fieldline serve --workers {args.api_processes}`) and "
        f"{args.workers} job worker(s) on PostgreSQL {_pg_version(args)}"
        if not args.base_url
        else f"the server at {args.base_url}"
    )
    thinks = " ".join(f"{t:g}" for t in args.think)
    intro = [
        "## Load",
        "",
        f"`bench/load.py --devices {args.devices} --duration {args.duration:.0f} --think {thinks} --write`, "
        f"measured {time.strftime('%Y-%m-%d')}: {args.devices} simulated phones "
        f"({args.devices // args.devices_per_rep} reps, {args.devices_per_rep} phones each, new per run) "
        f"against {where}, all on one 2-core machine with the simulated phones (one Python process). "
        "Each phone loops with an exponential think time over: push a batch of 1-9 offline mutations "
        "(35 %: new prospects, visits, competitor reports, note edits), pull to the end of its feed (30 %), "
        "upload 60 GPS fixes (25 %), check in online at a visit (10 %). 5xx, 429 and network errors are "
        "retried with backoff as the SDK does and count as retries; any other non-2xx, or a push result "
        "other than applied/merged/duplicate, counts as an error. Latency is per HTTP request as the phone "
        "sees it, retries included. Baseline, in the same run: the same requests from one phone, one at a "
        f"time, before the load starts ({args.baseline_rounds} rounds; idle p50). A real phone syncs every "
        "few minutes, so a 10 s think time is already a heavy day for 500 phones; 2 s offers more than "
        "this machine can serve and shows how the service behaves past saturation.",
        "",
    ]
    return "\n".join(intro + [r.markdown() for r in reports])


def _pg_version(args: argparse.Namespace) -> str:
    out = subprocess.run(
        ["psql", args.pg_url, "-Atc", "SHOW server_version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return out.split(" ")[0] or "(version unknown)"


async def _progress(metrics: Metrics, started: float, until: float) -> None:
    while True:
        await asyncio.sleep(15)
        done = sum(len(v) for v in metrics.latency.values())
        now = time.monotonic()
        print(
            f"  {now - started:5.0f} s / {until - started:.0f} s: {done} requests, "
            f"{sum(metrics.errors.values())} errors",
            flush=True,
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", help="a running server; default: start one on PostgreSQL")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("FIELDLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    p.add_argument("--api-processes", type=int, default=2)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--devices", type=int, default=500)
    p.add_argument("--devices-per-rep", type=int, default=5)
    p.add_argument("--duration", type=float, default=300.0, help="seconds")
    p.add_argument(
        "--think",
        type=float,
        nargs="+",
        default=[10.0, 2.0],
        help="mean think time between a phone's requests, s; one run per value",
    )
    p.add_argument(
        "--connections", type=int, default=0, help="client connection pool; default one per phone, as phones"
    )
    p.add_argument("--admin", default="admin@demo.test")
    p.add_argument("--password", default="fieldline-demo")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--baseline-rounds", type=int, default=20, help="idle rounds of each request before the load"
    )
    p.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md (## Load)")
    args = p.parse_args()
    if args.base_url:
        return asyncio.run(run_load(args, args.base_url, None))
    with local_servers(args.pg_url, args.api_processes, args.workers) as fleet:
        return asyncio.run(run_load(args, fleet.url, fleet))


if __name__ == "__main__":
    sys.exit(main())
