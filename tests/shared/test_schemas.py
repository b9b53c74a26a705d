"""shared.schemas.StorableDatetime: what a parser accepts and Postgres can store."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.schemas import StorableDatetime, check_storable_datetime

STORABLE = TypeAdapter(StorableDatetime)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:30:00-05:00"])
def test_a_time_outside_years_1_to_9999_in_utc_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="out of range once converted to UTC"):
        STORABLE.validate_python(text)


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=-14))),
        datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=5))),
        datetime.max.replace(tzinfo=UTC),
        datetime(1, 1, 1),
    ],
    ids=["year-1-behind-utc", "year-9999-ahead-of-utc", "max-utc", "naive"],
)
def test_a_time_within_range_in_utc_is_kept_as_given(value: datetime) -> None:
    assert check_storable_datetime(value) is value
