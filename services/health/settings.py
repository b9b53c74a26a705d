"""Health settings: status thresholds, evaluator cadence, correlation, streaming, webhooks and retention."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HealthSettings(BaseSettings):
    """Every rule of the health service, set by CITYCAM_HEALTH_* variables."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_HEALTH_", extra="ignore")

    # Status derivation.
    offline_factor: float = Field(default=3.0, ge=1.0, le=100.0, description="offline after interval x this")
    grace_s: float = Field(default=5.0, ge=0.0, le=3600.0, description="late (degraded) after interval + this")
    min_fps: float = Field(default=5.0, ge=0.0)
    max_packet_loss_pct: float = Field(default=5.0, ge=0.0, le=100.0)
    max_temperature_c: float = Field(default=75.0)
    min_storage_free_pct: float = Field(default=5.0, ge=0.0, le=100.0)
    errors_degrade: bool = Field(default=True, description="a heartbeat listing error codes means degraded")

    # Stale-ingest guard: with at least stale_min_cameras reporting cameras and no heartbeat at all for
    # stale_after_s, the ingest path (not the cameras) is presumed down and time stops for offline checks.
    stale_after_s: float = Field(default=30.0, gt=0)
    stale_min_cameras: int = Field(default=20, ge=1)

    # Evaluator.
    evaluator_enabled: bool = True
    evaluate_every_s: float = Field(default=1.0, gt=0, le=60)
    sweep_every_s: float = Field(
        default=120.0, gt=0, le=3600, description="every camera re-derived at least this often between full passes"
    )
    leader_retry_s: float = Field(default=1.0, gt=0, le=60)
    max_changes_per_pass: int = Field(
        default=10000, ge=100, description="verdicts written per pass; more (a bulk import) spill into the next"
    )

    # Incidents: >= incident_min_cameras going offline within incident_window_s behind one gateway or in one area.
    incident_min_cameras: int = Field(default=5, ge=2)
    incident_window_s: float = Field(default=120.0, gt=0)

    # Flapping: more than flap_changes transitions within flap_window_s.
    flap_changes: int = Field(default=4, ge=1)
    flap_window_s: float = Field(default=600.0, gt=0)

    # Server-Sent Events.
    sse_keepalive_s: float = Field(default=15.0, gt=0)
    sse_queue_size: int = Field(default=1000, ge=10)

    # Webhooks.
    webhooks_enabled: bool = True
    webhook_allow_private: bool = Field(default=False, description="allow loopback/private/link-local targets")
    webhook_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="deadline of one whole attempt (DNS, connect, request, reply headers)"
    )
    webhook_dns_timeout_s: float = Field(default=2.0, gt=0, le=30, description="time limit of the DNS lookup")
    webhook_per_hook_concurrency: int = Field(default=2, ge=1, le=50, description="attempts in flight per webhook")
    webhook_max_attempts: int = Field(default=6, ge=1, le=50)
    webhook_backoff_s: float = Field(default=2.0, gt=0)
    webhook_backoff_max_s: float = Field(default=600.0, gt=0)
    # Disabled only when both hold: this many failed attempts in a row, over at least this long.
    webhook_disable_after: int = Field(default=20, ge=1, description="failed attempts in a row")
    webhook_disable_after_s: float = Field(default=900.0, ge=0, description="failing for at least this long")
    webhook_poll_s: float = Field(default=1.0, gt=0)
    webhook_batch: int = Field(default=50, ge=1, le=1000, description="attempts in flight per process")

    # Retention (services/health/retention.py): one replica at a time, by age.
    retention_enabled: bool = True
    retention_interval_s: float = Field(default=3600.0, gt=0)
    retention_batch: int = Field(default=5000, ge=100, le=1_000_000)
    # Over a year, so the longest availability window (366 days) is whole.
    retention_status_event_days: int = Field(default=400, ge=1)
    retention_incident_days: int = Field(default=400, ge=1)
    retention_delivery_days: int = Field(default=14, ge=1)
    retention_audit_days: int = Field(default=400, ge=1)

    # Prometheus service discovery: the port blackbox probes should use when a camera has only an IP.
    sd_default_port: int = Field(default=554, ge=1, le=65535)


@lru_cache
def get_health_settings() -> HealthSettings:
    """Health settings from the environment."""
    return HealthSettings()
