"""Webhook targets: which URLs may receive deliveries (http(s), no credentials, public addresses only)."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from shared.errors import ValidationFailed


def _forbidden_address(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, what in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_private, "private"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_reserved, "reserved"),
    ):
        if flag:
            return f"{address} is a {what} address"
    return None


async def resolve(host: str) -> list[str]:
    """Every address host resolves to (an IP literal resolves to itself)."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def check_target(url: str, *, allow_private: bool) -> None:
    """422 unless url is an http(s) URL whose host resolves only to public addresses (or private ones are allowed)."""

    def bad(msg: str) -> ValidationFailed:
        return ValidationFailed(f"url: {msg}", errors=[{"loc": ["url"], "msg": msg}])

    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise bad("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise bad("the scheme must be http or https")
    if not host:
        raise bad("the URL must name a host")
    if parts.username is not None or parts.password is not None:
        raise bad("credentials in the URL are not allowed; authenticate with the signature")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise bad("the URL contains whitespace or control characters")
    if allow_private:
        return
    try:
        addresses = await resolve(host)
    except (OSError, UnicodeError):
        raise bad(f"the host {host!r} does not resolve") from None
    if not addresses:
        raise bad(f"the host {host!r} does not resolve")
    for address in addresses:
        problem = _forbidden_address(address)
        if problem:
            raise bad(f"{problem}; webhooks may only target public addresses")
