"""The stream read against real GStreamer servers: frame rate, bitrate, loss and the elementary stream."""

import pytest

from services.probe.stream import Depacketizer
from tests.probe.conftest import GstServer, read_sample


async def test_a_moving_picture_reads_at_its_frame_rate_and_a_live_bitrate(gst: dict[str, GstServer]) -> None:
    sample = await read_sample(gst["digest"], "moving")
    assert sample.status == 200 and sample.fps is not None and 9 <= sample.fps <= 11
    assert sample.bitrate_kbps > 200 and sample.packet_loss_pct == 0
    assert sample.elementary.startswith(b"\x00\x00\x00\x01\x67")  # the SDP's SPS first


async def test_a_black_picture_collapses_the_bitrate(gst: dict[str, GstServer]) -> None:
    sample = await read_sample(gst["none"], "black")
    assert sample.status == 200 and sample.bitrate_kbps < 30


async def test_an_unknown_mount_is_its_status_with_nothing_measured(gst: dict[str, GstServer]) -> None:
    sample = await read_sample(gst["none"], "nothere", seconds=1)
    assert sample.status == 404 and sample.packets == 0


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (bytes([0x65, 1, 2]), b"\x00\x00\x00\x01\x65\x01\x02"),  # single NAL unit
        (bytes([0x18, 0, 2, 0x67, 9, 0, 1, 0x68]), b"\x00\x00\x00\x01\x67\x09\x00\x00\x00\x01\x68"),  # STAP-A
    ],
)
def test_h264_packets_become_annex_b(payload: bytes, expected: bytes) -> None:
    depacketizer = Depacketizer("H264", ())
    depacketizer.feed(payload)
    assert bytes(depacketizer.out) == expected


def test_h264_fragments_are_joined_into_one_nal_unit() -> None:
    depacketizer = Depacketizer("H264", ())
    for payload in (bytes([0x7C, 0x85, 1]), bytes([0x7C, 0x05, 2]), bytes([0x7C, 0x45, 3])):
        depacketizer.feed(payload)
    assert bytes(depacketizer.out) == b"\x00\x00\x00\x01\x65\x01\x02\x03"
