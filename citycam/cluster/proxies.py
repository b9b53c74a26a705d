"""haproxy (the services' replicas and the two Postgres addresses) and PgBouncer (transaction mode), as
configuration files and child processes; haproxy is re-pointed at run time through its admin socket."""

import shutil
import socket
from pathlib import Path

from citycam.cluster.layout import DATABASE, REPLICAS, SERVICES, Layout

# Debian's packages; `make cluster-deps` installs them.
HAPROXY = "haproxy"
PGBOUNCER = "pgbouncer"

# Ingest hashes on the Authorization header: every heartbeat of one device token reaches the same
# replica, so that replica's token bucket is the camera's whole budget (the per-camera rate limit holds
# across replicas without shared state). A replica that goes away moves only its own tokens (consistent
# hashing); their buckets start full on the replica they move to.
BALANCE = {"registry": "roundrobin", "ingest": "hdr(Authorization)\n    hash-type consistent", "health": "roundrobin"}


def require(tool: str) -> str:
    """The path of a Debian tool the cluster needs, or a clear error saying how to get it."""
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin")
    if found is None:
        raise RuntimeError(
            f"{tool} is not installed: run `make cluster-deps` (as root on Debian: apt-get install {tool})"
        )
    return found


def haproxy_config(layout: Layout, state_dir: Path) -> str:
    """haproxy.cfg: a front per service over its two replicas, the primary and the standby addresses."""
    parts = [
        f"""global
    maxconn 4000
    stats socket {state_dir / "haproxy.sock"} mode 600 level admin

defaults
    timeout connect 2s
    # SSE streams and LISTEN connections stay open for hours.
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    retries 3
    option redispatch

listen stats
    mode http
    bind 127.0.0.1:{layout.stats}
    stats enable
    stats uri /
    stats refresh 1s
"""
    ]
    for service in SERVICES:
        servers = "\n".join(
            f"    server {service}-{i} 127.0.0.1:{layout.replica(service, i)} check inter 500ms fall 2 rise 1"
            for i in range(1, REPLICAS + 1)
        )
        parts.append(
            f"""frontend {service}
    mode http
    bind 127.0.0.1:{layout.front(service)}
    default_backend {service}

backend {service}
    mode http
    balance {BALANCE[service]}
    # /healthz: a replica leaves the pool when its process is gone; a database outage is the
    # service's own 503 (with Retry-After), not haproxy's.
    option httpchk GET /healthz
{servers}
"""
        )
    a, b = layout.postgres
    # pg_rw starts on node a, pg_ro on node b; failover swaps them (set server ... state).
    for name, port, active in (("pg_rw", layout.haproxy_rw, "a"), ("pg_ro", layout.haproxy_ro, "b")):
        lines = [
            f"    server {node} 127.0.0.1:{pg_port} check inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions"
            + ("" if node == active else " disabled")
            for node, pg_port in (("a", a), ("b", b))
        ]
        parts.append(f"listen {name}\n    mode tcp\n    bind 127.0.0.1:{port}\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


def haproxy_command(config: Path) -> list[str]:
    """haproxy in the foreground (-db), so it is a child we stop."""
    return [require(HAPROXY), "-db", "-f", str(config)]


def haproxy_admin(state_dir: Path, *commands: str) -> str:
    """Commands on haproxy's admin socket (the runtime API); their answers."""
    replies = []
    for command in commands:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(state_dir / "haproxy.sock"))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            replies.append(b"".join(chunks).decode().strip())
    return "\n".join(r for r in replies if r)


def point(state_dir: Path, backend: str, node: str | None) -> None:
    """Send a Postgres address (pg_rw or pg_ro) to node a or b only, or to none; its old sessions are cut."""
    commands = []
    for candidate in ("a", "b"):
        if candidate == node:
            commands.append(f"set server {backend}/{candidate} state ready")
        else:
            commands += [
                f"set server {backend}/{candidate} state maint",
                f"shutdown sessions server {backend}/{candidate}",
            ]
    haproxy_admin(state_dir, *commands)


def pgbouncer_config(layout: Layout, state_dir: Path) -> str:
    """pgbouncer.ini: transaction pooling to the primary through haproxy's pg_rw address."""
    return f"""[databases]
{DATABASE} = host=127.0.0.1 port={layout.haproxy_rw} dbname={DATABASE} user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {layout.pgbouncer}
unix_socket_dir =
auth_type = trust
auth_file = {state_dir / "userlist.txt"}
admin_users = postgres
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
; Every citycam connection sends statement_timeout at start-up, which PgBouncer cannot carry to a
; shared server connection: ignored here, the same limit is the database's default.
ignore_startup_parameters = statement_timeout,extra_float_digits
; PgBouncer 1.18 does not track prepared statements: the services run with
; CITYCAM_DB_PREPARED_STATEMENTS=false, and uniquely named statements left behind go with the server.
server_lifetime = 600
server_connect_timeout = 2
server_login_retry = 0.5
"""


def pgbouncer_command(config: Path) -> list[str]:
    """pgbouncer in the foreground."""
    return [require(PGBOUNCER), str(config)]
