"""A bad network on demand, for testing an app's offline behaviour.

:class:`NetworkSimulator` wraps an ``httpx`` transport. Switch it ``online = False`` to put the
device offline (every request fails to connect), or give it probabilities to drop requests at
random *before* they reach the server (the server never sees them) or *after* the server handled
them (the answer is lost: the case that makes retries dangerous without idempotency).

    net = NetworkSimulator(seed=7, drop_before=0.2, drop_after=0.2)
    client = FieldlineClient(url, MemoryStorage(), transport=net)
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence

import httpx

#: A rule sees each request and answers ``"before"`` / ``"after"`` to drop it there, else ``None``.
Rule = Callable[[httpx.Request], str | None]


class NetworkSimulator(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        seed: int | None = None,
        drop_before: float = 0.0,
        drop_after: float = 0.0,
        paths: Sequence[str] | None = ("/v1/sync/",),
        rules: Sequence[Rule] = (),
    ) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.online = True
        self.rng = random.Random(seed)
        self.drop_before = drop_before
        self.drop_after = drop_after
        #: Random drops apply only to paths starting with one of these (``None``: every path).
        self.paths = tuple(paths) if paths is not None else None
        self.rules = list(rules)
        #: Counts of ``sent``, ``offline``, ``dropped_before`` and ``dropped_after`` requests, and of
        #: answers by class (``2xx``, ``4xx``, ``5xx`` …).
        self.stats: Counter[str] = Counter()

    def _random_faults(self, request: httpx.Request) -> bool:
        return self.paths is None or any(request.url.path.startswith(p) for p in self.paths)

    def _decide(self, request: httpx.Request) -> str | None:
        for rule in self.rules:
            verdict = rule(request)
            if verdict:
                return verdict
        if self._random_faults(request):
            roll = self.rng.random()
            if roll < self.drop_before:
                return "before"
            if roll < self.drop_before + self.drop_after:
                return "after"
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.online:
            self.stats["offline"] += 1
            raise httpx.ConnectError("simulated: offline", request=request)
        verdict = self._decide(request)
        if verdict == "before":
            self.stats["dropped_before"] += 1
            raise httpx.ConnectError("simulated: request lost", request=request)
        response = await self.inner.handle_async_request(request)
        if verdict == "after":
            await response.aread()
            await response.aclose()
            self.stats["dropped_after"] += 1
            raise httpx.ReadError("simulated: answer lost", request=request)
        self.stats["sent"] += 1
        self.stats[f"{response.status_code // 100}xx"] += 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
