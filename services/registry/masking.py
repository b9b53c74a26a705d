"""Stream URLs without their credentials, and the *** that stands for a secret.

A stream URL's user:password is never stored: the URL is kept without it and the credentials only as a
hash, so a read, an export or an audit record can show that there are credentials, never what they are.
"""

from urllib.parse import urlsplit, urlunsplit

from shared.errors import ValidationFailed
from shared.models import Camera
from shared.tokens import hash_secret

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
# How a secret appears in a response, an export and the audit trail.
MASK = "***"


def split_stream_url(raw: str) -> tuple[str, str | None]:
    """The URL without user:password, and the hash of the credentials (None when there were none)."""
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationFailed(
            "stream_url is not a valid URL",
            errors=[{"loc": ["stream_url"], "msg": "not a valid URL"}],
        ) from None
    if parts.scheme.lower() not in STREAM_SCHEMES:
        raise ValidationFailed(
            "stream_url scheme must be rtsp, rtsps, http or https",
            errors=[
                {
                    "loc": ["stream_url"],
                    "msg": "scheme must be rtsp, rtsps, http or https",
                }
            ],
        )
    if not host:
        raise ValidationFailed(
            "stream_url has no host",
            errors=[{"loc": ["stream_url"], "msg": "the URL must name a host"}],
        )
    netloc = parts.netloc.rpartition("@")[2]
    clean = urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))
    credentials = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else None
    if credentials == MASK:
        # A masked URL sent back (export -> import) means "keep the stored credentials".
        return clean, MASK
    return clean, hash_secret(credentials) if credentials else None


def stream_values(raw: str | None, current_hash: str | None) -> tuple[str | None, str | None]:
    """The stored URL and credentials hash of a URL a client sent; a masked one keeps current_hash."""
    if raw is None:
        return None, None
    clean, credentials = split_stream_url(raw)
    if credentials == MASK:
        return clean, current_hash
    return clean, credentials


def mask_stream_url(url: str | None, *, has_credentials: bool) -> str | None:
    """A stored stream URL as clients see it: the credentials, if it has any, shown as ***."""
    if url is None or not has_credentials:
        return url
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{MASK}@{rest}"


def masked_stream_url(camera: Camera) -> str | None:
    """The camera's stream URL as clients see it."""
    return mask_stream_url(camera.stream_url, has_credentials=camera.stream_credentials_hash is not None)
