"""Delivery: the signature, and single POSTs against real loopback receivers."""

import hashlib
import hmac

from services.health import delivery


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = b'{"type":"status"}'
    header = delivery.sign("whsec_test", body, 1700000000)
    expected = hmac.new(b"whsec_test", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
