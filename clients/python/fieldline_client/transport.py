"""HTTP with retries: exponential backoff with full jitter, ``Retry-After``, typed errors.

Network errors, 5xx and 429 are retried; any other 4xx raises :class:`RequestRejected` at once. A 401
on an authenticated call triggers one token refresh (see :mod:`fieldline_client.auth`) and a retry.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from fieldline_client.errors import (
    AuthExpired,
    NetworkError,
    NotLoggedIn,
    RequestRejected,
    error_from_response,
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class RetryPolicy:
    """``attempts`` tries in all; the n-th wait is uniform in ``[0, min(cap, base * 2**n)]`` seconds
    (full jitter), and never shorter than the server's ``Retry-After``."""

    attempts: int = 6
    base: float = 0.2
    cap: float = 20.0
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        backoff = self.rng.uniform(0.0, min(self.cap, self.base * (2**attempt)))
        return max(backoff, retry_after or 0.0)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (both the delta-seconds and the HTTP-date forms)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class TokenSource(Protocol):
    """What :class:`Http` needs from the session: a bearer token, and a refresh after a 401."""

    async def access_token(self) -> str: ...

    async def refresh(self, rejected: str) -> None: ...


class Http:
    """One ``httpx.AsyncClient`` for a base URL, with the retry and auth rules above."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.tokens: TokenSource | None = None
        self.client = httpx.AsyncClient(base_url=self.base_url, transport=transport, timeout=timeout)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        auth: bool = True,
        retry: bool = True,
        ok: Callable[[httpx.Response], bool] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response (or one ``ok`` accepts), else raises."""
        attempt = 0
        refreshed = False
        base_headers = dict(kwargs.pop("headers", None) or {})
        while True:
            headers = dict(base_headers)
            token = ""
            if auth:
                if self.tokens is None:
                    raise NotLoggedIn("log in first", code="not_logged_in")
                token = await self.tokens.access_token()
                headers["Authorization"] = f"Bearer {token}"
            try:
                response = await self.client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                attempt += 1
                if not retry or attempt >= self.retry.attempts:
                    raise NetworkError(f"{method} {url}: {type(exc).__name__}", code="network_error") from exc
                await self.retry.sleep(self.retry.delay(attempt))
                continue
            if response.is_success or (ok is not None and ok(response)):
                return response
            if response.status_code == 401 and auth and self.tokens is not None:
                if not refreshed:
                    refreshed = True
                    await self.tokens.refresh(token)
                    continue
                error = error_from_response(response)
                raise AuthExpired(error.detail, status=401, code=error.code, problem=error.problem)
            error = error_from_response(response)
            if isinstance(error, RequestRejected):
                raise error
            attempt += 1
            if not retry or attempt >= self.retry.attempts or response.status_code not in RETRY_STATUSES:
                raise error
            await self.retry.sleep(self.retry.delay(attempt, retry_after_seconds(response)))

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        return (await self.request(method, url, **kwargs)).json()
