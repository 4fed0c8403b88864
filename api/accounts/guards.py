"""Role guards. Ownership and scope are checked in services and queries, not here."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.accounts.principal import Principal
from api.lib.errors import Forbidden


def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user: Principal = connection.user
    return user


def requires_manager(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if _principal(connection).role not in {"manager", "admin"}:
        raise Forbidden("Managers and admins only")


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if _principal(connection).role != "admin":
        raise Forbidden("Admins only")


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal
