"""The demo's probed district: real RTSP test servers, cameras behind a probe agent, the agent running.

Used by `citycam demo` when Debian's GStreamer RTSP server is installed (python3-gi under
/usr/bin/python3); without it the demo says how to get it and goes on without the district.
"""

import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from citycam.cli.common import console

SERVER = Path(__file__).resolve().parents[1] / "simulator" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
DISTRICT = "CGI"
# Mount and what the operations centre should see for it.
CAMERAS = (
    ("moving", "online"),
    ("moving1", "online"),
    ("moving2", "online"),
    ("black", "degraded: stream_black (after two stream reads)"),
    ("static", "degraded: stream_frozen (after two stream reads)"),
    ("nothere", "degraded: rtsp_not_found"),
)


@dataclass
class ProbedDistrict:
    """What was started, to stop it again."""

    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()  # the server's ready line was read from it


def installed() -> bool:
    """Whether the GStreamer RTSP server can run here."""
    check = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", check], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(*, registry_url: str, ingest_url: str, key: str, work: Path) -> ProbedDistrict | None:
    """Start a Digest RTSP server, register a probe gateway and its cameras, start the agent."""
    if not installed():
        console.print(
            "[yellow]no RTSP test servers here: the probed district is left out[/] (as root on Debian: "
            "apt-get install -y gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-ugly ffmpeg)"
        )
        return None
    district = ProbedDistrict()
    user, password = "viewer", secrets.token_urlsafe(12)
    port = _free_port()
    server = subprocess.Popen(
        [
            *(SYSTEM_PYTHON, str(SERVER), "--port", str(port), "--auth", "digest", "--extra", "2"),
            *("--user", user, "--password", password),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    district.processes.append(server)
    assert server.stdout is not None
    if not server.stdout.readline().startswith(b"{"):
        console.print("[yellow]the RTSP test server did not start: the probed district is left out[/]")
        district.stop()
        return None
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=registry_url, headers=headers, timeout=10) as client:
        gateway = client.post(
            "/v1/gateways",
            json={"code": f"PROBE-{DISTRICT}", "name": "Probe agent Cần Giờ", "district": DISTRICT, "kind": "probe"}
            | {"heartbeat_interval_s": 10},
        )
        if gateway.status_code == 409:
            found = client.get(f"/v1/gateways/PROBE-{DISTRICT}").json()
            gateway = client.post(f"/v1/gateways/{found['id']}/rotate-token")
            gateway_id, token = found["id"], gateway.json()["device_token"]
        else:
            gateway.raise_for_status()
            gateway_id, token = gateway.json()["id"], gateway.json()["device_token"]
        for i, (mount, _) in enumerate(CAMERAS, start=1):
            client.post(
                "/v1/cameras",
                json={
                    "code": f"{DISTRICT}-P{i:03d}",
                    "name": f"Probed camera {mount}",
                    "latitude": 10.41 + i / 1000,
                    "longitude": 106.95,
                    "district": DISTRICT,
                    "vendor": "GStreamer",
                    "stream_url": f"rtsp://127.0.0.1:{port}/{mount}",
                    "gateway_id": gateway_id,
                    "heartbeat_interval_s": 10,
                },
            )
    work.mkdir(parents=True, exist_ok=True)
    token_file, credentials = work / "probe-gateway.token", work / "probe-cameras.toml"
    for path, text in (
        (token_file, token),
        (credentials, f'[default]\nusername = "{user}"\npassword = "{password}"\n'),
    ):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
    env = dict(
        os.environ,
        CITYCAM_PROBE_REGISTRY_URL=registry_url,
        CITYCAM_PROBE_INGEST_URL=ingest_url,
        CITYCAM_PROBE_GATEWAY_TOKEN_FILE=str(token_file),
        CITYCAM_PROBE_CREDENTIALS_FILE=str(credentials),
        CITYCAM_PROBE_STREAM_EVERY_S="60",
        CITYCAM_PROBE_STREAM_RECHECK_S="20",
        CITYCAM_PROBE_METRICS_PORT="0",
    )
    agent = subprocess.Popen([sys.executable, "-m", "services.probe"], env=env, stderr=subprocess.DEVNULL)
    district.processes.append(agent)
    console.print(f"[bold]probed district {DISTRICT}[/]: {len(CAMERAS)} cameras on a real RTSP server (port {port}):")
    for i, (mount, expected) in enumerate(CAMERAS, start=1):
        console.print(f"  {DISTRICT}-P{i:03d}  /{mount:<8} {expected}")
    return district
