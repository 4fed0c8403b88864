"""Sign-in throttling against password guessing, per account and per client IP.

Every attempt is counted *before* the password is checked, with an atomic increment, so a burst
of parallel guesses cannot slip past the limit; a successful sign-in then forgets the account's
count and gives the IP its attempt back, so only failures add up. Past the limit the caller gets
``429`` problem+json ``rate_limited`` with ``Retry-After`` until the window (fixed, starting at
the first counted attempt) ends. Counts live in Redis when ``FIELDLINE_REDIS_URL`` is set, so all
API processes share them, and in process memory otherwise.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from redis.asyncio import Redis

from api.accounts.schemas import normal_email
from api.lib.errors import RateLimited
from api.observability.metrics import LOGIN_THROTTLED


class AttemptCounter(ABC):
    """Windowed counters with atomic increments."""

    @abstractmethod
    async def add(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one attempt; returns the count in the current window and seconds until it ends."""

    @abstractmethod
    async def give_back(self, key: str) -> None:
        """Take one attempt off the count (never below zero)."""

    @abstractmethod
    async def clear(self, key: str) -> None: ...


class MemoryCounter(AttemptCounter):
    """One process's counters (no awaits inside an update, so each is atomic on the event loop)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def add(self, key: str, window_s: int) -> tuple[int, int]:
        now = time.monotonic()
        count, ends = self._counts.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_s
        self._counts[key] = (count + 1, ends)
        if len(self._counts) > 100_000:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        return count + 1, max(int(ends - now + 0.999), 1)

    async def give_back(self, key: str) -> None:
        if key in self._counts:
            count, ends = self._counts[key]
            self._counts[key] = (max(count - 1, 0), ends)

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)


_ADD = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""
_GIVE_BACK = """
if (tonumber(redis.call('GET', KEYS[1]) or '0')) > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisCounter(AttemptCounter):
    """Counters shared by every process using the same Redis and prefix."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._add = redis.register_script(_ADD)
        self._give_back = redis.register_script(_GIVE_BACK)

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def add(self, key: str, window_s: int) -> tuple[int, int]:
        count, ttl = await self._add(keys=[self._key(key)], args=[window_s])
        return int(count), max(int(ttl), 1)

    async def give_back(self, key: str) -> None:
        await self._give_back(keys=[self._key(key)])

    async def clear(self, key: str) -> None:
        await self.redis.delete(self._key(key))


@dataclass(frozen=True)
class Attempt:
    account_key: str
    ip_key: str


@dataclass(frozen=True)
class LoginThrottle:
    counter: AttemptCounter
    max_failures: int
    max_failures_per_ip: int
    window_s: int

    async def attempt(self, email: str, client_ip: str | None) -> Attempt:
        """Count a sign-in attempt, or refuse it with 429 when the account or IP is over its limit."""
        digest = hashlib.sha256(normal_email(email).encode()).hexdigest()[:40]
        attempt = Attempt(account_key=f"login:account:{digest}", ip_key=f"login:ip:{client_ip or 'unknown'}")
        if self.max_failures > 0:
            count, retry_after = await self.counter.add(attempt.account_key, self.window_s)
            if count > self.max_failures:
                self._refuse("account", retry_after)
        if self.max_failures_per_ip > 0:
            count, retry_after = await self.counter.add(attempt.ip_key, self.window_s)
            if count > self.max_failures_per_ip:
                self._refuse("ip", retry_after)
        return attempt

    async def succeeded(self, attempt: Attempt) -> None:
        if self.max_failures > 0:
            await self.counter.clear(attempt.account_key)
        if self.max_failures_per_ip > 0:
            await self.counter.give_back(attempt.ip_key)

    @staticmethod
    def _refuse(scope: str, retry_after: int) -> None:
        LOGIN_THROTTLED.labels(scope).inc()
        raise RateLimited(
            "Too many failed sign-in attempts; try again later",
            headers={"Retry-After": str(retry_after)},
        )
