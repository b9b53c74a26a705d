"""Webhook targets: which URLs may receive deliveries, and the one address a delivery connects to.

A target is checked when it is created or re-enabled and again before every attempt, and the attempt
connects to the address that check resolved (never a second lookup of its own), so a name that
rebinds to a private address between the check and the connection cannot slip through. Only
addresses that are globally reachable (`ip.is_global`) pass: loopback, private, link-local, shared
(100.64.0.0/10), benchmarking, documentation and reserved ranges are refused unless
CITYCAM_HEALTH_WEBHOOK_ALLOW_PRIVATE is set. The name is resolved under a time limit.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from shared.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to say (`host` for Host and TLS SNI)."""

    url: str
    scheme: str
    host: str
    port: int | None
    address: IPAddress

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (the path and query unchanged)."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{literal}:{self.port}" if self.port is not None else literal
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def host_header(self) -> str:
        """The Host header the receiver expects: the name (and port) as the URL gave them."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port is not None else host


def _bad(msg: str) -> ValidationFailed:
    return ValidationFailed(f"url: {msg}", errors=[{"loc": ["url"], "msg": msg}])


def _plain(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def refusal(address: IPAddress) -> str | None:
    """Why a delivery may not go to this address (None when it is globally reachable)."""
    ip = _plain(address)
    if ip.is_global and not ip.is_multicast:
        return None
    for flag, what in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
    ):
        if flag:
            return f"{address} is a {what} address"
    return f"{address} is not a globally reachable address"


def parse(url: str) -> SplitResult:
    """The URL's parts; 422 unless it is http(s), names a host, and carries no credentials or whitespace."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise _bad("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise _bad("the scheme must be http or https")
    if not parts.hostname:
        raise _bad("the URL must name a host")
    if parts.username is not None or parts.password is not None:
        raise _bad("credentials in the URL are not allowed; authenticate with the signature")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise _bad("the URL contains whitespace or control characters")
    return parts


async def resolve(host: str, *, timeout_s: float) -> list[IPAddress]:
    """Every address host resolves to, within timeout_s (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.split("%", 1)[0])]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout_s)
    return sorted({ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}, key=str)


async def check_target(url: str, *, allow_private: bool, dns_timeout_s: float) -> Target:
    """The target to connect to; 422 unless url is a valid http(s) URL whose host resolves, in time, only
    to globally reachable addresses (any address when private ones are allowed)."""
    parts = parse(url)
    host = str(parts.hostname)
    try:
        addresses = await resolve(host, timeout_s=dns_timeout_s)
    except TimeoutError:
        raise _bad(f"the host {host!r} did not resolve within {dns_timeout_s:g} s") from None
    except (OSError, UnicodeError):
        raise _bad(f"the host {host!r} does not resolve") from None
    if not addresses:
        raise _bad(f"the host {host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            problem = refusal(address)
            if problem:
                raise _bad(f"{problem}; webhooks may only target public addresses")
    return Target(url=url, scheme=parts.scheme, host=host, port=parts.port, address=addresses[0])


def masked(url: str) -> str:
    """The URL as reads show it: scheme, host and port; the path and query (Slack's and Teams' secret
    parts) replaced by ***."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "***"
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{port}" if port is not None else host
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    return f"{parts.scheme}://{netloc}/{'***' if hidden else ''}"
