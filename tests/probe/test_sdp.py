"""Codec, resolution, fps and control URL from the SDPs cameras send."""

from services.probe.sdp import h264_sps_dimensions, parse_sdp

GSTREAMER = """v=0
o=- 9355581313979124696 1 IN IP4 127.0.0.1
s=Session streamed with GStreamer
a=control:*
m=video 0 RTP/AVP 96
a=rtpmap:96 H264/90000
a=framerate:10
a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAFdoFB+wFqDAwNSgAAAMACAAAAwCkeLF1,aM48gA==;level-asymmetry=1
a=control:stream=0
"""
HIKVISION_LIKE = """v=0
s=Media Presentation
m=video 0 RTP/AVP 96
a=rtpmap:96 H265/90000
a=framesize:96 2560-1440
a=control:rtsp://10.0.0.5:554/Streaming/Channels/101/trackID=1
m=audio 0 RTP/AVP 8
a=rtpmap:8 PCMA/8000
a=control:trackID=2
"""


def test_gstreamer_h264_resolution_comes_from_the_sps() -> None:
    video = parse_sdp(GSTREAMER, "rtsp://127.0.0.1:8554/moving/")
    assert (video.codec, video.resolution, video.fps) == ("H264", "320x240", 10.0)
    assert video.control == "rtsp://127.0.0.1:8554/moving/stream=0"


def test_framesize_gives_the_resolution_and_an_absolute_control_is_kept() -> None:
    video = parse_sdp(HIKVISION_LIKE, "rtsp://10.0.0.5:554/Streaming/Channels/101")
    assert (video.codec, video.resolution, video.fps) == ("H265", "2560x1440", None)
    assert video.control == "rtsp://10.0.0.5:554/Streaming/Channels/101/trackID=1"


def test_axis_x_dimensions_and_a_session_level_framerate() -> None:
    sdp = "v=0\na=framerate:12.5\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=x-dimensions:1280,720\n"
    video = parse_sdp(sdp, "rtsp://cam/axis-media/media.amp")
    assert (video.resolution, video.fps, video.control) == ("1280x720", 12.5, "rtsp://cam/axis-media/media.amp")


def test_a_relative_control_is_joined_under_a_base_without_slash() -> None:
    sdp = "m=video 0 RTP/AVP 26\na=rtpmap:26 JPEG/90000\na=control:trackID=0\n"
    assert parse_sdp(sdp, "rtsp://cam:554/ch1").control == "rtsp://cam:554/ch1/trackID=0"


def test_an_sdp_without_video_has_nothing() -> None:
    video = parse_sdp("v=0\nm=audio 0 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n", "rtsp://cam/a")
    assert video.codec is None and video.control is None


def test_sps_with_cropping_gives_1080_not_1088() -> None:
    # A 1920x1080 High-profile SPS (ffmpeg/x264 output): coded as 1088 lines, cropped by 8.
    sps = bytes.fromhex("6764002aacd940780227e5c05a808080a0000003002000000781e30632c0")
    assert h264_sps_dimensions(sps) == (1920, 1080)


def test_a_truncated_sps_gives_nothing() -> None:
    assert h264_sps_dimensions(bytes.fromhex("6742c0")) is None
