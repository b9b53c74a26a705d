"""Console sign-in: an API key exchanged for a session cookie, stored only as its SHA-256.

Writes made with the cookie carry X-CSRF-Token, an HMAC of the session token the page reads from
GET /v1/console/session: another site can make the browser send the cookie (SameSite=Strict already
stops that in current browsers) but cannot read the token, so it cannot forge the header.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.health.console.settings import get_console_settings
from shared.auth import Principal, authenticate, principal_of
from shared.errors import Forbidden, Unauthorized
from shared.models import ApiKey, ConsoleSession
from shared.tokens import hash_secret

COOKIE = "citycam_console"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Ended and expired sessions are kept this long (an audit of who was signed in), then deleted.
KEEP_ENDED = timedelta(days=7)


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    token: str
    csrf_token: str
    expires_at: datetime


def csrf_for(token: str) -> str:
    """The CSRF token of a session token."""
    return hmac.new(token.encode(), b"citycam-console-csrf", hashlib.sha256).hexdigest()


async def sign_in(session: AsyncSession, *, api_key: str) -> SignedIn:
    """A new session for a valid API key; 401 for an unknown or revoked one."""
    principal = await authenticate(session, f"Bearer {api_key}")
    now = datetime.now(UTC)
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now - KEEP_ENDED))
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=get_console_settings().session_ttl_s)
    session.add(ConsoleSession(token_hash=hash_secret(token), key_id=principal.key_id, expires_at=expires_at))
    await session.flush()
    return SignedIn(principal=principal, token=token, csrf_token=csrf_for(token), expires_at=expires_at)


async def _live(session: AsyncSession, token: str | None) -> tuple[ConsoleSession, ApiKey]:
    if not token or len(token) > 128:
        raise Unauthorized("sign in: POST /v1/console/session, or send Authorization: Bearer <key>")
    row = (
        await session.execute(
            select(ConsoleSession, ApiKey)
            .join(ApiKey, ApiKey.id == ConsoleSession.key_id)
            .where(ConsoleSession.token_hash == hash_secret(token))
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("the console session is unknown; sign in again")
    console, key = row[0], row[1]
    if console.ended_at is not None or console.expires_at <= datetime.now(UTC) or key.revoked_at is not None:
        raise Unauthorized("the console session has ended; sign in again")
    return console, key


async def current(session: AsyncSession, *, token: str | None) -> SignedIn:
    """The signed-in session of a cookie token; 401 when there is none."""
    console, key = await _live(session, token)
    assert token is not None  # _live refused a missing one
    return SignedIn(principal=principal_of(key), token=token, csrf_token=csrf_for(token), expires_at=console.expires_at)


async def sign_out(session: AsyncSession, *, token: str | None) -> None:
    """End the session now (server-side: the cookie no longer signs anyone in)."""
    console, _ = await _live(session, token)
    await session.execute(
        update(ConsoleSession).where(ConsoleSession.id == console.id).values(ended_at=datetime.now(UTC))
    )


def check_csrf(request: Request, token: str) -> None:
    """403 unless a write made with the cookie carries the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_for(token).encode()):
        raise Forbidden(f"a write with the console cookie needs the {CSRF_HEADER} header of GET /v1/console/session")


async def cookie_principal(session: AsyncSession, request: Request) -> Principal:
    """The principal of the request's console cookie (the app's cookie authenticator for every route)."""
    token = request.cookies.get(COOKIE)
    _, key = await _live(session, token)
    assert token is not None
    check_csrf(request, token)
    return principal_of(key)
