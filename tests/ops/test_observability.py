"""Request ids, the JSON access log, /health and /ready."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

from api.observability.logging import JsonFormatter, RequestIdFilter, request_id_var
from tests.factories import login
from tests.ops.helpers import captured_lines, client_for


async def test_access_line_per_request_with_the_callers_request_id(client, world) -> None:
    rep = await login(client, "rep1")
    customer = world.customers["c0"]
    with captured_lines("fieldline.access") as lines:
        r = await client.get(
            f"/v1/customers/{customer}", headers={**rep["headers"], "X-Request-ID": "phone-42.abc:1"}
        )
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "phone-42.abc:1"
    (line,) = lines
    assert line["request_id"] == "phone-42.abc:1"
    assert line["method"] == "GET"
    assert line["route"] == "/v1/customers/{item_id}"
    assert line["path"] == f"/v1/customers/{customer}"
    assert line["status"] == 200
    assert line["user_id"] == str(world.users["rep1"])
    assert line["tenant_id"] == str(world.tenant_a)
    assert 0 < line["duration_ms"] < 10_000
    assert line["level"] == "info"
    assert line["logger"] == "fieldline.access"
    assert line["ts"].endswith("Z")


async def test_requests_refused_before_a_handler_are_logged_with_fresh_ids(client, world) -> None:
    with captured_lines("fieldline.access") as lines:
        unknown = await client.get("/v1/nothing-here")
        unauthenticated = await client.get("/v1/me", headers={"X-Request-ID": "bad id with spaces"})
        oversized_id = await client.get("/health", headers={"X-Request-ID": "x" * 129})
    assert [x["status"] for x in lines] == [404, 401, 200]
    ids = [r.headers["x-request-id"] for r in (unknown, unauthenticated, oversized_id)]
    assert len(set(ids)) == 3
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)  # generated, not the caller's
    assert [x["request_id"] for x in lines] == ids
    assert lines[0]["route"] is None
    assert lines[0]["path"] == "/v1/nothing-here"
    assert lines[1]["user_id"] is None
    assert unauthenticated.json()["code"] == "unauthenticated"


def test_json_formatter_stamps_request_id_and_exceptions() -> None:
    record = logging.LogRecord("fieldline.x", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    token = request_id_var.set("req-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed here"
    assert line["request_id"] == "req-1"
    assert line["exc_type"] == "ValueError"
    assert "boom" in line["exc"]
    assert line["level"] == "error"


async def test_health_and_ready(client) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "storage": "ok"}}


async def test_not_ready_when_media_root_cannot_be_written(settings, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    async with client_for(settings, media_root=blocker / "media") as client:
        r = await client.get("/ready")
        assert (await client.get("/health")).status_code == 200
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "unavailable"
    assert body["checks"] == {"database": "ok", "storage": "unavailable"}
    assert r.headers["retry-after"] == "5"
    assert str(tmp_path) not in r.text


async def test_not_ready_when_the_database_is_unreachable(settings, tmp_path: Path) -> None:
    if settings.is_sqlite:
        broken = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/{uuid.uuid4().hex}/x.db"
    else:
        broken = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    async with client_for(settings, database_url=broken) as client:
        r = await client.get("/ready")
    assert r.status_code == 503
    assert r.json()["checks"] == {"database": "unreachable", "storage": "ok"}


async def test_ready_checks_the_s3_bucket(settings, monkeypatch) -> None:
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = {"storage": "s3", "s3_endpoint_url": endpoint, "s3_bucket": "media-ready"}
        async with client_for(settings, **s3) as client:
            missing = await client.get("/ready")
            import boto3

            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
                Bucket="media-ready"
            )
            present = await client.get("/ready")
    finally:
        server.stop()
    assert missing.status_code == 503
    assert missing.json()["checks"]["storage"] == "unreachable"
    assert present.status_code == 200, present.text
