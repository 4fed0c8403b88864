"""No pull skips a change that commits late, with real concurrency (PostgreSQL only).

A real server (uvicorn, 2 worker processes) takes pushes from several writer processes; other
processes write through the service layer with their own engines and hold each transaction open
after reserving change numbers, so their commits land late. Several puller processes pull
continuously meanwhile. In the end every puller has seen every committed change, at its committed
version, and nothing else.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import select

from api.visits.models import Visit
from tests.conftest import ENGINE
from tests.sync import concurrency_workers as workers

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(ENGINE != "postgres", reason="multi-process writers need PostgreSQL"),
]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(db_url: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "FIELDLINE_DATABASE_URL": db_url,
        "FIELDLINE_SECRET_KEY": "concurrency-" + "k" * 40,
        "FIELDLINE_VAR_DIR": str(tmp_path),
        "FIELDLINE_RUN_WORKER": "0",
        "FIELDLINE_LOG_LEVEL": "WARNING",
        # The pullers poll in a tight loop for as long as the writers run: the per-user request
        # budget (300 a minute) would answer them 429 and end the test; ordering is the subject here.
        "FIELDLINE_SYNC_RATE_LIMIT": "1000000",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "api.cli", "serve", "--no-migrate", "--workers", "2", "--port", str(port)]
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError((tmp_path / "server.log").read_text())
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("server did not start")


def _run_processes(base: str, db_url: str, world: Any) -> tuple[dict[str, int], list[dict[str, Any]]]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    done = ctx.Event()
    customers = {rep: str(world.customers[c]) for rep, c in (("rep1", "c0"), ("rep2", "c2"), ("rep3", "c3"))}
    writers = [
        ctx.Process(
            target=workers.http_writer,
            args=(base, f"{rep}@test.example", customers[rep], 8, 25, out),
        )
        for rep in ("rep1", "rep2", "rep3")
    ]
    writers += [
        ctx.Process(
            target=workers.slow_committer,
            args=(db_url, str(world.tenant_a), str(world.users[rep]), customers[rep], 12, out),
        )
        for rep in ("rep1", "rep2")
    ]
    pullers = [
        ctx.Process(target=workers.puller, args=(base, email, limit, done, out))
        for email, limit in (
            ("admin@test.example", 7),
            ("admin@test.example", 50),
            ("manager1@test.example", 13),
        )
    ]
    for p in pullers + writers:
        p.start()
    committed: dict[str, int] = {}
    reports: list[dict[str, Any]] = []
    try:
        for _ in writers:
            kind, payload = out.get(timeout=240)
            assert kind == "writer"
            committed.update(payload)
        done.set()
        for _ in pullers:
            kind, payload = out.get(timeout=120)
            assert kind == "puller"
            reports.append(payload)
    finally:
        done.set()
        for p in writers + pullers:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in writers + pullers), [p.exitcode for p in writers + pullers]
    return committed, reports


async def test_pullers_see_every_committed_change_under_concurrent_writers(
    db_url, world, session_factory, tmp_path
) -> None:
    server, base = await anyio.to_thread.run_sync(_start_server, db_url, tmp_path)
    try:
        committed, reports = await anyio.to_thread.run_sync(_run_processes, base, db_url, world)
    except queue.Empty:
        pytest.fail(
            "a writer or puller process did not report: " + (tmp_path / "server.log").read_text()[-3000:]
        )
    finally:
        server.terminate()
        await anyio.to_thread.run_sync(server.wait, 30)
    async with session_factory() as session:
        rows = (await session.execute(select(Visit.id, Visit.version, Visit.rep_id))).all()
    in_db = {str(vid): version for vid, version, _ in rows}
    assert len(committed) == 3 * 8 * 25 + 2 * 12 * 3
    assert committed == in_db
    north = {str(world.users["rep1"]), str(world.users["rep2"])}
    team_db = {str(vid): version for vid, version, rep in rows if str(rep) in north}
    by_scope = sorted(reports, key=lambda r: len(r["seen"]))
    manager_report, admin_reports = by_scope[0], by_scope[1:]
    for report in admin_reports:
        assert report["seen"] == in_db
        assert report["pages"] > 3
    assert manager_report["seen"] == team_db
