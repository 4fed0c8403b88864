"""A real Fieldline server in a subprocess, on a free port, over a database of the selected engine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]
SECRET = "sdk-e2e-secret-" + "s" * 40
PASSWORD = "correct-horse-battery"


@dataclass
class Server:
    url: str
    db_url: str
    world: Any
    var_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def email(self, key: str) -> str:
        return f"{key}@test.example"

    def env(self) -> dict[str, str]:
        return server_env(self.db_url, self.var_dir)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(db_url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "FIELDLINE_ENV": "test",
            "FIELDLINE_DATABASE_URL": db_url,
            "FIELDLINE_SECRET_KEY": SECRET,
            "FIELDLINE_VAR_DIR": str(var_dir),
            "FIELDLINE_MEDIA_ROOT": str(var_dir / "media"),
            "FIELDLINE_RUN_WORKER": "0",
            "FIELDLINE_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        }
    )
    return env


async def seed_world(db_url: str) -> Any:
    """Tenants alpha/beta with admin, managers, reps and customers (tests/factories.py)."""
    from api.db.engine import create_engine, create_session_factory
    from tests.factories import build_world

    engine = create_engine(db_url, null_pool=True)
    try:
        return await build_world(create_session_factory(engine))
    finally:
        await engine.dispose()


def start_server(db_url: str, var_dir: Path, world: Any, timeout: float = 90.0) -> Server:
    port = free_port()
    log_path = var_dir / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--no-migrate"],
        cwd=ROOT,
        env=server_env(db_url, var_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", db_url, world, var_dir, process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"server did not start in {timeout} s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def run_cli(server: Server, *args: str) -> str:
    """Run the ``fieldline`` command against the server's database."""
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"fieldline {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


async def expire_history(db_url: str, tenant_id: Any) -> None:
    """Mark the tenant's change history as pruned up to now, as a history purge would: every
    cursor issued so far is then older than the history kept (``410 cursor_expired``)."""
    from sqlalchemy import update

    from api.db.engine import create_engine
    from sync.models import SyncClock

    engine = create_engine(db_url, null_pool=True)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(SyncClock)
                .where(SyncClock.tenant_id == tenant_id)
                .values(purged_through=SyncClock.version)
            )
    finally:
        await engine.dispose()


async def seed_demo_data(db_url: str) -> None:
    """``fieldline seed demo`` into the server's database (the demo tenant, reps and customers)."""
    from api.db.engine import create_engine, create_session_factory, write_session
    from api.seed.demo import seed_demo

    engine = create_engine(db_url, null_pool=True)
    try:
        async with write_session(create_session_factory(engine)) as session:
            await seed_demo(session)
    finally:
        await engine.dispose()
