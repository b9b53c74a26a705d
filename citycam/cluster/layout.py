"""The cluster's ports, all on loopback, counted from one base port."""

from dataclasses import dataclass

SERVICES = ("registry", "ingest", "health")
REPLICAS = 2
DATABASE = "citycam"


@dataclass(frozen=True)
class Layout:
    """Which port is which: two Postgres servers, the proxies, then two replicas of each service."""

    base: int
    size: int = 15

    @property
    def postgres(self) -> tuple[int, int]:
        """The two Postgres servers (node a, node b)."""
        return self.base, self.base + 1

    @property
    def haproxy_rw(self) -> int:
        """haproxy to the primary: CITYCAM_DB_DIRECT_URL, and PgBouncer's server."""
        return self.base + 2

    @property
    def haproxy_ro(self) -> int:
        """haproxy to the standby: CITYCAM_DB_READ_URL."""
        return self.base + 3

    @property
    def pgbouncer(self) -> int:
        """PgBouncer (transaction mode): DATABASE_URL."""
        return self.base + 4

    def front(self, service: str) -> int:
        """haproxy's port for a service, balancing its replicas."""
        return self.base + 5 + SERVICES.index(service)

    @property
    def stats(self) -> int:
        """haproxy's statistics page."""
        return self.base + 8

    def replica(self, service: str, index: int) -> int:
        """The port of one replica (index 1 or 2)."""
        return self.base + 9 + SERVICES.index(service) * REPLICAS + (index - 1)

    def url(self, port: int) -> str:
        """The Postgres URL of the citycam database at a port."""
        return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"
