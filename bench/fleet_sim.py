"""Fleet simulation: N phones running the Python SDK through a working day against one server.

    fieldline seed demo && fieldline serve &
    .venv/bin/python bench/fleet_sim.py --base-url http://127.0.0.1:8000 --devices 200 --minutes 2

Devices belong to the demo reps (rep1..rep8@demo.test, several devices per rep, round robin). The
day (09:00-18:00) is compressed into ``--minutes`` of wall time. Each device bootstraps, then works
through visits to its rep's customers (today's route plan first): create the visit, check in at
the shop, record actions, sometimes an expense, sometimes a note on the customer (shared by all of
the rep's devices, so those conflict), check out. It syncs after some steps and every simulated
15 minutes, and loses the network for random stretches of the day (syncs then fail and are retried
later). At the end every device comes back online and syncs twice.

Checks (any failure exits 1): every outbox is empty; every device's replica equals the server's
view of its rep's scope (a fresh bootstrap); the server processed exactly each device's seqs; every
entity a device created is on the server once, with the values the device last wrote, and nothing
else was created; each shared customer note holds the write with the highest HLC.

Prints sync latency percentiles (successful ``sync()`` calls), the delay from a local write to the
server's acknowledgement (offline time included), server throughput (acknowledged mutations and
HTTP requests per second), and as a baseline an authenticated ``GET /v1/sync/info`` probed during
the same day.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients" / "python"))

from fieldline_client import FieldlineClient, FieldlineError, MemoryStorage, RetryPolicy, SyncReport
from fieldline_client.testing import NetworkSimulator

DEMO_PASSWORD = "fieldline-demo"
DEMO_REPS = 8
DAY_HOURS = 9.0
SYNC_EVERY_SIM_MINUTES = 15.0
TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Config:
    base_url: str
    devices: int = 200
    minutes: float = 2.0
    seed: int = 1
    reps: int = DEMO_REPS
    visits: tuple[int, int] = (2, 4)
    password: str = DEMO_PASSWORD
    login_concurrency: int = 8


@dataclass
class Write:
    """One local write: what was set, when, and with which stamp."""

    entity: str
    id: str
    fields: dict[str, Any]
    hlc: str
    seq: int
    at: float


@dataclass
class Device:
    index: int
    rep: str
    net: NetworkSimulator
    client: FieldlineClient
    rng: random.Random
    writes: list[Write] = field(default_factory=list)
    created: set[tuple[str, str]] = field(default_factory=set)
    conflicts: list[Any] = field(default_factory=list)
    sync_ms: list[float] = field(default_factory=list)
    failed_syncs: int = 0
    acked_delay_s: list[float] = field(default_factory=list)


@dataclass
class Fleet:
    config: Config
    devices: list[Device]
    probe: FieldlineClient | None = None
    fresh: dict[str, FieldlineClient] = field(default_factory=dict)
    probe_ms: list[float] = field(default_factory=list)
    day_seconds: float = 0.0
    #: Server entities created after this instant belong to this run.
    since: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Result:
    fleet: Fleet
    problems: list[str]
    stats: dict[str, Any]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------------------------- setup
async def open_fleet(config: Config) -> Fleet:
    rng = random.Random(config.seed)
    devices = []
    for i in range(config.devices):
        rep = f"rep{i % config.reps + 1}@demo.test"
        net = NetworkSimulator(seed=rng.randrange(2**32))
        client = FieldlineClient(
            config.base_url,
            MemoryStorage(),
            transport=net,
            retry=RetryPolicy(attempts=3, base=0.05, cap=0.5),
            device_name=f"sim-{i}",
            timeout=60.0,
        )
        devices.append(Device(i, rep, net, client, random.Random(rng.randrange(2**32))))
    gate = asyncio.Semaphore(config.login_concurrency)

    async def sign_in(device: Device) -> None:
        async with gate:
            await device.client.login(device.rep, config.password)
            await device.client.sync()
        device.client.on_conflict(device.conflicts.append)

    await asyncio.gather(*(sign_in(d) for d in devices))
    probe = FieldlineClient(config.base_url, MemoryStorage(), device_name="sim-probe")
    await probe.login(devices[0].rep, config.password)
    return Fleet(config, devices, probe=probe)


# ------------------------------------------------------------------------------------ the day
def todays_customers(client: FieldlineClient, rng: random.Random, count: int) -> list[dict[str, Any]]:
    rows = client.replica.snapshot()
    customers = {i: row for (e, i), row in rows.items() if e == "customer" and row.get("lat") is not None}
    today = datetime.now(TZ).date().isoformat()
    planned = [
        stop["customer_id"]
        for (e, _), row in rows.items()
        if e == "route_plan" and row.get("date") == today
        for stop in row.get("stops") or []
    ]
    order = [c for c in planned if c in customers] + rng.sample(sorted(customers), len(customers))
    picked: list[str] = []
    for c in order:
        if c not in picked:
            picked.append(c)
        if len(picked) == count:
            break
    return [customers[c] for c in picked]


def reference(client: FieldlineClient, entity: str, key: str) -> list[str]:
    return sorted(str(row[key]) for (e, _), row in client.replica.snapshot().items() if e == entity)


async def record(device: Device, entity: str, ident: str | None, fields: dict[str, Any]) -> str:
    client = device.client
    if ident is None:
        ident = await client.create(entity, fields)
        device.created.add((entity, ident))
    else:
        await client.update(entity, ident, fields)
    m = client.outbox.entries[client.outbox.next_seq - 1]
    device.writes.append(Write(entity, ident, dict(fields), m.hlc, m.seq, time.monotonic()))
    return ident


async def sync(device: Device) -> SyncReport | None:
    started = time.monotonic()
    pending_before = {m.seq for m in device.client.outbox.pending()}
    try:
        result = await device.client.sync()
    except FieldlineError:
        device.failed_syncs += 1
        return None
    done = time.monotonic()
    device.sync_ms.append((done - started) * 1000)
    acked = pending_before - {m.seq for m in device.client.outbox.pending()}
    device.acked_delay_s.extend(done - w.at for w in device.writes if w.seq in acked)
    return result


def fix_near(customer: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return {
        "at": now_iso(),
        "lat": round(customer["lat"] + rng.uniform(-0.0003, 0.0003), 6),
        "lon": round(customer["lon"] + rng.uniform(-0.0003, 0.0003), 6),
        "accuracy_m": round(rng.uniform(4, 25), 1),
        "provider": "gps",
    }


async def work_day(device: Device, fleet: Fleet) -> None:
    rng = device.rng
    client = device.client
    config = fleet.config
    skus = reference(client, "product", "sku") or ["SKU-1001"]
    categories = reference(client, "expense_category", "code") or ["other"]
    customers = todays_customers(client, rng, rng.randint(*config.visits))
    steps = max(1, 6 * len(customers))
    pause = fleet.day_seconds / steps

    async def step() -> None:
        await asyncio.sleep(pause * rng.uniform(0.3, 1.2))
        if device.net.online and rng.random() < 0.35:
            await sync(device)

    for n, customer in enumerate(customers):
        visit = await record(device, "visit", None, {"customer_id": customer["id"], "planned_at": now_iso()})
        await step()
        await record(device, "visit", visit, {"status": "in_progress", "check_in": fix_near(customer, rng)})
        await step()
        for _ in range(rng.randint(1, 2)):
            kind = rng.choice(["order_intent", "stock_check", "competitor_report"])
            payload: dict[str, Any]
            if kind == "order_intent":
                payload = {"items": [{"sku": rng.choice(skus), "quantity": rng.randint(1, 48)}]}
            elif kind == "stock_check":
                payload = {"items": [{"sku": rng.choice(skus), "quantity": rng.randint(0, 200)}]}
            else:
                payload = {
                    "competitor": rng.choice(["Acme Tea", "Lotus Drinks"]),
                    "price": f"{rng.randint(2, 9)}.50",
                }
            await record(device, "visit_action", None, {"visit_id": visit, "kind": kind, "payload": payload})
            await step()
        if rng.random() < 0.3:
            fields = {
                "visit_id": visit,
                "merchant": rng.choice(["Didi", "FamilyMart", "Sinopec"]),
                "date": datetime.now(TZ).date().isoformat(),
                "total": f"{rng.randint(5, 180)}.{rng.randint(0, 99):02d}",
                "currency": "CNY",
                "category_code": rng.choice(categories),
            }
            await record(device, "expense", None, fields)
            await step()
        if rng.random() < 0.25:
            note = f"device {device.index} visit {n}: {rng.choice(['back door', 'ask for Li', 'closed Mon'])}"
            await record(device, "customer", customer["id"], {"notes": note})
            await step()
        await record(
            device,
            "visit",
            visit,
            {
                "status": "completed",
                "check_out": fix_near(customer, rng),
                "notes": f"visit {n} by {device.index}",
            },
        )
        await step()


async def offline_spells(device: Device, fleet: Fleet) -> None:
    """Lose the network 0-3 times a day, for 5-20 % of the day each."""
    rng = random.Random(device.rng.random())
    spells = sorted(
        (rng.uniform(0, fleet.day_seconds * 0.9), rng.uniform(0.05, 0.2) * fleet.day_seconds)
        for _ in range(rng.randint(0, 3))
    )
    clock = 0.0
    for start, length in spells:
        if start > clock:
            await asyncio.sleep(start - clock)
            clock = start
        device.net.online = False
        await asyncio.sleep(length)
        clock += length
        device.net.online = True


async def periodic(device: Device, fleet: Fleet, stop: asyncio.Event) -> None:
    interval = fleet.day_seconds * SYNC_EVERY_SIM_MINUTES / (DAY_HOURS * 60)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval * device.rng.uniform(0.8, 1.2))
        if not stop.is_set() and device.net.online:
            await sync(device)


async def probe(fleet: Fleet, stop: asyncio.Event) -> None:
    client = fleet.probe
    assert client is not None
    while not stop.is_set():
        started = time.monotonic()
        with contextlib.suppress(FieldlineError):
            await client.http.request("GET", "/v1/sync/info", retry=False)
            fleet.probe_ms.append((time.monotonic() - started) * 1000)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.25)


async def run_day(fleet: Fleet) -> None:
    fleet.day_seconds = fleet.config.minutes * 60
    stop = asyncio.Event()
    background = [asyncio.create_task(periodic(d, fleet, stop)) for d in fleet.devices]
    background.append(asyncio.create_task(probe(fleet, stop)))
    spells = [asyncio.create_task(offline_spells(d, fleet)) for d in fleet.devices]
    fleet.since = datetime.now(UTC) - timedelta(seconds=2)
    await asyncio.gather(*(work_day(d, fleet) for d in fleet.devices))
    stop.set()
    await asyncio.gather(*background)
    for task in spells:
        task.cancel()
    await asyncio.gather(*spells, return_exceptions=True)
    for d in fleet.devices:
        d.net.online = True
    # The end of the day: everyone syncs until a round in which nobody had anything to push, so
    # every device's last pull came after every push.
    for _ in range(6):
        reports = await asyncio.gather(*(sync(d) for d in fleet.devices))
        if all(r is not None and r.pushed == 0 for r in reports):
            break


# ------------------------------------------------------------------------------------- checks
async def verify(fleet: Fleet) -> list[str]:
    problems: list[str] = []
    config = fleet.config
    for rep in sorted({d.rep for d in fleet.devices}):
        if rep not in fleet.fresh:
            fresh = FieldlineClient(config.base_url, MemoryStorage(), retry=RetryPolicy(attempts=5))
            await fresh.login(rep, config.password)
            fleet.fresh[rep] = fresh
        await fleet.fresh[rep].sync()

    latest_note: dict[str, Write] = {}
    for d in fleet.devices:
        name = f"device {d.index} ({d.rep})"
        client = d.client
        if len(client.outbox):
            problems.append(f"{name}: {len(client.outbox)} mutations still in the outbox")
        server = fleet.fresh[d.rep].replica.snapshot()
        mine = client.replica.snapshot()
        if mine != server:
            differ = sorted(k for k in set(mine) | set(server) if mine.get(k) != server.get(k))
            problems.append(
                f"{name}: replica differs from the server on {len(differ)} entities, e.g. {differ[:3]}"
            )
        last_seq = await client._engine.last_seq()  # type: ignore[union-attr]
        if last_seq != client.outbox.next_seq - 1:
            problems.append(
                f"{name}: server processed up to seq {last_seq}, device wrote {client.outbox.next_seq - 1}"
            )
        expected: dict[tuple[str, str], dict[str, Any]] = {}
        for w in d.writes:
            if w.entity == "customer":
                if w.id not in latest_note or w.hlc > latest_note[w.id].hlc:
                    latest_note[w.id] = w
                continue
            expected.setdefault((w.entity, w.id), {}).update(w.fields)
        for key, fields in expected.items():
            row = server.get(key)
            if row is None:
                problems.append(f"{name}: {key[0]} {key[1]} is not on the server")
                continue
            wrong = {k: (v, row.get(k)) for k, v in fields.items() if not same(v, row.get(k))}
            if wrong:
                problems.append(f"{name}: {key[0]} {key[1]} differs on the server: {wrong}")
        lost = [e for e in d.conflicts if e.status == "rejected"]
        if lost:
            problems.append(f"{name}: {len(lost)} writes rejected, e.g. {lost[0].error}")
    created = {k for d in fleet.devices for k in d.created}
    seen: dict[tuple[str, str], int] = {}
    for fresh in fleet.fresh.values():
        for (entity, ident), row in fresh.replica.snapshot().items():
            created_at = parse_time(str(row.get("created_at") or ""))
            recent = isinstance(created_at, datetime) and created_at >= fleet.since
            if entity in {"visit", "visit_action", "expense"} and recent:
                seen[(entity, ident)] = seen.get((entity, ident), 0) + 1
    extra = set(seen) - created
    if extra:
        problems.append(
            f"{len(extra)} entities on the server that no device created, e.g. {sorted(extra)[:3]}"
        )
    twice = [k for k, n in seen.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} entities in more than one rep's scope, e.g. {twice[:3]}")
    for customer_id, w in latest_note.items():
        owner = next(d.rep for d in fleet.devices if w in d.writes)
        row = fleet.fresh[owner].replica.snapshot().get(("customer", customer_id))
        if row is None or row.get("notes") != w.fields["notes"]:
            stored = row.get("notes") if row else None
            problems.append(
                f"customer {customer_id}: notes {stored!r}, the last writer wrote {w.fields['notes']!r}"
            )
    return problems


def same(sent: Any, stored: Any) -> bool:
    if isinstance(sent, dict) and isinstance(stored, dict):
        return all(same(v, stored.get(k)) for k, v in sent.items())
    if isinstance(sent, float) and isinstance(stored, (int, float)):
        return abs(sent - stored) < 1e-6
    if isinstance(sent, str) and isinstance(stored, str) and sent.endswith("Z") and stored.endswith("Z"):
        return parse_time(sent) == parse_time(stored)
    return bool(sent == stored)


def parse_time(text: str) -> datetime | str:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


# ---------------------------------------------------------------------------------- reporting
def summarise(fleet: Fleet, problems: list[str], day_wall: float) -> dict[str, Any]:
    devices = fleet.devices
    sync_ms = [v for d in devices for v in d.sync_ms]
    acked = [v for d in devices for v in d.acked_delay_s]
    mutations = sum(len(d.writes) for d in devices)
    requests = sum(d.net.stats["sent"] for d in devices)
    conflicts = sum(1 for d in devices for e in d.conflicts if e.status == "merged")
    return {
        "devices": len(devices),
        "reps": len({d.rep for d in devices}),
        "mutations": mutations,
        "created": sum(len(d.created) for d in devices),
        "syncs_ok": len(sync_ms),
        "syncs_failed": sum(d.failed_syncs for d in devices),
        "offline_requests": sum(d.net.stats["offline"] for d in devices),
        "server_errors": sum(d.net.stats["5xx"] for d in devices),
        "merged_conflicts_reported": conflicts,
        "sync_ms": {f"p{q}": round(percentile(sync_ms, q), 1) for q in (50, 95, 99)},
        "write_to_ack_s": {f"p{q}": round(percentile(acked, q), 2) for q in (50, 95, 99)},
        "baseline_info_ms": {f"p{q}": round(percentile(fleet.probe_ms, q), 1) for q in (50, 95, 99)},
        "day_wall_s": round(day_wall, 1),
        "mutations_per_s": round(mutations / day_wall, 1) if day_wall else 0.0,
        "requests_per_s": round(requests / day_wall, 1) if day_wall else 0.0,
        "converged": not problems,
        "problems": problems,
    }


async def simulate(config: Config) -> Result:
    t0 = time.monotonic()
    fleet = await open_fleet(config)
    setup = time.monotonic() - t0
    t1 = time.monotonic()
    await run_day(fleet)
    day_wall = time.monotonic() - t1
    problems = await verify(fleet)
    stats = summarise(fleet, problems, day_wall)
    stats["setup_s"] = round(setup, 1)
    stats["mean_sync_ms"] = round(
        statistics.fmean([v for d in fleet.devices for v in d.sync_ms] or [math.nan]), 1
    )
    return Result(fleet, problems, stats)


async def close(fleet: Fleet) -> None:
    for d in fleet.devices:
        await d.client.close()
    if fleet.probe is not None:
        await fleet.probe.close()
    for client in fleet.fresh.values():
        await client.close()


def report(stats: dict[str, Any]) -> str:
    lines = [
        f"devices {stats['devices']} ({stats['reps']} reps), {stats['mutations']} writes "
        f"({stats['created']} created), day {stats['day_wall_s']} s wall, setup {stats['setup_s']} s",
        f"syncs: {stats['syncs_ok']} ok, {stats['syncs_failed']} failed (offline, or server errors "
        f"past the retries: tried again later); {stats['server_errors']} 5xx answers retried; "
        f"{stats['merged_conflicts_reported']} merged results reported",
        "sync latency ms      p50 {p50}  p95 {p95}  p99 {p99}".format(**stats["sync_ms"]),
        "baseline GET info ms p50 {p50}  p95 {p95}  p99 {p99}".format(**stats["baseline_info_ms"]),
        "write -> server ack s p50 {p50}  p95 {p95}  p99 {p99} (offline time included)".format(
            **stats["write_to_ack_s"]
        ),
        f"throughput: {stats['mutations_per_s']} writes/s, {stats['requests_per_s']} requests/s",
        "converged: every replica equals the server, every write on the server once"
        if stats["converged"]
        else f"DIVERGED: {len(stats['problems'])} problems",
    ]
    lines.extend(f"  - {p}" for p in stats["problems"][:20])
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> tuple[Config, bool]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=2.0, help="wall-clock length of the simulated day")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    return Config(
        base_url=args.base_url, devices=args.devices, minutes=args.minutes, seed=args.seed
    ), args.json


def main(argv: list[str] | None = None) -> int:
    config, as_json = parse_args(argv)

    async def go() -> Result:
        result = await simulate(config)
        await close(result.fleet)
        return result

    result = asyncio.run(go())
    print(json.dumps(result.stats, indent=2) if as_json else report(result.stats))
    return 0 if result.stats["converged"] else 1


if __name__ == "__main__":
    sys.exit(main())
