"""``fieldline seed demo``: the documented logins and data, idempotent, refused in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.factories import PASSWORD  # noqa: F401 - keeps factories importable for the harness


def _cli(args: list[str], db_url: str, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "FIELDLINE_DATABASE_URL": db_url, "FIELDLINE_VAR_DIR": str(tmp), **env}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_seed_demo_creates_documented_logins_once(db_url, tmp_path, client) -> None:
    r = _cli(["seed", "demo"], db_url, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "rep1@demo.test" in r.stdout
    assert "fieldline-demo" in r.stdout
    again = _cli(["seed", "demo"], db_url, tmp_path)
    assert again.returncode == 0, again.stderr
    for email in [
        "admin@demo.test",
        "manager1@demo.test",
        "manager2@demo.test",
        "rep8@demo.test",
        "admin@other.test",
        "rep1@other.test",
    ]:
        tok = await client.post(
            "/v1/auth/token",
            json={
                "email": email,
                "password": "fieldline-demo",
                "device_id": "3f1c0a52-6a0e-4c53-9b39-5d2f0c1e7a11",
            },
        )
        assert tok.status_code == 200, email
    admin = (
        await client.post(
            "/v1/auth/token",
            json={
                "email": "admin@demo.test",
                "password": "fieldline-demo",
                "device_id": "3f1c0a52-6a0e-4c53-9b39-5d2f0c1e7a11",
            },
        )
    ).json()
    h = {"Authorization": f"Bearer {admin['access_token']}"}
    customers = (await client.get("/v1/customers?limit=1", headers=h)).json()
    assert customers["total"] >= 200  # seeding twice did not duplicate: exactly one seed's worth
    assert customers["total"] == 240
    item = customers["items"][0]
    assert 30.9 < item["lat"] < 31.5
    assert 121.1 < item["lon"] < 121.9
    assert "上海市" in item["address"]
    plans = (await client.get("/v1/route-plans?limit=500", headers=h)).json()
    assert plans["total"] == 8 * 5
    m1 = (
        await client.post(
            "/v1/auth/token",
            json={
                "email": "manager1@demo.test",
                "password": "fieldline-demo",
                "device_id": "3f1c0a52-6a0e-4c53-9b39-5d2f0c1e7a12",
            },
        )
    ).json()
    team = (
        await client.get("/v1/users?role=rep", headers={"Authorization": f"Bearer {m1['access_token']}"})
    ).json()
    assert {u["email"] for u in team["items"]} == {f"rep{i}@demo.test" for i in range(1, 5)}


def test_seed_is_refused_in_production(db_url, tmp_path) -> None:
    r = _cli(["seed", "demo"], db_url, tmp_path, FIELDLINE_ENV="production", FIELDLINE_SECRET_KEY="x" * 40)
    assert r.returncode != 0
    assert "production" in (r.stderr + r.stdout)
