"""`make cluster`: start the replica setup, print where everything is, run until Ctrl-C.

SIGUSR1 (`kill -USR1 <pid>`) fails the primary over while it runs, so the failover can be watched.
"""

import os
import signal
import threading

from citycam.cluster.layout import REPLICAS, SERVICES
from citycam.cluster.stack import Cluster


def main() -> None:
    """Run the cluster in the foreground."""
    cluster = Cluster(echo=True)
    stopping = threading.Event()
    failover = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGUSR1, lambda *_: failover.set())
    try:
        cluster.start()
        layout = cluster.layout
        print(f"\ncluster ready ({cluster.settings.sync_mode} mode), data and logs in {cluster.dir}")
        for service in SERVICES:
            replicas = ", ".join(cluster.url(service, i) for i in range(1, REPLICAS + 1))
            print(f"  {service:<8} {cluster.url(service)}  (haproxy over {replicas})")
        print(f"  haproxy stats     http://127.0.0.1:{layout.stats}/")
        print(f"  DATABASE_URL      {layout.url(layout.pgbouncer)}  (PgBouncer, transaction mode)")
        print(f"  direct / read     {layout.url(layout.haproxy_rw)} / {layout.url(layout.haproxy_ro)}")
        print(f"  admin key         {cluster.admin_key}")
        print(
            "  a simulated city: CITYCAM_SIM_REGISTRY_URL={} CITYCAM_SIM_INGEST_URL={} CITYCAM_SIM_HEALTH_URL={} "
            "citycam simulate --api-key {} --cameras 500".format(
                cluster.url("registry"), cluster.url("ingest"), cluster.url("health"), cluster.admin_key
            )
        )
        print(f"  fail the primary over: kill -USR1 {os.getpid()}    stop: Ctrl-C\n", flush=True)
        while not stopping.wait(0.5):
            if failover.is_set():
                failover.clear()
                print(f"failing over: SIGKILL of postgres {cluster.primary.name}", flush=True)
                report = cluster.failover()
                print(
                    f"failover: {cluster.primary.name} promoted after {report.promoted_s:.2f} s, pg_rw re-pointed "
                    f"at {report.repointed_s:.2f} s, standby {cluster.standby.name} streaming at "
                    f"{report.standby_back_s:.2f} s",
                    flush=True,
                )
    finally:
        print("stopping the cluster", flush=True)
        cluster.stop()


main()
