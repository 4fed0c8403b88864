"""Request rate limits (Litestar's ``RateLimitMiddleware``) and the store they share.

Three budgets per minute, each request counted against exactly one:
- ``auth``: ``/v1/auth/*``, per client IP for sign-in and refresh, per user for logout;
- ``sync``: ``/v1/sync/*``, per user;
- ``default``: every other API route, per user (per client IP when anonymous).
``/health``, ``/ready``, ``/metrics`` and ``/schema`` are not limited. With ``FIELDLINE_REDIS_URL``
the counts live in Redis, so every API process sees one budget; otherwise in process memory.
A refused request answers ``429`` problem+json ``rate_limited`` with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis

from api.accounts.throttle import AttemptCounter, LoginThrottle, MemoryCounter, RedisCounter
from api.settings import Settings

#: Name of the store in the app's store registry (rate limits and sign-in throttling).
LIMITS_STORE = "rate_limit"
UNLIMITED = ["^/health$", "^/ready$", "^/metrics$", "^/schema"]
BUCKET_PREFIXES = {"auth": "/v1/auth/", "sync": "/v1/sync/"}


def build_backends(settings: Settings) -> tuple[Store, AttemptCounter]:
    """The rate-limit store and the sign-in attempt counters, on one Redis client when configured."""
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        store = RedisStore(redis, namespace=f"{settings.redis_prefix}:limits", handle_client_shutdown=True)
        return store, RedisCounter(redis, f"{settings.redis_prefix}:throttle")
    return MemoryStore(), MemoryCounter()


def login_throttle(settings: Settings, counter: AttemptCounter) -> LoginThrottle:
    return LoginThrottle(
        counter=counter,
        max_failures=settings.login_max_failures,
        max_failures_per_ip=settings.login_max_failures_per_ip,
        window_s=settings.login_window_s,
    )


def caller_identity(request: Request[Any, Any, Any]) -> str:
    """The signed-in user, or the client address when there is none."""
    user = request.scope.get("user")
    user_id = getattr(user, "user_id", None)
    return f"user:{user_id}" if user_id is not None else f"ip:{get_remote_address(request)}"


def _in_bucket(bucket: str) -> Callable[[Request[Any, Any, Any]], bool]:
    prefixes = tuple(BUCKET_PREFIXES.values())

    def check(request: Request[Any, Any, Any]) -> bool:
        path = request.url.path
        if bucket == "default":
            return not path.startswith(prefixes)
        return path.startswith(BUCKET_PREFIXES[bucket])

    return check


def _identify(bucket: str) -> Callable[[Request[Any, Any, Any]], str]:
    def identify(request: Request[Any, Any, Any]) -> str:
        return f"{bucket}:{caller_identity(request)}"

    return identify


def rate_limit_middleware(settings: Settings) -> list[DefineMiddleware]:
    budgets = {
        "auth": settings.auth_rate_limit_per_minute,
        "sync": settings.sync_rate_limit_per_minute,
        "default": settings.rate_limit_per_minute,
    }
    return [
        RateLimitConfig(
            rate_limit=("minute", per_minute),
            exclude=UNLIMITED,
            identifier_for_request=_identify(bucket),
            check_throttle_handler=_in_bucket(bucket),
            store=LIMITS_STORE,
        ).middleware
        for bucket, per_minute in budgets.items()
        if per_minute > 0
    ]
