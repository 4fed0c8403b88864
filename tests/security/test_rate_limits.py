"""Per-user rate limits, sign-in throttling, and one shared budget across processes via Redis."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from tests.factories import PASSWORD, login
from tests.ops.helpers import client_for, sample

REDIS_URL = "redis://127.0.0.1:6379/0"


def _token_body(email: str, password: str) -> dict[str, str]:
    return {"email": email, "password": password, "device_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, email))}


def _assert_rate_limited(r, *, max_retry_after: int) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "rate_limited"
    assert body["status"] == 429
    assert 1 <= int(r.headers["retry-after"]) <= max_retry_after


async def _default_budget_is_per_user_and_ops_routes_are_not_limited(settings) -> None:
    async with client_for(settings, rate_limit_per_minute=3) as client:
        rep1 = await login(client, "rep1")
        rep2 = await login(client, "rep2")
        for _ in range(3):
            assert (await client.get("/v1/me", headers=rep1["headers"])).status_code == 200
        r = await client.get("/v1/customers", headers=rep1["headers"])
        _assert_rate_limited(r, max_retry_after=60)
        assert r.headers["ratelimit-remaining"] == "0"
        assert (await client.get("/v1/me", headers=rep2["headers"])).status_code == 200
        # Sync has its own budget.
        assert (await client.get("/v1/sync/info", headers=rep1["headers"])).status_code == 200
        for path in ("/health", "/ready", "/metrics", "/schema/openapi.json") * 2:
            assert (await client.get(path)).status_code == 200, path


async def _sync_budget_is_per_user(settings) -> None:
    async with client_for(settings, sync_rate_limit_per_minute=2) as client:
        rep1 = await login(client, "rep1")
        rep2 = await login(client, "rep2")
        for _ in range(2):
            assert (await client.get("/v1/sync/info", headers=rep1["headers"])).status_code == 200
        _assert_rate_limited(await client.get("/v1/sync/pull", headers=rep1["headers"]), max_retry_after=60)
        assert (await client.get("/v1/sync/info", headers=rep2["headers"])).status_code == 200
        assert (await client.get("/v1/me", headers=rep1["headers"])).status_code == 200


async def _auth_budget_is_per_client_address(settings) -> None:
    async with client_for(settings, auth_rate_limit_per_minute=3) as client:
        assert (
            await client.post("/v1/auth/token", json=_token_body("rep1@test.example", PASSWORD))
        ).status_code == 200
        assert (
            await client.post("/v1/auth/token", json=_token_body("rep1@test.example", "wrong"))
        ).status_code == 401
        r = await client.post("/v1/auth/refresh", json={"refresh_token": "nope"})
        assert r.status_code == 401
        r = await client.post("/v1/auth/token", json=_token_body("rep2@test.example", PASSWORD))
        _assert_rate_limited(r, max_retry_after=60)


async def _sign_in_throttled_per_account_even_with_the_right_password(settings) -> None:
    before = sample("fieldline_login_throttled_total", scope="account")
    async with client_for(settings, login_max_failures=3, auth_rate_limit_per_minute=0) as client:
        for _ in range(3):
            r = await client.post("/v1/auth/token", json=_token_body("rep1@test.example", "guess"))
            assert r.status_code == 401
            assert r.json()["code"] == "invalid_credentials"
        r = await client.post("/v1/auth/token", json=_token_body("REP1@test.example", PASSWORD))
        _assert_rate_limited(r, max_retry_after=settings.login_window_s)
        assert sample("fieldline_login_throttled_total", scope="account") == before + 1
        # Another account from the same address is not affected...
        assert (
            await client.post("/v1/auth/token", json=_token_body("rep2@test.example", PASSWORD))
        ).status_code == 200
        # ...and a successful sign-in forgets earlier failures.
        for password in ("guess", "guess", PASSWORD, "guess", "guess", "guess"):
            r = await client.post("/v1/auth/token", json=_token_body("rep3@test.example", password))
            assert r.status_code == (200 if password == PASSWORD else 401)
        _assert_rate_limited(
            await client.post("/v1/auth/token", json=_token_body("rep3@test.example", "guess")),
            max_retry_after=settings.login_window_s,
        )


async def _sign_in_throttled_per_address_across_accounts(settings) -> None:
    before = sample("fieldline_login_throttled_total", scope="ip")
    overrides = {"login_max_failures": 100, "login_max_failures_per_ip": 4, "auth_rate_limit_per_minute": 0}
    async with client_for(settings, **overrides) as client:
        # Successful sign-ins do not use up the address's budget.
        for _ in range(5):
            assert (
                await client.post("/v1/auth/token", json=_token_body("rep1@test.example", PASSWORD))
            ).status_code == 200
        for i in range(4):
            r = await client.post("/v1/auth/token", json=_token_body(f"nobody{i}@test.example", "x"))
            assert r.status_code == 401
        r = await client.post("/v1/auth/token", json=_token_body("rep2@test.example", PASSWORD))
        _assert_rate_limited(r, max_retry_after=settings.login_window_s)
    assert sample("fieldline_login_throttled_total", scope="ip") == before + 1


async def _parallel_guesses_cannot_slip_past_the_limit(settings) -> None:
    async with client_for(settings, login_max_failures=3, auth_rate_limit_per_minute=0) as client:
        responses = await asyncio.gather(
            *(
                client.post("/v1/auth/token", json=_token_body("rep1@test.example", f"g{i}"))
                for i in range(12)
            )
        )
    assert sorted(r.status_code for r in responses) == [401] * 3 + [429] * 9


async def test_request_budgets_per_user_per_route_group(settings, world) -> None:
    await _default_budget_is_per_user_and_ops_routes_are_not_limited(settings)
    await _sync_budget_is_per_user(settings)
    await _auth_budget_is_per_client_address(settings)


async def test_sign_in_throttling(settings, world) -> None:
    await _sign_in_throttled_per_account_even_with_the_right_password(settings)
    await _sign_in_throttled_per_address_across_accounts(settings)
    await _parallel_guesses_cannot_slip_past_the_limit(settings)


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


async def test_two_app_processes_share_one_budget_through_redis(settings, world) -> None:
    redis = _redis_or_skip()
    prefix = f"fieldline-test-{uuid.uuid4().hex[:12]}"
    shared = {
        "redis_url": REDIS_URL,
        "redis_prefix": prefix,
        "rate_limit_per_minute": 4,
        "login_max_failures": 3,
        "auth_rate_limit_per_minute": 0,
    }
    try:
        async with client_for(settings, **shared) as a, client_for(settings, **shared) as b:
            rep1 = await login(a, "rep1")
            for c in (a, b, a, b):
                assert (await c.get("/v1/me", headers=rep1["headers"])).status_code == 200
            _assert_rate_limited(await a.get("/v1/me", headers=rep1["headers"]), max_retry_after=60)
            _assert_rate_limited(await b.get("/v1/me", headers=rep1["headers"]), max_retry_after=60)
            # Sign-in failures add up across both, even when sent at once.
            guesses = await asyncio.gather(
                *(c.post("/v1/auth/token", json=_token_body("rep2@test.example", "g")) for c in (a, b) * 4)
            )
            assert sorted(r.status_code for r in guesses) == [401] * 3 + [429] * 5
            r = await b.post("/v1/auth/token", json=_token_body("rep2@test.example", PASSWORD))
            _assert_rate_limited(r, max_retry_after=settings.login_window_s)
        assert redis.keys(f"{prefix}:limits:*")
        assert redis.keys(f"{prefix}:throttle:login:account:*")
        # Without Redis each process counts alone: the same traffic passes.
        local = {k: v for k, v in shared.items() if k not in {"redis_url", "redis_prefix"}}
        async with client_for(settings, **local) as a, client_for(settings, **local) as b:
            rep1 = await login(a, "rep1")
            for c in (a, b, a, b, a, b):
                assert (await c.get("/v1/me", headers=rep1["headers"])).status_code == 200
    finally:
        with contextlib.suppress(Exception):
            keys = redis.keys(f"{prefix}:*")
            if keys:
                redis.delete(*keys)
        redis.close()
