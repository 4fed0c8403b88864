"""SpatiaLite and the GEOS/PROJ bundled with shapely/pyproj coexist in one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, sys
from api.db.migrate import upgrade
upgrade(sys.argv[1])
from api.app import create_app
from api.settings import Settings
from litestar.testing import AsyncTestClient

async def main():
    app = create_app(Settings(env="test", database_url=sys.argv[1], secret_key="k" * 40, run_worker=False))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health")).status_code == 200

asyncio.run(main())
print("ok")
"""


def test_migrate_then_serve_in_one_process_exits_cleanly(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FIELDLINE_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
