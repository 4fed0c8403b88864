"""Faults under load: an API process killed, PostgreSQL restarted, the media disk full.

Simulated phones (bench/load.py) keep pushing, pulling, uploading tracks and checking in while the
fault happens; they retry like the SDKs do. Afterwards every device must have converged and every
write must be on the server exactly once.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.factories import PASSWORD
from tests.faults.cluster import (
    Balancer,
    free_port,
    load_bench,
    server_env,
    start_api,
    stop,
    world_reps,
)

bench = load_bench()


async def _run_fleet(
    transport: httpx.AsyncBaseTransport,
    reps: list[dict[str, Any]],
    *,
    devices: int,
    seconds: float,
    fault: Any,
    fault_at: float,
    db_url: str,
) -> tuple[Any, list[str]]:
    metrics = bench.Metrics()
    rng = random.Random(11)
    async with httpx.AsyncClient(base_url="http://cluster", transport=transport, timeout=60) as http:
        fleet = [
            bench.Device(http, reps[i % len(reps)], metrics, random.Random(rng.random()))
            for i in range(devices)
        ]
        for d in fleet:
            await d.login()
        until = time.monotonic() + seconds

        async def trigger() -> None:
            await asyncio.sleep(fault_at)
            await asyncio.to_thread(fault)

        await asyncio.gather(trigger(), *(d.run(until, 0.15) for d in fleet))
        for d in fleet:  # the day's last push: nothing left unsynced
            await d.push()
        return metrics, await bench.verify(fleet, db_url)


def _check(metrics: Any, problems: list[str]) -> None:
    assert dict(metrics.errors) == {}, metrics.samples
    assert problems == []
    assert sum(len(v) for v in metrics.latency.values()) > 50


@pytest.mark.skipif(
    os.environ.get("FIELDLINE_TEST_DB", "sqlite") != "postgres", reason="several API processes"
)
async def test_api_process_killed_mid_load(db_url: str, world: Any, tmp_path: Path) -> None:
    env = server_env(db_url, tmp_path)
    ports = [free_port(), free_port()]
    procs = [start_api(env, port) for port in ports]
    try:
        metrics, problems = await _run_fleet(
            Balancer(ports, random.Random(3)),
            world_reps(world, PASSWORD),
            devices=9,
            seconds=10,
            fault=lambda: procs[0].send_signal(signal.SIGKILL),
            fault_at=3,
            db_url=db_url,
        )
    finally:
        stop(procs)
    assert procs[0].returncode == -signal.SIGKILL
    assert metrics.retries > 0
    _check(metrics, problems)


def _restart_postgres() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        capture_output=True,
    )


@pytest.mark.skipif(os.environ.get("FIELDLINE_TEST_DB", "sqlite") != "postgres", reason="restarts PostgreSQL")
@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None, reason="needs the local PostgreSQL cluster")
async def test_postgres_restarted_mid_load(db_url: str, world: Any, tmp_path: Path) -> None:
    env = server_env(db_url, tmp_path)
    ports = [free_port(), free_port()]
    procs = [start_api(env, port) for port in ports]
    try:
        metrics, problems = await _run_fleet(
            Balancer(ports, random.Random(5)),
            world_reps(world, PASSWORD),
            devices=9,
            seconds=12,
            fault=_restart_postgres,
            fault_at=3,
            db_url=db_url,
        )
    finally:
        stop(procs)
    _check(metrics, problems)


def _photo(seed: int) -> bytes:
    rng = random.Random(seed)
    img = Image.effect_noise((640, 480), 60).convert("RGB")
    img.putpixel((0, 0), (rng.randrange(256), 0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_media_disk_full(db_url: str, world: Any, tmp_path: Path, small_disk: Path) -> None:
    env = server_env(db_url, tmp_path, FIELDLINE_MEDIA_ROOT=str(small_disk / "media"))
    port = free_port()
    procs = [start_api(env, port)]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            r = await http.post(
                "/v1/auth/token",
                json={
                    "email": "rep1@test.example",
                    "password": PASSWORD,
                    "device_id": str(world.users["rep1"]),
                },
            )
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = await http.post(
                "/v1/visits",
                headers=headers,
                json={"customer_id": str(world.customers["c0"]), "status": "planned"},
            )
            assert r.status_code == 201, r.text
            visit = r.json()["id"]

            async def upload(seed: int) -> httpx.Response:
                files = {"file": (f"p{seed}.jpg", _photo(seed), "image/jpeg")}
                return await http.post(
                    "/v1/media",
                    headers=headers,
                    data={"kind": "visit_photo", "entity_id": visit},
                    files=files,
                )

            accepted: list[str] = []
            refused: httpx.Response | None = None
            for seed in range(40):
                r = await upload(seed)
                if r.status_code == 201:
                    accepted.append(r.json()["id"])
                    continue
                refused = r
                break
            assert refused is not None, "the 2 MB disk never filled"
            assert refused.status_code == 507
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["code"] == "storage_full"
            assert accepted, "nothing fitted before the disk filled"
            # Everything accepted before is intact; nothing half-stored for the refused one.
            for media_id in accepted:
                r = await http.get(f"/v1/media/{media_id}/original", headers=headers)
                assert r.status_code == 200
            r = await http.get("/v1/photos", headers=headers, params={"visit_id": visit, "limit": 100})
            assert r.json()["total"] == len(accepted)
            # Space is added; the phone's retry of the refused photo now succeeds, exactly once.
            await asyncio.to_thread(
                subprocess.run, ["mount", "-o", "remount,size=64m", str(small_disk)], check=True
            )
            r = await upload(len(accepted))
            assert r.status_code == 201, r.text
            r = await http.get("/v1/photos", headers=headers, params={"visit_id": visit, "limit": 100})
            assert r.json()["total"] == len(accepted) + 1
    finally:
        stop(procs)
