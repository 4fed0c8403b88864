"""The errors the SDK raises. Every one is a :class:`FieldlineError` with ``status``, ``code``, ``detail``.

``code`` is the server's problem+json ``code`` when the server answered, else one of the SDK's own
codes (``network_error``, ``not_logged_in``, ``unknown_field`` …). ``status`` is the HTTP status, or
``None`` when the error was raised on the device.
"""

from __future__ import annotations

from typing import Any

import httpx


class FieldlineError(Exception):
    """Base of every SDK error."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str = "error",
        problem: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}" if status is None else f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        #: The whole problem+json body the server sent, if any.
        self.problem = problem or {}


class RequestRejected(FieldlineError):
    """The server refused the request (4xx): retrying the same request cannot succeed."""


class ServerUnavailable(FieldlineError):
    """The server kept answering 5xx or 429 until the retries ran out."""


class NetworkError(FieldlineError):
    """The server could not be reached (or the answer was lost) until the retries ran out."""


class NotLoggedIn(FieldlineError):
    """No session on this device: call ``login`` first."""


class AuthExpired(FieldlineError):
    """The session cannot be refreshed any more (signed out, revoked or expired).

    Local data (outbox, replica, uploads) is kept: log in again and sync.
    """


def problem_from(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_from_response(response: httpx.Response) -> FieldlineError:
    """Build the typed error for a non-success response."""
    problem = problem_from(response)
    status = response.status_code
    code = str(problem.get("code") or f"http_{status}")
    detail = str(problem.get("detail") or response.reason_phrase or "request failed")
    if 400 <= status < 500 and status != 429:
        return RequestRejected(detail, status=status, code=code, problem=problem)
    return ServerUnavailable(detail, status=status, code=code, problem=problem)
