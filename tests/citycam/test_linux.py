"""The Linux helpers: who holds a port, and children that die with their parent."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from citycam import linux
from tests.conftest import ROOT
from tests.helpers import free_port


def test_port_holder_names_the_listening_process() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        holder = linux.port_holder(held.getsockname()[1])
    assert holder is not None
    assert holder.pid == os.getpid()
    assert "pytest" in holder.command or sys.executable in holder.command


def test_port_holder_is_none_for_a_free_port() -> None:
    assert linux.port_holder(free_port()) is None


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie waiting for init to reap it runs no more


def test_a_child_dies_when_its_parent_is_killed() -> None:
    grandchild = "import time; from citycam import linux; linux.die_with_parent(); time.sleep(120)"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time;"
            f"p = subprocess.Popen([sys.executable, '-c', {grandchild!r}]);"
            "print(p.pid, flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    parent.stdout.close()
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = not _gone(pid)
    if survived:
        os.kill(pid, signal.SIGKILL)
    assert not survived, "the child outlived its killed parent"
