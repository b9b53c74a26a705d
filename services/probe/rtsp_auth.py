"""RTSP authentication: Basic (RFC 7617) and Digest (RFC 7616: MD5, SHA-256, their -sess forms,
qop=auth and auth-int, userhash, stale nonces), and the choice between the challenges a camera sends.

Written here rather than taken from a library: aiortsp 1.4.0 and ffmpeg 5.1 get parts of this wrong
(see the README's dependency table). The rules that matter for cameras in the field:

- Digest is preferred whenever it is offered, SHA-256 before MD5;
- a host that has offered Digest once never gets Basic again (a later Basic-only challenge from it
  is a downgrade, refused: the password would cross the network in clear);
- a `stale=true` challenge means the nonce expired, not that the password is wrong: answer again
  with the new nonce.
"""

import base64
import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

_HASHES: dict[str, Callable[[bytes], "hashlib._Hash"]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
}
# Higher is stronger; unknown algorithms (SHA-512-256 is not in Python's hashlib everywhere) are skipped.
_STRENGTH = {"SHA-256": 4, "SHA-256-SESS": 3, "MD5": 2, "MD5-SESS": 1}


@dataclass(frozen=True)
class Challenge:
    """One `WWW-Authenticate` challenge: its scheme (lower case) and its parameters (names lower case)."""

    scheme: str
    params: dict[str, str]

    @property
    def algorithm(self) -> str:
        """The Digest algorithm in upper case (MD5 when the challenge names none, per RFC 7616)."""
        return self.params.get("algorithm", "MD5").upper()

    @property
    def stale(self) -> bool:
        """Whether the server says only the nonce expired."""
        return self.params.get("stale", "").lower() == "true"

    @property
    def qops(self) -> tuple[str, ...]:
        """The qop values offered, lower case."""
        return tuple(q.strip().lower() for q in self.params.get("qop", "").split(",") if q.strip())


class AuthRefused(Exception):
    """No challenge can be answered safely (a Basic downgrade, or only unknown schemes)."""


def _tokens(header: str) -> list[str]:
    """Split an auth header into tokens: words, `=`, `,` and quoted strings (unescaped, kept quoted)."""
    out: list[str] = []
    i, n = 0, len(header)
    while i < n:
        ch = header[i]
        if ch in " \t":
            i += 1
        elif ch in ",=":
            out.append(ch)
            i += 1
        elif ch == '"':
            j, buf = i + 1, []
            while j < n and header[j] != '"':
                if header[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(header[j])
                j += 1
            out.append('"' + "".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and header[j] not in " \t,=":
                j += 1
            out.append(header[i:j])
            i = j
    return out


def parse_challenges(headers: Iterable[str]) -> list[Challenge]:
    """Every challenge in these `WWW-Authenticate` values (one header may hold several)."""
    challenges: list[Challenge] = []
    for header in headers:
        toks = _tokens(header)
        i = 0
        current: Challenge | None = None
        while i < len(toks):
            tok = toks[i]
            if tok == ",":
                i += 1
                continue
            is_param = i + 1 < len(toks) and toks[i + 1] == "="
            if is_param and current is not None:
                value = toks[i + 2] if i + 2 < len(toks) else ""
                current.params[tok.lower()] = value[1:] if value.startswith('"') else value
                i += 3
                # token68 padding ("abc==") arrives as several "=" tokens: skip them.
                while i < len(toks) and toks[i] == "=":
                    i += 1
            elif not tok.startswith('"') and tok != "=":
                current = Challenge(tok.lower(), {})
                challenges.append(current)
                i += 1
            else:
                i += 1
    return challenges


def _hex(algorithm: str, text: str) -> str:
    return _HASHES[algorithm.removesuffix("-SESS")](text.encode("utf-8")).hexdigest()


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class DigestSession:
    """A Digest challenge being answered: the nonce count grows with each request that reuses it."""

    challenge: Challenge
    username: str
    password: str
    nonce_count: int = 0
    cnonce: str = field(default_factory=lambda: os.urandom(8).hex())

    def authorization(self, method: str, uri: str, body: bytes = b"") -> str:
        """The `Authorization` header value for this request (RFC 7616 section 3.4)."""
        params = self.challenge.params
        algorithm = self.challenge.algorithm
        realm, nonce = params.get("realm", ""), params.get("nonce", "")
        self.nonce_count += 1
        nc = f"{self.nonce_count:08x}"
        ha1 = _hex(algorithm, f"{self.username}:{realm}:{self.password}")
        if algorithm.endswith("-SESS"):
            ha1 = _hex(algorithm, f"{ha1}:{nonce}:{self.cnonce}")
        qops = self.challenge.qops
        qop = "auth" if "auth" in qops else "auth-int" if "auth-int" in qops else None
        if qop == "auth-int":
            ha2 = _hex(algorithm, f"{method}:{uri}:{_HASHES[algorithm.removesuffix('-SESS')](body).hexdigest()}")
        else:
            ha2 = _hex(algorithm, f"{method}:{uri}")
        if qop:
            response = _hex(algorithm, f"{ha1}:{nonce}:{nc}:{self.cnonce}:{qop}:{ha2}")
        else:
            response = _hex(algorithm, f"{ha1}:{nonce}:{ha2}")
        username = self.username
        if params.get("userhash", "").lower() == "true":
            username = _hex(algorithm, f"{self.username}:{realm}")
        parts = [
            f"username={_quote(username)}",
            f"realm={_quote(realm)}",
            f"nonce={_quote(nonce)}",
            f"uri={_quote(uri)}",
            f"response={_quote(response)}",
        ]
        if "algorithm" in params:
            parts.append(f"algorithm={params['algorithm']}")
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f"cnonce={_quote(self.cnonce)}"]
        elif algorithm.endswith("-SESS"):
            parts.append(f"cnonce={_quote(self.cnonce)}")  # H(A1) uses it (RFC 2617 3.2.2.2)
        if "opaque" in params:
            parts.append(f"opaque={_quote(params['opaque'])}")
        if params.get("userhash", "").lower() == "true":
            parts.append("userhash=true")
        return "Digest " + ", ".join(parts)


def basic_authorization(username: str, password: str) -> str:
    """The `Authorization` header value for Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def choose(challenges: list[Challenge], *, digest_seen: bool) -> Challenge:
    """The challenge to answer: the strongest Digest; Basic only from a host never seen offering Digest."""
    digests = [c for c in challenges if c.scheme == "digest" and c.algorithm in _STRENGTH and "nonce" in c.params]
    if digests:
        return max(digests, key=lambda c: _STRENGTH[c.algorithm])
    if any(c.scheme == "basic" for c in challenges):
        if digest_seen:
            raise AuthRefused("the camera offered only Basic after offering Digest: refused (a downgrade)")
        return next(c for c in challenges if c.scheme == "basic")
    offered = ", ".join(sorted({c.scheme for c in challenges})) or "none"
    raise AuthRefused(f"no supported authentication scheme offered ({offered})")
