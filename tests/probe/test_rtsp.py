"""The RTSP client against the scripted fake camera: Digest variants, stale nonces, downgrades and
cameras that answer badly or not at all."""

import pytest

from services.probe.rtsp import (
    AuthMemory,
    Credentials,
    NoAnswer,
    NotRtsp,
    StreamAddress,
    options_and_describe,
)
from tests.helpers import free_port
from tests.probe.fakecam import FakeCamera, Script

GOOD = Credentials("admin", "pa55")


async def _describe(cam: FakeCamera, credentials: Credentials | None = GOOD, memory: AuthMemory | None = None):
    return await options_and_describe(
        StreamAddress.parse(cam.url()),
        credentials=credentials,
        memory=memory or AuthMemory(),
        connect_timeout=1.0,
        request_timeout=0.5,
    )


def test_credentials_and_the_registry_mask_are_dropped_from_the_request_url() -> None:
    address = StreamAddress.parse("rtsp://***@10.1.2.3:8554/Streaming/Channels/101?transport=tcp")
    assert (address.host, address.port) == ("10.1.2.3", 8554)
    assert address.url == "rtsp://10.1.2.3:8554/Streaming/Channels/101?transport=tcp"


def test_the_default_port_is_554_and_other_schemes_are_refused() -> None:
    assert StreamAddress.parse("rtsp://cam/live").port == 554
    with pytest.raises(ValueError, match="rtsp://"):
        StreamAddress.parse("http://cam/live")


@pytest.mark.parametrize("algorithm", ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"])
@pytest.mark.parametrize("qop", ["auth", None])
async def test_digest_variants_are_answered(algorithm: str, qop: str | None) -> None:
    async with FakeCamera(Script(auth="digest", algorithms=(algorithm,), qop=qop)) as cam:
        described = await _describe(cam)
    assert described.describe is not None and described.describe.status == 200
    assert described.scheme == "digest"


async def test_sha256_is_chosen_when_md5_is_offered_first() -> None:
    async with FakeCamera(Script(auth="digest", algorithms=("MD5", "SHA-256"))) as cam:
        await _describe(cam)
    sent = [h["authorization"] for m, h in cam.seen.requests if "authorization" in h]
    assert sent and all("algorithm=SHA-256" in value for value in sent)


async def test_digest_is_used_when_basic_is_offered_too_and_basic_is_never_sent() -> None:
    async with FakeCamera(Script(auth="both")) as cam:
        described = await _describe(cam)
    assert described.describe is not None and described.describe.status == 200
    assert not any(h.get("authorization", "").startswith("Basic") for _, h in cam.seen.requests)


async def test_a_host_that_offered_digest_never_gets_basic_later() -> None:
    memory = AuthMemory()
    async with FakeCamera(Script(auth="digest", basic_only_after=1)) as cam:
        first = await _describe(cam, memory=memory)
        memory.login(StreamAddress.parse(cam.url()), GOOD).digest = None  # as after the camera restarted
        second = await _describe(cam, memory=memory)
    assert first.describe is not None and first.describe.status == 200
    assert second.refused is not None and "downgrade" in second.refused
    assert not any(h.get("authorization", "").startswith("Basic") for _, h in cam.seen.requests)


async def test_a_stale_nonce_is_answered_again_without_calling_the_password_wrong() -> None:
    memory = AuthMemory()
    async with FakeCamera(Script(auth="digest", algorithms=("SHA-256",), nonce_uses=1)) as cam:
        await _describe(cam, memory=memory)
        again = await _describe(cam, memory=memory)  # the remembered nonce is now used up
    assert again.describe is not None and again.describe.status == 200


async def test_a_remembered_digest_session_saves_the_challenge_round_trip() -> None:
    memory = AuthMemory()
    async with FakeCamera(Script(auth="digest")) as cam:
        await _describe(cam, memory=memory)
        before = len(cam.seen.requests)
        await _describe(cam, memory=memory)
    assert len(cam.seen.requests) - before == 2  # OPTIONS and DESCRIBE, no 401 in between


async def test_a_wrong_password_ends_with_401_after_one_answer() -> None:
    async with FakeCamera(Script(auth="digest")) as cam:
        described = await _describe(cam, credentials=Credentials("admin", "wrong"))
    assert described.describe is not None and described.describe.status == 401
    assert [m for m, _ in cam.seen.requests] == ["OPTIONS", "DESCRIBE", "DESCRIBE"]


async def test_basic_works_for_a_basic_only_camera() -> None:
    async with FakeCamera(Script(auth="basic")) as cam:
        described = await _describe(cam)
    assert described.describe is not None and described.describe.status == 200 and described.scheme == "basic"


async def test_a_silent_port_times_out() -> None:
    async with FakeCamera(Script(mode="silent")) as cam:
        with pytest.raises(NoAnswer) as caught:
            await _describe(cam)
    assert caught.value.kind == "timeout"


async def test_a_reset_is_no_answer() -> None:
    async with FakeCamera(Script(mode="reset")) as cam:
        with pytest.raises(NoAnswer) as caught:
            await _describe(cam)
    assert caught.value.kind in ("reset", "closed")


async def test_a_closed_port_is_refused() -> None:
    address = StreamAddress.parse(f"rtsp://127.0.0.1:{free_port()}/x")
    with pytest.raises(NoAnswer) as caught:
        await options_and_describe(
            address, credentials=None, memory=AuthMemory(), connect_timeout=1.0, request_timeout=0.5
        )
    assert caught.value.kind == "refused"


async def test_an_http_server_on_the_rtsp_port_is_not_rtsp() -> None:
    async with FakeCamera(Script(mode="http")) as cam:
        with pytest.raises(NotRtsp, match="HTTP"):
            await _describe(cam)


async def test_busy_options_skips_describe() -> None:
    async with FakeCamera(Script(options_status=503)) as cam:
        described = await _describe(cam)
    assert described.options.status == 503 and described.describe is None


async def test_the_date_header_gives_the_clock_skew() -> None:
    async with FakeCamera(Script(date_offset_s=-3600)) as cam:
        described = await _describe(cam)
    assert described.clock_skew_s is not None and abs(described.clock_skew_s + 3600) < 2
