"""Refuse URLs that would make the ingester reach into the local network (SSRF).

A source list is user input: a URL, a sitemap entry or a redirect can point
at `http://169.254.169.254/` (cloud metadata), `http://localhost:8080/admin`
or a LAN printer. Only http and https are fetched, and a host whose address
is loopback, private, link-local, multicast, reserved or otherwise not
globally routable is refused unless `Settings.allow_hosts` lists it.

Every redirect hop is checked again. The name is resolved here, then httpx
resolves it again to connect, so a DNS answer that changes in between
(rebinding) could slip through: `check_peer` closes that gap by checking the
address the connection actually reached before any of the body is read.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Callable
from urllib.parse import urlsplit

from core.errors import UnsafeUrl

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostGuard:
    """Checks URLs and connected peers against the public-address rule and an allow list.

    Args:
        allow: comma-separated host names, IP addresses or CIDR networks that
            may be fetched even though they are not public (`TUTOR_ALLOW_HOSTS`).
        resolve: `socket.getaddrinfo`-compatible resolver (tests pass a fake).
    """

    def __init__(self, allow: str = "", resolve: Callable = socket.getaddrinfo) -> None:
        self.names: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in (part.strip().lower() for part in allow.split(",")):
            if not item:
                continue
            try:
                self.networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                self.names.add(item.rstrip("."))
        self.resolve = resolve

    def check(self, url: str) -> None:
        """Raise UnsafeUrl unless `url` is http(s) and its host resolves only to allowed addresses.

        Raises:
            UnsafeUrl: another scheme, no host, a name that does not resolve,
                or an address that is not public and not allowed.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise UnsafeUrl(f"{url}: only http:// and https:// URLs can be fetched (got {scheme or 'no scheme'}://)")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise UnsafeUrl(f"{url}: the URL has no host name")
        if host in self.names:
            return
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise UnsafeUrl(f"{url}: the port is not a number") from None
        for ip in self._addresses(url, host, port):
            self._check_ip(url, host, ip)

    def check_peer(self, url: str, address: str) -> None:
        """Raise UnsafeUrl if the connection for `url` reached a refused address."""
        host = (urlsplit(url).hostname or "").rstrip(".")
        if host in self.names:
            return
        self._check_ip(url, host, _parse_ip(address))

    def _addresses(self, url: str, host: str, port: int) -> list[IpAddress]:
        literal = _parse_ip(host)
        if literal is not None:
            return [literal]
        try:
            infos = self.resolve(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError) as e:
            raise UnsafeUrl(f"{url}: the host name {host} does not resolve ({e}); check the URL") from None
        found = [_parse_ip(info[4][0]) for info in infos]
        if not found or None in found:
            raise UnsafeUrl(f"{url}: the host name {host} resolved to no usable address")
        return found

    def _check_ip(self, url: str, host: str, ip: IpAddress | None) -> None:
        if ip is None:
            return  # not an IP socket (cannot happen for TCP); nothing to check
        if any(ip in net for net in self.networks):
            return
        kind = _refused_kind(ip)
        if kind:
            raise UnsafeUrl(
                f"{url}: {host} resolves to {ip}, a {kind} address, refused to protect the local network; "
                f"if you trust it, add it to TUTOR_ALLOW_HOSTS (e.g. TUTOR_ALLOW_HOSTS={host})"
            )


def _parse_ip(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%")[0])  # drop an IPv6 zone id
    except ValueError:
        return None


def _refused_kind(ip: IpAddress) -> str:
    """The kind of non-public address `ip` is, or "" if it is public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    # Most specific first: 169.254.x.x and 0.0.0.0 also count as "private" in ipaddress.
    for kind in ("loopback", "link-local", "unspecified", "multicast", "reserved", "private"):
        if getattr(ip, "is_" + kind.replace("-", "_")):
            return kind
    # Shared (100.64/10), documentation, 6to4 and similar ranges: not reachable on the internet.
    return "" if ip.is_global else "non-public"
