"""Ingest settings: limits, group commit, rate limit, back-pressure and retention."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    """Tuned by measurement on a 2-core machine; every value can be overridden with CITYCAM_INGEST_*."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_INGEST_", extra="ignore")

    max_single_body_bytes: int = Field(default=16 * 1024, ge=1024)
    max_batch_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_items: int = Field(default=1000, ge=1, le=10000)

    # Per-camera token bucket: sustained rate (heartbeats per second) and burst size.
    rate_per_s: float = Field(default=1.0, gt=0)
    rate_burst: float = Field(default=5.0, ge=1)

    # Group commit: flushers (one connection each) and the most rows one transaction carries.
    flushers: int = Field(default=2, ge=1, le=16)
    max_flush_rows: int = Field(default=500, ge=1, le=20000)
    # Back-pressure: rows waiting for a flush beyond this are refused with 503 at once.
    max_pending_rows: int = Field(default=8000, ge=1)
    # A request still queued (not yet taken by a flusher) after this long gets a 503: never stored.
    commit_wait_s: float = Field(default=2.0, gt=0)
    flush_timeout_s: float = Field(default=5.0, gt=0)
    reconnect_interval_s: float = Field(default=0.2, gt=0)
    connect_timeout_s: float = Field(default=1.0, gt=0)
    retry_after_s: int = Field(default=1, ge=1)

    # Token-cache misses are looked up together; unknown hashes are remembered up to this many.
    negative_cache_size: int = Field(default=50_000, ge=0)
    listener_check_interval_s: float = Field(default=5.0, gt=0)

    # Freeze the startup heap and collect generation 0 less often (off in tests sharing one process).
    gc_tuning: bool = True
    gc_gen0_threshold: int = Field(default=20_000, ge=700)

    # Retention of the daily heartbeat partitions.
    retention_days: int = Field(default=30, ge=1)
    partitions_ahead_days: int = Field(default=3, ge=1, le=60)
    retention_interval_s: float = Field(default=3600.0, gt=0)
    retention_lock_timeout_ms: int = Field(default=2000, ge=1)


@lru_cache
def get_ingest_settings() -> IngestSettings:
    """Ingest settings from the environment."""
    return IngestSettings()
