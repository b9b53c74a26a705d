"""Domain exceptions carry their HTTP status; one set of handlers renders problem+json (RFC 9457)."""

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://citycam.dev/problems/"


class Problem(Exception):
    """An error the client can act on; rendered as problem+json with its own status."""

    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors) if errors else None
        self.headers = headers or {}
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title


class BadRequest(Problem):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(Problem):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(Problem):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PayloadTooLarge(Problem):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaType(Problem):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class ValidationFailed(Problem):
    status, title, slug = 422, "Validation failed", "validation-failed"


class TooManyRequests(Problem):
    status, title, slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str | None = None, *, retry_after_s: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_s))})


class ServiceUnavailable(Problem):
    status, title, slug = 503, "Service unavailable", "service-unavailable"

    def __init__(self, detail: str | None = None, *, retry_after_s: int = 2) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_s))})


_STATUS_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_body(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    instance: str | None = None,
) -> dict[str, Any]:
    """The problem+json document for a status and detail."""
    title = title or _STATUS_TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    if instance:
        body["instance"] = instance
    return body


UNEXPECTED_ERROR = "an unexpected error occurred; it has been logged with the request id"


def internal_error_body() -> bytes:
    """The 500 problem every stack answers for an unhandled error (the trace goes to the log only)."""
    return _INTERNAL_ERROR_BODY


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    """A JSONResponse with the problem+json media type."""
    return JSONResponse(
        problem_body(status, detail, title=title, slug=slug, errors=errors, instance=instance),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


_INTERNAL_ERROR_BODY = json.dumps(problem_body(500, UNEXPECTED_ERROR)).encode()


def _clean_loc(loc: Sequence[Any]) -> list[Any]:
    return [part for part in loc if part not in ("body",)] or list(loc)


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as [{loc, msg}], without echoing the rejected input (it may hold secrets)."""
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": _clean_loc(err.get("loc", ())),
                "msg": str(err.get("msg", "invalid value")),
            }
        )
    return out


# SQLSTATE classes the database raises for input it cannot hold; never a 500.
_DATA_EXCEPTION_CLASS = "22"
_INTEGRITY_STATUS = {
    "23505": 409,
    "23503": 422,
    "23514": 422,
    "23502": 422,
    "23P01": 409,
}
_RETRYABLE = {
    "40001",
    "40P01",
    "55P03",
    "57014",
    "53300",
    "57P01",
    "57P02",
    "57P03",
    "08000",
    "08003",
    "08006",
}


def database_problem(exc: DBAPIError) -> Problem:
    """Map a driver error to the 4xx/503 a client can act on."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    if isinstance(exc, OperationalError) and sqlstate is None:
        return ServiceUnavailable("the database is unavailable; retry shortly")
    if sqlstate is None:
        return ServiceUnavailable("the database could not complete the request; retry shortly")
    if sqlstate in _INTEGRITY_STATUS:
        status = _INTEGRITY_STATUS[sqlstate]
        constraint = getattr(getattr(orig, "__cause__", None), "constraint_name", None)
        what = f" ({constraint})" if constraint else ""
        if status == 409:
            return Conflict(f"a record with the same unique value already exists{what}")
        return ValidationFailed(f"the value breaks a database constraint{what}")
    if sqlstate.startswith(_DATA_EXCEPTION_CLASS):
        return ValidationFailed("a value is out of range or not valid for its field")
    if sqlstate in _RETRYABLE or sqlstate.startswith("08") or sqlstate.startswith("53"):
        return ServiceUnavailable("the database is busy or unavailable; retry shortly")
    return ServiceUnavailable("the database could not complete the request; retry shortly")


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.detail,
            title=exc.title,
            slug=exc.slug,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        first_loc = errors[0]["loc"] if errors else []
        first_msg = str(errors[0]["msg"]) if errors else "invalid request"
        where = ".".join(str(p) for p in first_loc)
        return problem_response(
            422,
            f"{where}: {first_msg}" if where else first_msg,
            slug="validation-failed",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _STATUS_TITLES.get(exc.status_code, "Error")
        return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def _db(request: Request, exc: DBAPIError) -> JSONResponse:
        problem = database_problem(exc)
        log.warning(
            "database error mapped to %s: %s",
            problem.status,
            type(getattr(exc, "orig", exc)).__name__,
        )
        return problem_response(problem.status, problem.detail, title=problem.title, headers=problem.headers)

    @app.exception_handler(PoolTimeoutError)
    async def _pool(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        return problem_response(
            503,
            "the service is overloaded; retry shortly",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(OSError)
    async def _os(request: Request, exc: OSError) -> JSONResponse:
        log.warning("connection error: %s", type(exc).__name__)
        return problem_response(
            503,
            "the database is unavailable; retry shortly",
            headers={"Retry-After": "2"},
        )
