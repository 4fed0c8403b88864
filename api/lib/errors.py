"""Domain errors and their one mapping to ``application/problem+json`` (RFC 9457).

Services raise :class:`DomainError` subclasses; Litestar's own exceptions (validation, 404 routes,
body limits, auth) are mapped here too, so every 4xx/5xx has the same shape and a stable ``code``.
No stack trace, SQL or path ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger("fieldline.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"

_STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    410: ("gone", "Gone"),
    412: ("precondition_failed", "Precondition failed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_failed", "Validation failed"),
    429: ("rate_limited", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


class DomainError(Exception):
    """A refusal the client can act on. ``code`` is stable and machine-readable."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequest(DomainError):
    status, code, title = 400, "bad_request", "Bad request"


class ValidationFailed(DomainError):
    status, code, title = 422, "validation_failed", "Validation failed"


class Unauthenticated(DomainError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(DomainError):
    status, code, title = 410, "gone", "Gone"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class RateLimited(DomainError):
    status, code, title = 429, "rate_limited", "Too many requests"


class Unavailable(DomainError):
    status, code, title = 503, "unavailable", "Service unavailable"


def field_error(field: str | None, code: str, message: str) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message}


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"https://fieldline.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            key = item.get("key")
            message = str(item.get("message", "invalid value"))
            items.append(field_error(key if isinstance(key, str) else None, "invalid", message))
    return items


def exception_to_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The one place where exceptions become HTTP responses."""
    if isinstance(exc, DomainError):
        return problem_response(
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            errors=exc.errors,
            extra=exc.extra,
            headers=exc.headers,
        )
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        detail = str(exc.detail)
        if "malformed" in detail.lower() or ("json" in detail.lower() and not errors):
            return problem_response(
                400, "malformed_json", "Malformed JSON", "The request body is not valid JSON"
            )
        return problem_response(422, "validation_failed", "Validation failed", _clean(detail), errors=errors)
    if isinstance(exc, RecursionError) and "deserializing" in str(exc):
        return problem_response(
            400, "malformed_json", "Malformed JSON", "The request body is nested too deeply"
        )
    decode_error = _decode_cause(exc)
    if decode_error is not None:
        if isinstance(decode_error, msgspec.ValidationError):
            return problem_response(
                422,
                "validation_failed",
                "Validation failed",
                _clean(str(decode_error)),
                errors=[field_error(None, "invalid", _clean(str(decode_error)))],
            )
        return problem_response(400, "malformed_json", "Malformed JSON", "The request body is not valid JSON")
    if isinstance(exc, HTTPException):
        status = exc.status_code
        code, title = _STATUS_CODES.get(status, ("http_error", "HTTP error"))
        detail = _clean(str(exc.detail)) if exc.detail else title
        if status == 400 and "json" in detail.lower():
            code, title, detail = "malformed_json", "Malformed JSON", "The request body is not valid JSON"
        headers = dict(exc.headers or {})
        if status == 429 and "Retry-After" not in headers and "RateLimit-Reset" in headers:
            headers["Retry-After"] = headers["RateLimit-Reset"]
        return problem_response(status, code, title, detail, headers=headers or None)
    if _text_refused(exc):
        # Text the database cannot store (a NUL character): nothing was written.
        return problem_response(
            422,
            "invalid_text",
            "Invalid text",
            "The request holds text the database cannot store (a NUL character)",
        )
    if _database_unavailable(exc):
        # Pool exhausted or the database restarting: the client should come back shortly.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(
            503,
            "unavailable",
            "Service unavailable",
            "The database is busy or restarting; retry shortly",
            headers={"Retry-After": "2"},
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "Internal server error",
        "An unexpected error occurred",
    )


def _database_unavailable(exc: BaseException) -> bool:
    """A connection-pool timeout, or a connection lost/refused (not a bug in the request)."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


#: PostgreSQL's refusals of text it cannot store: ``character_not_in_repertoire`` (a NUL byte) and
#: ``untranslatable_character`` (``\u0000`` in JSON).
_TEXT_REFUSED = frozenset({"22021", "22P05"})


def _text_refused(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return False
    orig = getattr(exc.orig, "__cause__", None) or exc.orig
    return getattr(orig, "sqlstate", None) in _TEXT_REFUSED


def _decode_cause(exc: BaseException) -> msgspec.DecodeError | None:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, msgspec.DecodeError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _clean(detail: str) -> str:
    """Keep details short and free of internals."""
    return detail.splitlines()[0][:300] if detail else detail


def _problem_schema() -> Schema:
    text = Schema(type=OpenAPIType.STRING)
    item = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "field": Schema(one_of=[text, Schema(type=OpenAPIType.NULL)]),
            "code": text,
            "message": text,
        },
    )
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status", "detail", "code"],
        properties={
            "type": text,
            "title": text,
            "status": Schema(type=OpenAPIType.INTEGER),
            "detail": text,
            "code": text,
            "errors": Schema(type=OpenAPIType.ARRAY, items=item),
        },
        description="RFC 9457 problem details; `code` is stable and machine-readable",
    )


def document_problems(openapi: OpenAPI) -> None:
    """Describe error responses as they are sent: ``application/problem+json`` with a ``code``.

    Replaces the framework's generic 400 entry (a different shape) on every operation and adds the
    statuses every operation can answer (plus 413 where a body is accepted).
    """
    components = openapi.components if isinstance(openapi.components, Components) else None
    if components is None:
        return
    components.schemas = {**(components.schemas or {}), "Problem": _problem_schema()}
    problem = Reference(ref="#/components/schemas/Problem")
    for path_item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "patch", "delete"):
            operation = getattr(path_item, method, None)
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            statuses = [400, 401, 403, 404, 422, 429] + ([413] if operation.request_body else [])
            for status in statuses:
                _, title = _STATUS_CODES[status]
                responses[str(status)] = OpenAPIResponse(
                    description=title,
                    content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=problem)},
                )
            operation.responses = responses
