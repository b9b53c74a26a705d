"""Settings of `make cluster` (the services never read them)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import PROJECT_ROOT

SyncMode = Literal["block", "degrade"]


class ClusterSettings(BaseSettings):
    """Where the cluster lives, its ports, and what a 202 means while the standby is down."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_CLUSTER_", extra="ignore")

    dir: Path = PROJECT_ROOT / ".data" / "cluster"
    # 15 consecutive loopback ports from here (see citycam/cluster/layout.py).
    base_port: int = Field(default=55400, ge=1024, le=65535 - 15)
    # block: no standby, no commit (a 202 is always on two servers; heartbeats get 503 meanwhile).
    # degrade: after degrade_after_s without a streaming standby the primary commits alone.
    sync_mode: SyncMode = "block"
    degrade_after_s: float = Field(default=3.0, gt=0)


@lru_cache
def get_cluster_settings() -> ClusterSettings:
    """Cluster settings from the environment."""
    return ClusterSettings()
