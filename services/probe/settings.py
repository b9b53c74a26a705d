"""Probe agent settings: where citycam is, the check tiers and their time limits, scheduling, reporting."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProbeSettings(BaseSettings):
    """Every value can be overridden with CITYCAM_PROBE_*; defaults suit 10,000 cameras at 30 s on 2 cores."""

    model_config = SettingsConfigDict(env_prefix="CITYCAM_PROBE_", extra="ignore")

    # citycam, reached over HTTP only: the registry lists the cameras, ingest takes the heartbeats.
    registry_url: str = "http://127.0.0.1:8001"
    ingest_url: str = "http://127.0.0.1:8002"
    gateway_token: SecretStr | None = None
    gateway_token_file: Path | None = None
    # Cameras from a local JSON file instead of the registry (a site without a registry link, the bench).
    targets_file: Path | None = None
    refresh_every_s: float = Field(default=60.0, gt=0)

    # Camera credentials: a TOML file and/or a JSON object {"<code>" or "vendor:<name>": "user:password"}.
    credentials_file: Path | None = None
    credentials: dict[str, SecretStr] = Field(default_factory=dict)

    # The local operations port: /metrics and /healthz (0 = none).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9108, ge=0, le=65535)

    # Every interval: TCP connect, OPTIONS and DESCRIBE on one connection.
    connect_timeout_s: float = Field(default=3.0, gt=0)
    request_timeout_s: float = Field(default=3.0, gt=0)
    retries: int = Field(default=1, ge=0, le=3)
    retry_delay_s: float = Field(default=0.2, ge=0)
    # 0 = sized from the fleet: probe rate x time limit x attempts x 1.5 (see scheduler.py).
    max_concurrency: int = Field(default=0, ge=0)
    per_host_concurrency: int = Field(default=4, ge=1)
    backoff_after_failures: int = Field(default=3, ge=1)
    backoff_max_s: float = Field(default=300.0, gt=0)
    max_clock_skew_s: float = Field(default=120.0, gt=0)

    # About every 10 minutes: ONVIF GetSystemDateAndTime, for cameras with an ONVIF address.
    onvif_every_s: float = Field(default=600.0, gt=0)
    onvif_timeout_s: float = Field(default=3.0, gt=0)

    # About hourly: a short RTP read of the substream; ffmpeg only when the bitrate looks wrong.
    stream_every_s: float = Field(default=3600.0, gt=0)
    stream_read_s: float = Field(default=4.0, gt=0.5, le=60)
    stream_recheck_s: float = Field(default=300.0, gt=0)
    stream_confirm_hits: int = Field(default=2, ge=1)
    stream_min_kbps: float = Field(default=50.0, ge=0)
    stream_drop_ratio: float = Field(default=0.1, ge=0, le=1)
    stream_concurrency: int = Field(default=8, ge=1)
    ffmpeg: str = "ffmpeg"
    freeze_noise_db: float = Field(default=-30.0, le=0)

    # Heartbeats to ingest: at most batch_max_items per request, one request per batch_every_s.
    batch_max_items: int = Field(default=1000, ge=1, le=1000)
    batch_every_s: float = Field(default=1.0, gt=0)
    batch_timeout_s: float = Field(default=10.0, gt=0)
    # With no camera to report for this long, an empty batch keeps the agent's gateway alive.
    keepalive_s: float = Field(default=10.0, gt=0)

    # File descriptors kept free beyond the probes' own (logs, HTTP clients, ffmpeg pipes).
    fd_margin: int = Field(default=256, ge=16)


@lru_cache
def get_probe_settings() -> ProbeSettings:
    """Probe settings from the environment."""
    return ProbeSettings()
