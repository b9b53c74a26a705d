"""Secrets handed to people and devices: random, shown once, stored as SHA-256 with a visible prefix.

The keys carry 256 bits of entropy, so a fast hash is enough: there is nothing to brute-force,
and a fast hash lets the ingest path authenticate without slowing down.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

API_KEY_PREFIX = "cck_"
DEVICE_TOKEN_PREFIX = "cct_"  # noqa: S105 - a public marker, not a secret
VISIBLE_PREFIX_LEN = 12


@dataclass(frozen=True)
class IssuedSecret:
    secret: str
    prefix: str
    hash: str


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a secret, as stored."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue(kind_prefix: str) -> IssuedSecret:
    """A new random secret with its visible prefix and stored hash."""
    secret = kind_prefix + secrets.token_urlsafe(32)
    return IssuedSecret(secret=secret, prefix=secret[:VISIBLE_PREFIX_LEN], hash=hash_secret(secret))


def issue_api_key() -> IssuedSecret:
    """A new API key for a person or system."""
    return issue(API_KEY_PREFIX)


def issue_device_token() -> IssuedSecret:
    """A new device token for a camera or gateway."""
    return issue(DEVICE_TOKEN_PREFIX)


def matches(secret: str, stored_hash: str) -> bool:
    """Constant-time check of a presented secret against a stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    return token
