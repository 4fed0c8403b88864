"""Conditional GET: strong ETags and ``If-None-Match`` → ``304 Not Modified`` (RFC 9110 §13.1.2).

Litestar 2 sets ETag headers but does not answer ``If-None-Match`` itself.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

__all__ = ["matches_if_none_match", "not_modified", "quoted"]


def quoted(tag: str) -> str:
    """The header form of an entity tag: ``"abc"``."""
    return f'"{tag}"'


def matches_if_none_match(request: Request[Any, Any, Any], etag: str) -> bool:
    """Whether the client already holds ``etag`` (weak comparison, as the RFC asks for GET)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = quoted(etag)
    return any(part.strip().removeprefix("W/") == wanted for part in header.split(","))


def not_modified(etag: str, cache_control: str) -> Response[bytes]:
    return Response(
        content=b"", status_code=304, headers={"ETag": quoted(etag), "Cache-Control": cache_control}
    )
