"""Where the server may send: a logged-in user hands in a push endpoint URL, and the
server POSTs to it. Unless ``web_push.insecure_endpoints`` is set, only ``https`` URLs
whose host resolves to public addresses are accepted, so nobody can make the server talk
to services on its LAN or itself. The check runs when the subscription is made (clear
error) and again on every connection (the resolver below), so a name that later
resolves elsewhere (DNS rebinding) is refused too (``api.notifications.resolver``);
redirects are never followed.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MAX_ENDPOINT_LENGTH = 2048


class UnsafeEndpoint(ValueError):
    """A push endpoint the server will not send to; the message says why."""


def public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_endpoint(url: str, insecure: bool) -> None:
    """Refuse an endpoint the server must not send to (``UnsafeEndpoint``)."""
    if len(url) > MAX_ENDPOINT_LENGTH:
        raise UnsafeEndpoint(f"endpoint longer than {MAX_ENDPOINT_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        raise UnsafeEndpoint("endpoint is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise UnsafeEndpoint("endpoint must be an https:// URL without credentials")
    if insecure:
        return
    if parts.scheme != "https":
        raise UnsafeEndpoint(
            "endpoint must use https (notifications.web_push.insecure_endpoints allows "
            "http for testing)"
        )
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise UnsafeEndpoint("endpoint must be a public host") from None
        return
    if not public_address(str(literal)):
        raise UnsafeEndpoint("endpoint must be a public address, not a private or loopback one")
