"""Keyset pages in code order: cameras, gateways and areas each page by their unique code."""

from typing import TypeVar

from shared.models import Area, Camera, Gateway
from shared.pagination import InvalidCursor, decode_cursor, encode_cursor

Coded = TypeVar("Coded", Camera, Gateway, Area)


def code_after(cursor: str | None) -> str | None:
    """The code a page starts after (None for the first page); 400 for a cursor that is not ours."""
    position = decode_cursor(cursor, keys=("code",))
    if position is None:
        return None
    if not isinstance(position["code"], str):
        raise InvalidCursor()
    return position["code"]


def code_page(rows: list[Coded], limit: int) -> tuple[list[Coded], str | None]:
    """One page of rows read with limit + 1, and the cursor of the next page (None on the last)."""
    next_cursor = encode_cursor({"code": rows[limit - 1].code}) if len(rows) > limit else None
    return rows[:limit], next_cursor
