"""Scale-out: two API processes and two job workers on one PostgreSQL and one S3-compatible store.

The fleet simulation (bench/fleet_sim.py, the Python SDK) runs through both API processes; a photo
uploaded through one is rendered by a worker process into S3 and served by the API.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import httpx
import pytest
from PIL import Image

from tests.faults.cluster import ROOT, free_port, server_env, stop
from tests.media.test_media_storage import CREDENTIALS, s3_endpoint  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(
    os.environ.get("FIELDLINE_TEST_DB", "sqlite") != "postgres", reason="several processes need PostgreSQL"
)
BUCKET = "fieldline-scale-out"


def load_sim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fleet_sim", ROOT / "bench" / "fleet_sim.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fleet_sim"] = module
    spec.loader.exec_module(module)
    return module


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, "the API exited"
        assert time.monotonic() < deadline, "the API did not become ready"
        time.sleep(0.3)


def _start_cluster(env: dict[str, str], port: int) -> list[subprocess.Popen[bytes]]:
    """Seed the demo data, then ``serve --workers 2`` and two ``fieldline worker`` processes."""
    cli = [sys.executable, "-m", "api.cli"]
    quiet: dict[str, Any] = {
        "env": env,
        "cwd": ROOT,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
    }
    subprocess.run([*cli, "seed", "demo"], check=True, **quiet)
    api = subprocess.Popen([*cli, "serve", "--no-migrate", "--port", str(port), "--workers", "2"], **quiet)
    return [api, *(subprocess.Popen([*cli, "worker"], **quiet) for _ in range(2))]


def _photo() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((800, 600), 50).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


async def test_two_api_processes_and_two_workers(db_url: str, tmp_path: Path, s3_endpoint: str) -> None:  # noqa: F811
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"],
    )
    s3.create_bucket(Bucket=BUCKET)
    env = server_env(
        db_url,
        tmp_path,
        FIELDLINE_STORAGE="s3",
        FIELDLINE_S3_BUCKET=BUCKET,
        FIELDLINE_S3_ENDPOINT_URL=s3_endpoint,
        AWS_ACCESS_KEY_ID=CREDENTIALS["access_key_id"],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS["secret_access_key"],
        FIELDLINE_WORKER_POLL_INTERVAL="0.2",
    )
    port = free_port()
    api, *workers = _start_cluster(env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, api)
        sim = load_sim()
        config, _ = sim.parse_args(["--base-url", url, "--devices", "6", "--minutes", "0.15", "--seed", "3"])
        result = await sim.simulate(config)
        assert result.problems == []
        assert result.stats["converged"] is True
        assert result.stats["created"] > 6

        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            r = await http.post(
                "/v1/auth/token",
                json={
                    "email": "rep1@demo.test",
                    "password": "fieldline-demo",
                    "device_id": str(os.urandom(16).hex()),
                },
            )
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            customer = (await http.get("/v1/customers", headers=headers, params={"limit": 1})).json()[
                "items"
            ][0]
            r = await http.post(
                "/v1/visits", headers=headers, json={"customer_id": customer["id"], "status": "planned"}
            )
            assert r.status_code == 201, r.text
            r = await http.post(
                "/v1/media",
                headers=headers,
                data={"kind": "visit_photo", "entity_id": r.json()["id"]},
                files={"file": ("shelf.jpg", _photo(), "image/jpeg")},
            )
            assert r.status_code == 201, r.text
            media_id = r.json()["id"]
            deadline = time.monotonic() + 90
            while (rendition := await http.get(f"/v1/media/{media_id}", headers=headers)).status_code != 200:
                assert time.monotonic() < deadline, rendition.text
                await asyncio.sleep(0.3)
            assert rendition.headers["content-type"] == "image/jpeg"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        assert len(keys) >= 3  # original, rendition, thumbnail
    finally:
        stop([api, *workers])
