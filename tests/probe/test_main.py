"""`python -m services.probe --once`: a table of every camera for the technician, and an exit code."""

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import free_port
from tests.probe.conftest import PASSWORD, USER, GstServer

ROOT = Path(__file__).resolve().parents[2]


def test_once_prints_every_camera_and_exits_1_when_one_has_trouble(tmp_path: Path, gst: dict[str, GstServer]) -> None:
    items = [
        {"id": "a", "code": "OK-1", "stream_url": gst["digest"].url("moving", with_user=True)},
        {"id": "b", "code": "LOCKED-1", "stream_url": gst["basic"].url("moving")},
        {"id": "c", "code": "DOWN-1", "stream_url": f"rtsp://127.0.0.1:{free_port()}/x"},
    ]
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"items": items}))
    creds = tmp_path / "cameras.toml"
    creds.write_text(f'[camera."OK-1"]\nusername = "{USER}"\npassword = "{PASSWORD}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "services.probe", "--once"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "200",
            "CITYCAM_PROBE_TARGETS_FILE": str(targets),
            "CITYCAM_PROBE_CREDENTIALS_FILE": str(creds),
            "CITYCAM_PROBE_CONNECT_TIMEOUT_S": "1",
            "CITYCAM_PROBE_REQUEST_TIMEOUT_S": "1",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.startswith("│")}
    assert "ok" in rows["OK-1"] and "320x240" in rows["OK-1"] and "digest" in rows["OK-1"]
    assert "rtsp_auth" in rows["LOCKED-1"] and "no_answer" in rows["DOWN-1"]
    assert "2 of 3 answered, 1 without errors" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr


def test_the_agent_imports_no_database_code() -> None:
    code = (
        "import sys, services.probe.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'asyncpg', 'alembic')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
