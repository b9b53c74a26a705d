"""What a heartbeat request can fail with: the device-facing refusal (Reject, with its status, problem
body, metrics reason and headers) and the storage outcomes the writer and the backends raise."""

from typing import Any

from services.ingest.schemas import encoder
from shared.errors import problem_body

Headers = list[tuple[bytes, bytes]]

UNKNOWN_TOKEN = "the device token is unknown or revoked"  # noqa: S105 - a message
NO_TOKEN = "a device token is required: Authorization: Bearer <token>"  # noqa: S105 - a message
WWW_AUTHENTICATE: Headers = [(b"www-authenticate", b"Bearer")]


class Reject(Exception):
    """A refused request: its status, problem detail, metrics reason and extra headers."""

    def __init__(
        self,
        status: int,
        detail: str,
        reason: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: Headers | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason
        self.errors = errors
        self.headers = headers or []

    def body(self) -> bytes:
        """The problem+json document."""
        return encoder.encode(problem_body(self.status, self.detail, errors=self.errors))


def unauthorized(detail: str = UNKNOWN_TOKEN) -> Reject:
    """The 401 of a missing, unknown or revoked device token."""
    return Reject(401, detail, "unauthorized", headers=WWW_AUTHENTICATE)


def unavailable(detail: str, retry_after_s: int) -> Reject:
    """The 503 a client retries after Retry-After."""
    return Reject(
        503,
        f"{detail}; retry after {retry_after_s} s",
        "unavailable",
        headers=[(b"retry-after", str(retry_after_s).encode())],
    )


def invalid(detail: str, loc: list[Any]) -> Reject:
    """The 422 of one bad value at `loc`."""
    where = ".".join(str(p) for p in loc)
    return Reject(422, f"{where}: {detail}" if where else detail, "invalid", errors=[{"loc": loc, "msg": detail}])


class Unavailable(Exception):
    """The heartbeat could not be committed now; the client should retry after a while."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class DeviceGone(Exception):
    """The device was deleted between authentication and commit."""


class Unstorable(Exception):
    """The database refused a value of this request's rows (a data error, SQLSTATE class 22): the
    request alone fails, with a 422, and is not retried."""
