"""Sign-in, automatic token refresh with rotation, sign-out; tokens persisted in storage.

Refresh tokens rotate: each refresh returns a new pair and the old refresh token becomes useless
(presenting it again makes the server revoke the device's whole token family). So the new pair is
written to storage *before* it is used, and refreshes are single-flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

from fieldline_client.errors import AuthExpired, FieldlineError, NotLoggedIn, RequestRejected
from fieldline_client.hlc import WallClock
from fieldline_client.storage import StorageAdapter
from fieldline_client.transport import Http

TOKENS_KEY = "auth/tokens"
#: Refresh this long before the access token expires, rather than waiting for a 401.
EARLY_REFRESH_MS = 30_000


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    expires_at_ms: int
    user: dict[str, Any]

    def dump(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def load(cls, text: str) -> Tokens:
        return cls(**json.loads(text))


class Session:
    """Holds the tokens of the signed-in user and hands :class:`Http` a valid access token."""

    def __init__(self, http: Http, storage: StorageAdapter, wall: WallClock) -> None:
        self.http = http
        self.storage = storage
        self.wall = wall
        self.tokens: Tokens | None = None
        self._loaded = False
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        if not self._loaded:
            raw = await self.storage.get(TOKENS_KEY)
            self.tokens = Tokens.load(raw) if raw else None
            self._loaded = True

    @property
    def user(self) -> dict[str, Any] | None:
        return self.tokens.user if self.tokens else None

    def _tokens_from(self, body: dict[str, Any]) -> Tokens:
        return Tokens(
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            expires_at_ms=int(self.wall()) + int(body.get("expires_in", 0)) * 1000,
            user=body["user"],
        )

    async def request_tokens(
        self, email: str, password: str, device_id: str, device_name: str | None
    ) -> Tokens:
        body: dict[str, Any] = {
            "email": email,
            "password": password,
            "device_id": device_id,
            "platform": "python",
        }
        if device_name:
            body["device_name"] = device_name
        return self._tokens_from(await self.http.json("POST", "/v1/auth/token", json=body, auth=False))

    async def store(self, tokens: Tokens, extra: dict[str, str] | None = None) -> None:
        await self.storage.set_many({TOKENS_KEY: tokens.dump(), **(extra or {})})
        self.tokens = tokens
        self._loaded = True

    async def logout(self) -> None:
        await self.load()
        if self.tokens is not None:
            # Signing out locally must work offline too; the tokens expire anyway.
            with contextlib.suppress(FieldlineError):
                await self.http.request("POST", "/v1/auth/logout", retry=False)
        await self.forget()

    async def forget(self) -> None:
        await self.storage.delete(TOKENS_KEY)
        self.tokens = None

    # TokenSource -----------------------------------------------------------------------------
    async def access_token(self) -> str:
        await self.load()
        if self.tokens is None:
            raise NotLoggedIn("log in first", code="not_logged_in")
        if self.tokens.expires_at_ms - EARLY_REFRESH_MS <= int(self.wall()):
            await self.refresh(self.tokens.access_token)
        assert self.tokens is not None
        return self.tokens.access_token

    async def refresh(self, rejected: str) -> None:
        """Exchange the refresh token for a new pair, unless another caller already did."""
        async with self._lock:
            await self.load()
            if self.tokens is None:
                raise NotLoggedIn("log in first", code="not_logged_in")
            if self.tokens.access_token != rejected:
                return  # refreshed meanwhile by a concurrent request
            try:
                body = await self.http.json(
                    "POST",
                    "/v1/auth/refresh",
                    json={"refresh_token": self.tokens.refresh_token},
                    auth=False,
                )
            except RequestRejected as exc:
                if exc.status in (400, 401, 403):
                    await self.forget()
                    raise AuthExpired(
                        exc.detail, status=exc.status, code=exc.code, problem=exc.problem
                    ) from exc
                raise
            # Rotation: the new refresh token must be stored before anything uses it.
            await self.store(self._tokens_from(body))
