"""A saturated connection pool answers 503 with Retry-After, not 500."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import TimeoutError as PoolTimeout

from tests.factories import login


async def test_pool_timeout_is_503_with_retry_after(client: Any, world: Any, monkeypatch: Any) -> None:
    headers = (await login(client, "rep1"))["headers"]
    import api.resources.service as service

    async def exhausted(*args: Any, **kwargs: Any) -> Any:
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    monkeypatch.setattr(service.ResourceService, "list", exhausted)
    r = await client.get("/v1/customers", headers=headers)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "unavailable"
