"""What the tools need from Linux beyond the standard library: a parent-death signal, a private mount
view, and who holds a TCP port (read from /proc, since a second start must name the process it met)."""

import ctypes
import ctypes.util
import errno
import os
import signal
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
CLONE_NEWNS = 0x00020000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_NOSUID = 2
MS_NODEV = 4
TCP_LISTEN = "0A"


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Have the kernel send signum to this process when the thread that started it exits (Linux
    PR_SET_PDEATHSIG); exits at once when that parent is already gone (re-parented to init)."""
    parent = os.getppid()
    _check(_libc().prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    # The parent may have died between fork and prctl: then the signal never comes.
    if os.getppid() != parent or parent == 1:
        os._exit(1)


def private_mounts(binds: dict[str, str], under: str) -> None:
    """In a new mount namespace of this process (root only), mount an empty tmpfs on `under` and
    bind each source directory (value) at `under`/name (key, may hold slashes). Nothing of it is seen
    outside, and no permission on the real paths changes: a process that drops root afterwards reaches the binds
    without traversing their real parents."""
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    # Mount events must not propagate back to the host's namespace.
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    # Opened before the tmpfs (a source may lie under `under`, then hidden) and after unshare (a bind
    # from a mount of another namespace is refused).
    fds = {name: os.open(source, os.O_PATH | os.O_DIRECTORY) for name, source in binds.items()}
    _check(libc.mount(b"tmpfs", under.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=64k"), "tmpfs")
    for name, fd in fds.items():
        target = f"{under}/{name}"
        os.makedirs(target)
        source = f"/proc/self/fd/{fd}"
        _check(libc.mount(source.encode(), target.encode(), None, MS_BIND, None), f"bind {binds[name]}")
        os.close(fd)


@dataclass(frozen=True)
class PortHolder:
    """A process listening on a port, as far as /proc shows it."""

    pid: int | None
    command: str

    def describe(self) -> str:
        """The holder in a sentence's words."""
        if self.pid is None:
            return "a process this user cannot see (run as its owner or root to find it)"
        return f"pid {self.pid} ({self.command})"


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == TCP_LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def _command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    words = raw.rstrip(b"\0").decode(errors="replace").split("\0")
    text = " ".join(words)
    return text if len(text) <= 160 else text[:157] + "..."


def port_holder(port: int) -> PortHolder | None:
    """Who listens on the TCP port (any address), or None when nobody does."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return PortHolder(int(entry.name), _command_of(int(entry.name)))
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.EACCES, errno.EPERM):
                    raise
    return PortHolder(None, "")
