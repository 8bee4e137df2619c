"""One HTTPS POST to an address a partner gave us, and never to a machine inside our own network.

A partner types the address of their webhook endpoint, so it is theirs to choose: it could name
the database server, a cloud's metadata service or the proxy in front of Groundwork (server-side
request forgery). An address is refused unless it is `https://` with a host name or address,
and every address the name resolves to is a public one (not loopback, private, link-local,
shared, reserved or multicast, nor an IPv6 form that carries such an IPv4 address). The
connection then goes to the address that was checked, with the name for TLS, so a second DNS
answer cannot lead it elsewhere. Redirects are never followed. Tests name a receiver on loopback
with `allow_private`; production settings never do.

Knows nothing of Flask or the database.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

MAX_URL = 500
READ_AT_MOST = 2048  # bytes of a reply read (and thrown away): enough to end the exchange


class Reason(StrEnum):
    """Why an address is refused; the partner pages say each in plain words."""

    TOO_LONG = "too_long"
    NOT_AN_ADDRESS = "not_an_address"
    NOT_HTTPS = "not_https"
    NO_HOST = "no_host"
    CREDENTIALS = "credentials"
    FRAGMENT = "fragment"
    SPACES = "spaces"
    UNKNOWN_HOST = "unknown_host"
    PRIVATE = "private"
    ALREADY_THERE = "already_there"  # (intake/webhooks.py)
    TOO_MANY = "too_many"  # (intake/webhooks.py)


class Refused(ValueError):
    """An address Groundwork will not send to, and why."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass(frozen=True)
class Address:
    """A checked `https://` address: host (a name or an IP), port, and path with query."""

    host: str
    port: int
    target: str


@dataclass(frozen=True)
class Reply:
    status: int
    retry_after: int | None  # seconds, when the receiver asked for a pause


def parse(url: str) -> Address:
    """Check an address as written: HTTPS, a host, no user name or password, no fragment."""
    if len(url) > MAX_URL:
        raise Refused(Reason.TOO_LONG)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as wrong:
        raise Refused(Reason.NOT_AN_ADDRESS) from wrong
    if parts.scheme != "https":
        raise Refused(Reason.NOT_HTTPS)
    if not parts.hostname:
        raise Refused(Reason.NO_HOST)
    if parts.username is not None or parts.password is not None:
        raise Refused(Reason.CREDENTIALS)
    if parts.fragment:
        raise Refused(Reason.FRAGMENT)
    if any(ord(character) < 33 for character in url.strip()):
        raise Refused(Reason.SPACES)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Address(parts.hostname, 443 if port is None else port, target)


def _is_public(address: IPv4Address | IPv6Address) -> bool:
    if isinstance(address, IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if carried is not None and not _is_public(carried):
            return False
    return address.is_global and not address.is_multicast


def resolve(address: Address, allow_private: bool = False) -> list[str]:
    """The IP addresses to connect to. Refused when the name does not resolve, or when any of
    its addresses is not public (one private answer is enough: DNS may give either)."""
    try:
        answers = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as wrong:
        raise Refused(Reason.UNKNOWN_HOST) from wrong
    found = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
    if not found:
        raise Refused(Reason.UNKNOWN_HOST)
    if not allow_private:
        for each in found:
            if not _is_public(ip_address(each.split("%", 1)[0])):
                raise Refused(Reason.PRIVATE)
    return found


def check(url: str, allow_private: bool = False) -> Address:
    """An address fit to register: it parses, and it resolves to public addresses now."""
    address = parse(url)
    resolve(address, allow_private)
    return address


class _PinnedConnection(http.client.HTTPSConnection):
    """HTTPS to one checked IP address, with the host name for SNI and the certificate."""

    def __init__(self, address: Address, ip: str, context: ssl.SSLContext, timeout: float) -> None:
        super().__init__(address.host, address.port, timeout=timeout, context=context)
        self._checked_ip = ip
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._checked_ip, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def _retry_after(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None  # an HTTP date is rare from a webhook receiver: the usual back-off holds
    return int(value.strip())


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float = 15.0,
    ca_file: str | None = None,
    allow_private: bool = False,
) -> Reply:
    """POST `body` to `url` and return the status; raises Refused for an address that may not
    be used, OSError (ssl.SSLError among them) when no answer came."""
    address = parse(url)
    ip = resolve(address, allow_private)[0]
    context = ssl.create_default_context(cafile=ca_file)
    connection = _PinnedConnection(address, ip, context, timeout)
    try:
        connection.request(
            "POST",
            address.target,
            body=body,
            headers={**headers, "Content-Length": str(len(body))},
        )
        response = connection.getresponse()
        response.read(READ_AT_MOST)
        return Reply(response.status, _retry_after(response.getheader("Retry-After")))
    except http.client.HTTPException as wrong:
        raise OSError(f"not an HTTP answer ({type(wrong).__name__})") from wrong
    finally:
        connection.close()
