"""The request rules both HTTP stacks share (the FastAPI middleware and ingest's fast path)."""

import pytest

from shared.middleware import BadInput, check_length, read_body, request_id


def test_a_valid_request_id_is_kept() -> None:
    assert request_id(b"abc-123:x.y_z") == b"abc-123:x.y_z"


@pytest.mark.parametrize("incoming", [None, b"", b"bad id", b"abc\n", b"x" * 129, "é".encode()])
def test_an_unsafe_or_missing_request_id_is_replaced_by_a_new_one(incoming: bytes | None) -> None:
    made = request_id(incoming)
    assert made != incoming and len(made) == 32 and made.isalnum()


def test_new_request_ids_differ() -> None:
    assert request_id(None) != request_id(None)


@pytest.mark.parametrize(("declared", "status"), [(b"101", 413), (b"ten", 400)])
def test_a_declared_length_over_the_limit_or_not_a_number_is_refused(declared: bytes, status: int) -> None:
    with pytest.raises(BadInput) as refused:
        check_length(declared, 100)
    assert refused.value.status == status


async def test_a_body_streamed_past_the_limit_is_413() -> None:
    messages = iter([{"type": "http.request", "body": b"x" * 60, "more_body": True}] * 2)

    async def receive() -> dict[str, object]:
        return next(messages)

    with pytest.raises(BadInput) as refused:
        await read_body(receive, 100)
    assert refused.value.status == 413
