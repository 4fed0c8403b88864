"""Real server processes for the fault tests, and a client-side balancer across them."""

from __future__ import annotations

import importlib.util
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def load_bench() -> ModuleType:
    """``bench/load.py`` (simulated phones and the convergence check) as a module."""
    spec = importlib.util.spec_from_file_location("fieldline_load_bench", ROOT / "bench" / "load.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(db_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FIELDLINE_DATABASE_URL": db_url,
        "FIELDLINE_SECRET_KEY": "faults-" + "k" * 48,
        "FIELDLINE_VAR_DIR": str(var_dir),
        "FIELDLINE_RUN_WORKER": "0",
        "FIELDLINE_LOG_LEVEL": "WARNING",
        "FIELDLINE_RATE_LIMIT": "0",
        "FIELDLINE_SYNC_RATE_LIMIT": "0",
        "FIELDLINE_AUTH_RATE_LIMIT": "0",
        **extra,
    }


def start_api(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--no-migrate", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, "the API process exited"
        assert time.monotonic() < deadline, "the API process did not start"
        time.sleep(0.2)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


class Balancer(httpx.AsyncBaseTransport):
    """What a load balancer does for the phones: spread requests, skip upstreams that refuse connections."""

    def __init__(self, ports: list[int], rng: random.Random) -> None:
        self.ports = ports
        self.rng = rng
        self.inner = httpx.AsyncHTTPTransport()
        self.down: set[int] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        candidates = [p for p in self.ports if p not in self.down] or self.ports
        port = self.rng.choice(candidates)
        request.url = request.url.copy_with(host="127.0.0.1", port=port)
        try:
            return await self.inner.handle_async_request(request)
        except httpx.ConnectError:
            self.down.add(port)
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


def world_reps(world: Any, password: str) -> list[dict[str, Any]]:
    return [
        {"id": str(world.users[key]), "email": f"{key}@test.example", "password": password}
        for key in ("rep1", "rep2", "rep3")
    ]
