"""Webhook targets: private, odd and unresolvable URLs are refused."""

import asyncio

import pytest

from services.health import targets
from shared.errors import ValidationFailed
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


@pytest.mark.parametrize(
    "url",
    [
        "http://100.64.0.1/hook",
        "http://100.127.255.254/hook",
        "http://198.18.0.1/hook",
        "http://192.0.2.10/hook",
        "http://224.0.0.1/hook",
        "http://[2001:db8::1]/hook",
    ],
)
async def test_every_address_that_is_not_globally_reachable_is_refused(health, make_key, url) -> None:
    r = await health.post("/v1/health/webhooks", json={**HOOK, "url": url}, headers=bearer(await make_key("admin")))
    assert r.status_code == 422


async def test_a_lookup_that_hangs_is_refused_within_its_limit(monkeypatch) -> None:
    async def hang(*args, **kwargs):
        await asyncio.sleep(3600)

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", hang)
    with pytest.raises(ValidationFailed) as refused:
        await targets.check_target("https://slow.example/hook", allow_private=False, dns_timeout_s=0.2)
    assert refused.value.detail == "url: the host 'slow.example' did not resolve within 0.2 s"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/***"),
        ("https://example.org:8443/hook?token=abc", "https://example.org:8443/***"),
        ("https://example.org", "https://example.org/"),
        ("http://[2606:4700::1]/x", "http://[2606:4700::1]/***"),
    ],
)
def test_reads_show_the_scheme_and_host_only(url, shown) -> None:
    assert targets.masked(url) == shown
