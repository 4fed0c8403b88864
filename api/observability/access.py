"""Request ids and the access log: one JSON line per request.

Wraps the whole application (outside routing, authentication and rate limiting), so requests
refused before a handler runs (401, 404 on unknown paths, 429) are logged and carry an id too.
An incoming ``X-Request-ID`` made of 1-128 safe characters is kept (so a load balancer's or a
phone's id follows the request); anything else is replaced by a fresh id. The id is echoed in the
response and stamped on every log line written while serving the request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.observability.logging import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode()
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

log = logging.getLogger("fieldline.access")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == _HEADER_KEY and _SAFE_ID.match(value):
            return value.decode()
    return uuid.uuid4().hex


def access_fields(scope: Scope, status: int, duration_s: float) -> dict[str, Any]:
    user = scope.get("user")
    client = scope.get("client")
    return {
        "method": scope.get("method"),
        "route": scope.get("path_template"),
        "path": scope.get("path"),
        "status": status,
        "duration_ms": round(duration_s * 1000, 2),
        "user_id": str(user.user_id) if hasattr(user, "user_id") else None,
        "tenant_id": str(user.tenant_id) if hasattr(user, "tenant_id") else None,
        "client_ip": client[0] if client else None,
    }


class AccessLogMiddleware:
    """Outermost ASGI layer: assigns the request id, echoes it, and writes the access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != _HEADER_KEY]
                message["headers"] = [*headers, (_HEADER_KEY, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            fields = access_fields(scope, status, time.perf_counter() - started)
            level = logging.WARNING if status >= 500 else logging.INFO
            log.log(level, "%s %s %s", fields["method"], fields["path"], status, extra={"fields": fields})
            request_id_var.reset(token)
