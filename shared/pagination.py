"""Opaque keyset cursors and the list envelope every list endpoint returns."""

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

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
