"""A real RTSP server from Debian's GStreamer, serving test patterns (run with /usr/bin/python3).

    /usr/bin/python3 citycam/simulator/rtsp_server.py --port 8554 --auth digest --user u --password p

Mount points: /moving (scrolling colour bars), /black, /static (still colour bars) and /moving<N>
for --extra N more moving mounts (the bench's many cameras per server). Each mount's pipeline is
shared by its clients, so a DESCRIBE does not build an encoder. Prints one JSON line when listening.
This file runs outside the project's interpreter (python3-gi is a Debian package) and imports
nothing from the project.
"""

import argparse
import json
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

PATTERNS = {"moving": "smpte horizontal-speed=4", "black": "black", "static": "smpte75"}


def _launch(pattern: str, width: int, height: int, fps: int) -> str:
    # ultrafast + zerolatency keeps the encoder cheap; a key frame every 2 s like a camera's substream.
    return (
        f"( videotestsrc is-live=true pattern={pattern} ! video/x-raw,width={width},height={height},"
        f"framerate={fps}/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={2 * fps} "
        "bitrate=512 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth", choices=["none", "basic", "digest"], default="none")
    parser.add_argument("--user", default="viewer")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--extra", type=int, default=0, help="more moving mounts: /moving1 ... /movingN")
    args = parser.parse_args()
    if not args.address.startswith("127."):
        sys.exit("test servers listen on loopback addresses only")
    Gst.init(None)
    width, height = (int(v) for v in args.size.split("x"))
    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    server.set_backlog(1024)
    mounts = server.get_mount_points()
    names = [*PATTERNS, *(f"moving{i}" for i in range(1, args.extra + 1))]
    for name in names:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(_launch(PATTERNS.get(name, PATTERNS["moving"]), width, height, args.fps))
        factory.set_shared(True)
        if args.auth != "none":
            role = "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            factory.add_role_from_structure(Gst.Structure.new_from_string(role))
        mounts.add_factory(f"/{name}", factory)
    if args.auth != "none":
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        if args.auth == "basic":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        else:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, args.password, token)
        server.set_auth(auth)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on {args.address}:{args.port}")
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(json.dumps({"ready": True, "port": server.get_bound_port(), "mounts": names}), flush=True)
    loop.run()


if __name__ == "__main__":
    main()
