"""Opaque keyset cursors and the list envelope every list endpoint returns."""

import base64
import binascii
import json
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Query
from pydantic import BaseModel

from shared.errors import BadRequest

T = TypeVar("T")

LimitQuery = Annotated[int, Query(ge=1, le=1000, description="Page size (1-1000)")]
CursorQuery = Annotated[
    str | None,
    Query(max_length=512, description="Opaque cursor from a previous page's next_cursor"),
]


class InvalidCursor(BadRequest):
    """400 for a cursor that is not one of ours (or names a position of another list)."""

    def __init__(self) -> None:
        super().__init__("the cursor is not valid; use next_cursor from a previous page")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque cursor for a keyset position."""
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None, *, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """The keyset position of a cursor; 400 when it is not one of ours."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidCursor() from None
    if not isinstance(position, dict) or set(position) != set(keys):
        raise InvalidCursor()
    return position


class Coded(Protocol):
    """A row with a unique code: cameras, gateways and areas each page by theirs."""

    @property
    def code(self) -> str: ...


C = TypeVar("C", bound=Coded)


def code_after(cursor: str | None) -> str | None:
    """The code a page starts after (None for the first page); 400 for a cursor that is not ours."""
    position = decode_cursor(cursor, keys=("code",))
    if position is None:
        return None
    if not isinstance(position["code"], str):
        raise InvalidCursor()
    return position["code"]


def code_page(rows: list[C], limit: int) -> tuple[list[C], str | None]:
    """One page of rows read with limit + 1, and the cursor of the next page (None on the last)."""
    next_cursor = encode_cursor({"code": rows[limit - 1].code}) if len(rows) > limit else None
    return rows[:limit], next_cursor
