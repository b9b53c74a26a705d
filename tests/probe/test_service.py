"""One camera's checks mapped honestly to health: alive with error codes, or no heartbeat at all."""

import pytest

from services.probe.onvif import OnvifClock
from services.probe.rtsp import AuthMemory, Credentials, StreamAddress
from services.probe.schemas import ErrorCode
from services.probe.service import StreamState, heartbeat, probe_rtsp
from tests.helpers import free_port
from tests.probe.conftest import PASSWORD, USER, GstServer, settings
from tests.probe.fakecam import FakeCamera, Script

GOOD = Credentials(USER, PASSWORD)


async def _probe(url: str, credentials: Credentials | None = GOOD, **overrides: object):
    return await probe_rtsp(
        StreamAddress.parse(url), credentials=credentials, memory=AuthMemory(), settings=settings(**overrides)
    )


@pytest.mark.parametrize("auth", ["none", "basic", "digest"])
async def test_a_real_gstreamer_server_is_ok_with_codec_and_resolution(gst: dict[str, GstServer], auth: str) -> None:
    result = await _probe(gst[auth].url("moving", with_user=auth != "none"))
    assert result.alive and result.errors == ()
    assert result.video is not None and (result.video.codec, result.video.resolution) == ("H264", "320x240")
    assert result.scheme == (None if auth == "none" else auth)


async def test_a_wrong_password_is_alive_with_rtsp_auth(gst: dict[str, GstServer]) -> None:
    result = await _probe(gst["digest"].url("moving"), Credentials(USER, "wrong"))
    assert result.alive and result.errors == (ErrorCode.RTSP_AUTH,) and result.status == 401


async def test_no_credentials_is_alive_with_rtsp_auth(gst: dict[str, GstServer]) -> None:
    result = await _probe(gst["basic"].url("moving"), None)
    assert result.alive and result.errors == (ErrorCode.RTSP_AUTH,)


async def test_an_unknown_path_is_rtsp_not_found(gst: dict[str, GstServer]) -> None:
    result = await _probe(gst["none"].url("nothere"))
    assert result.alive and result.errors == (ErrorCode.RTSP_NOT_FOUND,)


@pytest.mark.parametrize("status", [503, 453])
async def test_busy_is_alive_with_rtsp_busy(status: int) -> None:
    async with FakeCamera(Script(describe_status=status)) as cam:
        result = await _probe(cam.url())
    assert result.alive and result.errors == (ErrorCode.RTSP_BUSY,)


async def test_an_http_server_on_the_port_is_alive_with_rtsp_error() -> None:
    async with FakeCamera(Script(mode="http")) as cam:
        result = await _probe(cam.url())
    assert result.alive and result.errors == (ErrorCode.RTSP_ERROR,)


async def test_a_silent_camera_is_retried_once_then_given_up() -> None:
    async with FakeCamera(Script(mode="silent")) as cam:
        result = await _probe(cam.url(), request_timeout_s=0.3)
    assert not result.alive and result.no_answer == "timeout" and result.attempts == 2
    assert cam.seen.connections == 2


async def test_a_refused_port_is_no_answer() -> None:
    result = await _probe(f"rtsp://127.0.0.1:{free_port()}/x")
    assert not result.alive and result.no_answer == "refused"


async def test_a_clock_off_by_more_than_the_limit_is_clock_skew() -> None:
    async with FakeCamera(Script(date_offset_s=7 * 3600)) as cam:
        result = await _probe(cam.url())
    assert result.alive and result.errors == (ErrorCode.CLOCK_SKEW,)


def test_a_camera_that_did_not_answer_gets_no_heartbeat() -> None:
    from services.probe.service import RtspResult

    down = RtspResult(alive=False, no_answer="timeout")
    assert heartbeat("c", down, onvif_clock=None, onvif_configured=False, stream=StreamState(), max_skew_s=60) is None


def test_onvif_findings_join_the_heartbeat_errors() -> None:
    from services.probe.service import RtspResult

    ok = RtspResult(alive=True)
    unreachable = heartbeat(
        "c", ok, onvif_clock=OnvifClock(False), onvif_configured=True, stream=StreamState(), max_skew_s=60
    )
    skewed = heartbeat(
        "c", ok, onvif_clock=OnvifClock(True, 900.0), onvif_configured=True, stream=StreamState(), max_skew_s=60
    )
    assert unreachable is not None and unreachable.errors == ["onvif_unreachable"]
    assert skewed is not None and skewed.errors == ["clock_skew"]
