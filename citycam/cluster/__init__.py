"""`make cluster`: the replica setup on one machine (issue 14, items 1-3 and 7).

Two Postgres servers from the embedded binaries (a primary and a synchronous streaming standby), haproxy
in front of them (the direct and the read address) and of two replicas of each service, PgBouncer in
transaction mode between the services and the primary, and a failover that re-points haproxy.
"""
