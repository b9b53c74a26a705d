"""Annotated dependencies of the ingest routes."""

from typing import Annotated

from fastapi import Depends, Request

from services.ingest.rate_limit import RateLimiter
from services.ingest.runtime import SessionBackend
from services.ingest.settings import IngestSettings, get_ingest_settings
from shared.db import SessionDep


def get_limiter(request: Request) -> RateLimiter:
    """The app's per-camera rate limiter."""
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def get_backend(
    session: SessionDep, settings: Annotated[IngestSettings, Depends(get_ingest_settings)]
) -> SessionBackend:
    """Look-ups and storage on the request's session."""
    return SessionBackend(session, settings.flush_timeout_s, settings.retry_after_s)


SettingsDep = Annotated[IngestSettings, Depends(get_ingest_settings)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
BackendDep = Annotated[SessionBackend, Depends(get_backend)]
