"""API-key authentication and the per-permission dependencies routes declare."""

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import SessionDep
from shared.errors import Forbidden, Unauthorized
from shared.models import ApiKey
from shared.settings import get_auth_settings
from shared.tokens import bearer_token, hash_secret, matches

log = logging.getLogger(__name__)

REGISTRY_READERS = frozenset({"admin", "field", "operator"})
REGISTRY_WRITERS = frozenset({"admin", "field"})
MAINTAINERS = frozenset({"admin", "field", "operator"})
HEALTH_READERS = frozenset({"admin", "field", "operator", "monitor"})
ADMINS = frozenset({"admin"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name, role and district scope (None = every district)."""

    key_id: uuid.UUID
    name: str
    role: str
    districts: tuple[str, ...] | None

    def can_change_district(self, district: str | None) -> bool:
        """Whether this key may change a device located in district."""
        if self.role == "admin":
            return True
        if self.role not in REGISTRY_WRITERS and self.role != "operator":
            return False
        return self.districts is None or (district is not None and district in self.districts)

    def require_district(self, district: str | None) -> None:
        """Raise 403 unless this key may change a device in district."""
        if not self.can_change_district(district):
            raise Forbidden(f"this key may not change devices in district {district!r}")


async def authenticate(session: AsyncSession, authorization: str | None) -> Principal:
    """The principal behind a bearer API key; 401 for a missing, unknown or revoked key."""
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized("an API key is required: Authorization: Bearer <key>")
    key_hash = hash_secret(token)
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
    if key is None or key.revoked_at is not None or not matches(token, key.key_hash):
        raise Unauthorized("the API key is unknown or revoked")
    now = datetime.now(UTC)
    resolution = timedelta(seconds=get_auth_settings().last_used_resolution_s)
    if key.last_used_at is None or now - key.last_used_at >= resolution:
        # Throttled so a busy console does not turn every read into a write.
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return principal_of(key)


def principal_of(key: ApiKey) -> Principal:
    """The principal an API key row stands for."""
    return Principal(
        key_id=key.id,
        name=key.name,
        role=key.role,
        districts=tuple(key.districts) if key.districts is not None else None,
    )


CookieAuthenticator = Callable[[AsyncSession, Request], Awaitable[Principal]]


def require_role(roles: frozenset[str], what: str) -> Callable[[Request, AsyncSession], Awaitable[Principal]]:
    """A dependency admitting only keys whose role is in roles."""

    async def dependency(request: Request, session: SessionDep) -> Principal:
        authorization = request.headers.get("authorization")
        # A service may sign browsers in (the health console's session cookie): with no Authorization
        # header its authenticator gets the request; the key, when given, always wins.
        cookie_authenticator: CookieAuthenticator | None = getattr(request.app.state, "cookie_authenticator", None)
        if authorization is None and cookie_authenticator is not None:
            principal = await cookie_authenticator(session, request)
        else:
            principal = await authenticate(session, authorization)
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role!r} may not {what}")
        request.state.principal = principal
        return principal

    return dependency


RegistryReader = Annotated[Principal, Depends(require_role(REGISTRY_READERS, "read the registry"))]
RegistryWriter = Annotated[Principal, Depends(require_role(REGISTRY_WRITERS, "change cameras or gateways"))]
Maintainer = Annotated[Principal, Depends(require_role(MAINTAINERS, "change camera maintenance"))]
HealthReader = Annotated[Principal, Depends(require_role(HEALTH_READERS, "read health"))]
Admin = Annotated[Principal, Depends(require_role(ADMINS, "manage API keys"))]
