"""Request-size limits on every route, and page-size caps on every list."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from api.media.controllers import MULTIPART_OVERHEAD
from api.settings import MAX_PUSH_BYTES
from tests.factories import login


async def test_every_route_has_a_body_limit_and_only_declared_routes_raise_it(app, settings) -> None:
    limits = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler):
                for method in handler.http_methods:
                    limits[(method, route.path)] = handler.resolve_request_max_body_size()
    assert limits
    assert all(limit is not None and limit > 0 for limit in limits.values()), limits
    raised = {key: limit for key, limit in limits.items() if limit != settings.max_json_body_bytes}
    assert raised.get(("POST", "/v1/sync/push")) == MAX_PUSH_BYTES
    # Media routes take the upload limit plus room for multipart boundaries.
    assert all(limit <= settings.max_upload_bytes + MULTIPART_OVERHEAD for limit in raised.values()), raised


async def test_body_over_the_limit_is_413_problem(settings, world) -> None:
    from tests.ops.helpers import client_for

    async with client_for(settings, max_json_body_bytes=2_000) as client:
        rep = await login(client, "rep1")
        body = b'{"name": "' + b"x" * 3_000 + b'"}'
        headers = {**rep["headers"], "Content-Type": "application/json"}
        r = await client.post("/v1/customers", content=body, headers=headers)
        assert r.status_code == 413
        assert r.json()["code"] == "payload_too_large"
        # The sync push declares its own, larger limit.
        push = (
            b'{"schema_version": 1, "client_id": "'
            + rep["device_id"].encode()
            + b'", "mutations": []'
            + (b" " * 3_000)
            + b"}"
        )
        r = await client.post("/v1/sync/push", content=push, headers=headers)
        assert r.status_code == 200, r.text


async def test_every_list_caps_its_page_size_with_a_clear_error(client, world) -> None:
    admin = (await login(client, "admin"))["headers"]
    doc = (await client.get("/schema/openapi.json")).json()
    capped = []
    for path, item in doc["paths"].items():
        op = item.get("get")
        if op is None or "{" in path:
            continue
        limit = next(
            (p for p in op.get("parameters", []) if p["name"] == "limit" and p["in"] == "query"), None
        )
        if limit is None:
            continue
        assert "maximum" in limit["schema"], f"{path}: limit has no documented maximum"
        maximum = int(limit["schema"]["maximum"])
        assert (await client.get(path, params={"limit": maximum}, headers=admin)).status_code == 200, path
        r = await client.get(path, params={"limit": maximum + 1}, headers=admin)
        assert r.status_code == 422, path
        problem = r.json()
        assert problem["code"] == "validation_failed"
        assert problem["errors"][0]["field"] == "limit"
        assert str(maximum) in problem["errors"][0]["message"]
        capped.append(path)
    assert {"/v1/customers", "/v1/visits", "/v1/sync/pull", "/v1/sync/conflicts"} <= set(capped)


async def test_error_responses_are_documented_as_problems(client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    assert set(doc["components"]["schemas"]["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
        "code",
    }
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "patch", "put", "delete"}:
                continue
            for status in ("400", "401", "404", "422", "429"):
                content = op["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
