"""Webhook targets: private, odd and unresolvable URLs are refused."""

import pytest

from tests.health.hooks import HOOK
from tests.helpers import PROBLEM_JSON, bearer


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.216.34/hook",
        "https://user:pw@93.184.216.34/hook",
        "not a url at all",
    ],
)
async def test_private_and_odd_targets_are_refused(health, make_key, url) -> None:
    r = await health.post("/v1/health/webhooks", json={**HOOK, "url": url}, headers=bearer(await make_key("admin")))
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
