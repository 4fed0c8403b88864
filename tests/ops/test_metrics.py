"""/metrics: per-route request metrics, sync histograms and conflict counts, the job queue."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from api.jobs.models import Job
from api.lib.clock import utcnow
from api.observability.metrics import observe_job
from sync.push_timing import PARTS
from tests.factories import login
from tests.ops.helpers import sample


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _hlc(offset_ms: int = 0) -> str:
    return f"{int(time.time() * 1000) + offset_ms:016d}-0000-phone"


async def test_sync_push_and_pull_are_measured(client, world) -> None:
    rep = await login(client, "rep1")
    h = rep["headers"]
    pushes_before = sample("fieldline_sync_push_batch_size_count")
    sum_before = sample("fieldline_sync_push_batch_size_sum")
    read_only = {"entity": "visit", "reason": "read_only"}
    read_only_before = sample("fieldline_sync_conflicts_total", **read_only)
    forbidden_before = sample("fieldline_sync_conflicts_total", entity="route_plan", reason="forbidden")
    pulls_before = sample("fieldline_sync_pull_page_size_count")
    parts_before = {p: sample("fieldline_sync_push_seconds_count", part=p) for p in PARTS}
    vid = uuid.uuid4()
    mutations = [
        {
            "seq": 1,
            "entity": "visit",
            "id": str(vid),
            "op": "upsert",
            "hlc": _hlc(),
            "fields": {"customer_id": str(world.customers["c0"])},
        },
        {
            "seq": 2,
            "entity": "visit",
            "id": str(vid),
            "op": "upsert",
            "hlc": _hlc(1),
            "fields": {"review": {"status": "approved"}, "notes": "ok"},
        },
        {
            "seq": 3,
            "entity": "route_plan",
            "id": str(uuid.uuid4()),
            "op": "upsert",
            "hlc": _hlc(2),
            "fields": {"rep_id": str(world.users["rep1"]), "date": "2026-01-05"},
        },
    ]
    body = {"schema_version": 1, "client_id": rep["device_id"], "mutations": mutations}
    r = await client.post("/v1/sync/push", json=body, headers=h)
    assert [x["status"] for x in r.json()["results"]] == ["applied", "merged", "rejected"]
    assert sample("fieldline_sync_push_batch_size_count") == pushes_before + 1
    assert sample("fieldline_sync_push_batch_size_sum") == sum_before + 3
    # Where the push's time went: one observation of each part.
    assert {p: sample("fieldline_sync_push_seconds_count", part=p) for p in PARTS} == {
        p: n + 1 for p, n in parts_before.items()
    }
    assert sample("fieldline_sync_conflicts_total", **read_only) == read_only_before + 1
    assert (
        sample("fieldline_sync_conflicts_total", entity="route_plan", reason="forbidden")
        == forbidden_before + 1
    )
    # A retry of the same batch is answered from history and not counted as new conflicts.
    await client.post("/v1/sync/push", json=body, headers=h)
    assert sample("fieldline_sync_conflicts_total", **read_only) == read_only_before + 1
    # An invented entity name does not become a label value.
    bogus = {
        "seq": 4,
        "entity": "x" * 60,
        "id": str(uuid.uuid4()),
        "op": "upsert",
        "hlc": _hlc(3),
        "fields": {},
    }
    await client.post("/v1/sync/push", json={**body, "mutations": [bogus]}, headers=h)
    r = await client.get("/v1/sync/pull", params={"limit": 2}, headers=h)
    assert r.status_code == 200
    assert sample("fieldline_sync_pull_page_size_count") == pulls_before + 1

    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    samples = _samples(metrics.text)
    assert not any("x" * 60 in str(key) for key in samples)
    route = (("app_name", "fieldline"), ("method", "POST"), ("path", "/v1/sync/push"), ("status_code", "200"))
    assert samples[("fieldline_http_requests_total", route)] >= 3
    assert samples[("fieldline_http_request_duration_seconds_count", route)] >= 3


async def test_job_queue_depth_is_read_at_scrape_time(client, session_factory, monkeypatch, tmp_path) -> None:
    long_ago = utcnow() - timedelta(minutes=10)
    async with session_factory() as session:
        session.add_all(
            [
                Job(kind="ocr", status="queued", payload={}, run_after=long_ago),
                Job(kind="ocr", status="queued", payload={}),
                Job(kind="ocr", status="running", payload={}),
                Job(kind="rendition", status="failed", payload={}),
                Job(kind="ocr", status="done", payload={}),
            ]
        )
        await session.commit()
    samples = _samples((await client.get("/metrics")).text)
    assert samples[("fieldline_job_queue_scrape_ok", ())] == 1
    assert samples[("fieldline_jobs", (("kind", "ocr"), ("status", "queued")))] == 2
    assert samples[("fieldline_jobs", (("kind", "ocr"), ("status", "running")))] == 1
    assert samples[("fieldline_jobs", (("kind", "rendition"), ("status", "failed")))] == 1
    assert ("fieldline_jobs", (("kind", "ocr"), ("status", "done"))) not in samples
    assert 590 < samples[("fieldline_job_oldest_queued_seconds", (("kind", "ocr"),))] < 3600

    async with session_factory() as session:
        await session.execute(Job.__table__.update().values(status="done"))
        await session.commit()
    samples = _samples((await client.get("/metrics")).text)
    assert ("fieldline_jobs", (("kind", "ocr"), ("status", "queued"))) not in samples
    # Several worker processes: the scrape gathers their files, and still counts the queue.
    (tmp_path / "prometheus").mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    samples = _samples((await client.get("/metrics")).text)
    assert samples[("fieldline_job_queue_scrape_ok", ())] == 1
    assert ("fieldline_jobs", (("kind", "ocr"), ("status", "done"))) not in samples


def test_observe_job_feeds_the_duration_histogram() -> None:
    before = sample("fieldline_job_duration_seconds_count", kind="ocr", outcome="done")
    below_1s = sample("fieldline_job_duration_seconds_bucket", kind="ocr", outcome="done", le="1.0")
    observe_job("ocr", 0.8, "done")
    observe_job("ocr", 3.0, "done")
    observe_job("ocr", 1.0, "Not A Label!")
    assert sample("fieldline_job_duration_seconds_count", kind="ocr", outcome="done") == before + 2
    below_after = sample("fieldline_job_duration_seconds_bucket", kind="ocr", outcome="done", le="1.0")
    assert below_after == below_1s + 1
    assert sample("fieldline_job_duration_seconds_count", kind="ocr", outcome="other") >= 1
