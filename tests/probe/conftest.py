"""Real RTSP servers for the probe tests: Debian's GStreamer RTSP server under the system Python.

`make test` installs the Debian packages first (make probe-test-deps); without them these fixtures
fail with the command to run, never skip.
"""

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.probe.rtsp import AuthMemory, Credentials, StreamAddress
from services.probe.settings import ProbeSettings
from services.probe.stream import StreamSample, read_stream
from tests.helpers import free_port

SERVER = Path(__file__).resolve().parents[2] / "citycam" / "simulator" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
INSTALL = "make probe-test-deps (as root on Debian), or apt-get install -y " + (
    "gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
    "gstreamer1.0-plugins-ugly ffmpeg"
)
USER, PASSWORD = "viewer", "s3cret"


@dataclass
class GstServer:
    """One running GStreamer RTSP server."""

    auth: str
    port: int
    process: subprocess.Popen[str]

    def url(self, mount: str, *, with_user: bool = False) -> str:
        userinfo = "***@" if with_user else ""
        return f"rtsp://{userinfo}127.0.0.1:{self.port}/{mount}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_gst(auth: str, *, port: int | None = None, address: str = "127.0.0.1", extra: int = 0) -> GstServer:
    """Start a server and wait for its ready line; fails with the install command when it cannot run."""
    port = port or free_port()
    with tempfile.TemporaryFile("w+") as err:
        try:
            process = subprocess.Popen(
                [
                    *(SYSTEM_PYTHON, str(SERVER), "--address", address, "--port", str(port), "--auth", auth),
                    *("--user", USER, "--password", PASSWORD, "--extra", str(extra)),
                ],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        except FileNotFoundError:
            pytest.fail(f"{SYSTEM_PYTHON} is missing; install the RTSP test servers: {INSTALL}")
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("{"):
            process.wait(5)
            process.stdout.close()
            err.seek(0)
            pytest.fail(f"the GStreamer RTSP server did not start ({err.read().strip()[-300:]}); install: {INSTALL}")
    assert json.loads(line)["ready"]
    return GstServer(auth, port, process)


@pytest.fixture(scope="session")
def gst() -> Iterator[dict[str, GstServer]]:
    """Three real RTSP servers, open, Basic and Digest, each with /moving, /black and /static."""
    servers: dict[str, GstServer] = {}
    try:
        for auth in ("none", "basic", "digest"):
            servers[auth] = start_gst(auth)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    """The ffmpeg executable (Debian's)."""
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.fail(f"ffmpeg is missing; install: {INSTALL}")
    return path


def settings(**overrides: object) -> ProbeSettings:
    """Probe settings with short limits, for tests."""
    values: dict[str, object] = {
        "connect_timeout_s": 1.0,
        "request_timeout_s": 1.0,
        "retry_delay_s": 0.05,
        "stream_read_s": 2.5,
        "metrics_port": 0,
    }
    values.update(overrides)
    return ProbeSettings(**values)


async def read_sample(server: GstServer, mount: str, seconds: float = 2.5) -> StreamSample:
    """A stream read of one of a real server's mounts, with the test credentials and a fresh login."""
    return await read_stream(
        StreamAddress.parse(server.url(mount)),
        credentials=Credentials(USER, PASSWORD),
        memory=AuthMemory(),
        connect_timeout=1.0,
        request_timeout=2.0,
        seconds=seconds,
    )
