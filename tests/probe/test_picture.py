"""Black and frozen pictures: ffmpeg on real samples, and a verdict only after repeated hits."""

import asyncio
from dataclasses import replace

from services.probe.picture import PictureHistory, check_picture
from services.probe.rtsp import AuthMemory, StreamAddress
from services.probe.schemas import ErrorCode
from services.probe.service import StreamState, probe_stream
from services.probe.stream import StreamSample
from tests.probe.conftest import GstServer, read_sample, settings


async def test_ffmpeg_finds_black_frozen_and_moving_pictures(gst: dict[str, GstServer], ffmpeg: str) -> None:
    mounts = ("black", "static", "moving")
    samples = await asyncio.gather(*(read_sample(gst["none"], mount) for mount in mounts))
    found = {}
    for mount, sample in zip(mounts, samples, strict=True):
        check = await check_picture(ffmpeg, sample, noise_db=-30, timeout=30)
        found[mount] = (check.black, check.frozen)
    assert found == {"black": (True, False), "static": (False, True), "moving": (False, False)}


async def test_a_black_stream_is_flagged_only_on_the_second_read(gst: dict[str, GstServer], ffmpeg: str) -> None:
    state = StreamState()
    address = StreamAddress.parse(gst["none"].url("black"))
    config = settings(stream_confirm_hits=2)
    kwargs = {"credentials": None, "memory": AuthMemory(), "settings": config, "ffmpeg": ffmpeg}
    await probe_stream(address, state, **kwargs)
    first = state.history.flagged
    await probe_stream(address, state, **kwargs)
    assert first is None and state.history.flagged is ErrorCode.STREAM_BLACK


async def test_a_moving_stream_is_never_sent_to_ffmpeg(gst: dict[str, GstServer]) -> None:
    state = StreamState()
    # An ffmpeg that does not exist: a healthy read never gets that far.
    kwargs = {"credentials": None, "memory": AuthMemory(), "settings": settings(), "ffmpeg": "/nonexistent/ffmpeg"}
    sample = await probe_stream(StreamAddress.parse(gst["none"].url("moving")), state, **kwargs)
    assert sample is not None and state.history.flagged is None and state.history.baseline_kbps


def _fake_sample(kbps: float) -> StreamSample:
    from services.probe.sdp import VideoInfo

    return StreamSample(200, VideoInfo(codec="H264"), 4.0, 100, 40, 10.0, kbps, 0.0, b"")


def test_the_screen_compares_with_the_cameras_own_bitrate() -> None:
    history = PictureHistory()
    history.healthy(_fake_sample(2000))
    assert history.looks_wrong(_fake_sample(150), min_kbps=50, drop_ratio=0.1)
    assert not history.looks_wrong(_fake_sample(400), min_kbps=50, drop_ratio=0.1)


def test_a_clean_finding_clears_the_hits_so_a_night_scene_is_not_frozen() -> None:
    history = PictureHistory()
    history.found(ErrorCode.STREAM_FROZEN, confirm=2)
    history.found(None, confirm=2)
    history.found(ErrorCode.STREAM_FROZEN, confirm=2)
    assert history.flagged is None and history.in_doubt


def test_a_different_finding_starts_counting_again() -> None:
    history = PictureHistory()
    history.found(ErrorCode.STREAM_BLACK, confirm=2)
    history.found(ErrorCode.STREAM_FROZEN, confirm=2)
    assert history.flagged is None
    history.healthy(replace(_fake_sample(500)))
    assert not history.in_doubt
