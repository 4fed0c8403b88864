"""bench/fleet_sim.py against the test server: a handful of devices through a short day."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sdk_server import seed_demo_data

pytestmark = pytest.mark.anyio

SIM = Path(__file__).resolve().parents[3] / "bench" / "fleet_sim.py"


def load_sim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fleet_sim", SIM)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fleet_sim"] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(server) -> None:
    asyncio.run(seed_demo_data(server.db_url))


async def test_fleet_sim_converges_and_catches_divergence(server, demo) -> None:
    sim = load_sim()
    config, as_json = sim.parse_args(
        ["--base-url", server.url, "--devices", "4", "--minutes", "0.1", "--seed", "7"]
    )
    assert as_json is False
    config.reps = 2  # two devices per rep, so they share customers
    result = await sim.simulate(config)
    try:
        stats = result.stats
        assert result.problems == []
        assert stats["converged"] is True
        assert stats["devices"] == 4
        assert stats["reps"] == 2
        assert stats["created"] > 4
        assert stats["mutations"] >= stats["created"]
        assert stats["syncs_ok"] > 4
        assert all(not math.isnan(v) and v > 0 for v in stats["sync_ms"].values())
        assert stats["sync_ms"]["p50"] <= stats["sync_ms"]["p95"] <= stats["sync_ms"]["p99"]
        assert stats["mutations_per_s"] > 0
        assert "converged" in sim.report(stats)

        # The checks catch a device that lost a row, and a write the server does not have.
        device = result.fleet.devices[0]
        (entity, ident) = sorted(device.created)[0]
        device.client.replica.rows.pop((entity, ident))
        problems = await sim.verify(result.fleet)
        assert any("replica differs" in p and "device 0" in p for p in problems)
        device.writes[-1].fields["notes"] = "a write the server never saw"
        problems = await sim.verify(result.fleet)
        assert any("differs on the server" in p for p in problems)
    finally:
        await sim.close(result.fleet)
