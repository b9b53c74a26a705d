"""Field types shared by the services' pydantic schemas."""

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_chars(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters (such as NUL) are not allowed")
    return value


def check_storable_datetime(value: datetime) -> datetime:
    """The value, when Postgres can store it; ValueError otherwise.

    Postgres holds any instant from 4713 BC to 294276 AD, but a timestamptz travels as UTC: an instant
    whose UTC form leaves Python's years 1-9999 (0001-01-01T00:00:00+14:00, 9999-12-31T23:00:00-05:00)
    passes a parser and then fails the statement that stores it. A naive value is taken as UTC."""
    # Only an instant in the first or the last year can leave the range once its offset is applied
    # (offsets are under a day): the usual value costs one comparison (ingest checks every sent_at).
    if (value.year == 1 or value.year == 9999) and value.utcoffset():
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("the time is out of range once converted to UTC (years 1 to 9999)") from None
    return value


# Every datetime a request body may carry into a column: what a parser accepts and Postgres stores.
StorableDatetime = Annotated[datetime, AfterValidator(check_storable_datetime)]

DeviceCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"),
]
# The pattern is also used alone, by the CLI's area-file parser, which checks rows before any API call.
AREA_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,31}$"
AreaCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=AREA_CODE_PATTERN)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_chars),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    AfterValidator(_no_control_chars),
]
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000),
    AfterValidator(_no_control_chars),
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_no_control_chars),
]


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
