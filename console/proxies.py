"""Who is on the other end of a request: the client's address, and whether a proxy we trust
forwarded it.

Behind the TLS proxy the README prescribes, ``REMOTE_ADDR`` is the proxy's address for every
client, so anything keyed on it (the log-in throttle, the request id) would treat everyone as
one client. The proxy says who the client was in a header (``X-Forwarded-For`` by default);
anyone can send that header too, so it is believed only from a peer listed in
``CONSOLE_TRUSTED_PROXIES`` (addresses or CIDR networks). With none listed, the header is
ignored and ``REMOTE_ADDR`` is the client.

The rule is nginx's realip module's (``set_real_ip_from`` + ``real_ip_recursive on``): walk the
header from its right end (the hop our proxy added) towards the left, skipping addresses that
are trusted proxies themselves; the first address that is not, is the client. Entries further
left were written by the client and are never used, so forging the header from behind the
proxy changes nothing. An entry that is not a bare IP address stops the walk at the last
address known good.

Why not django-ipware: its trusted-proxy list is matched against the hops *inside* the header,
never against the peer that actually connected, so a client that reaches the console directly
could still choose its own address.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # settings.py imports this module: keep it light
    from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    """``entries`` (``"10.0.0.7"``, ``"10.0.0.0/8"``, ``"fd00::/8"``) as networks; a bare address is
    a one-address network. Raises ValueError naming the entry that is neither."""
    networks: list[Network] = []
    for entry in entries:
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or a CIDR network") from None
        networks.append(network)
    return tuple(networks)


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(entries)


def _address(text: str | None) -> Address | None:
    """``text`` as an address (an IPv4-mapped IPv6 address as its IPv4 one), None if it is not one."""
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address) -> bool:
    networks = _networks(tuple(getattr(settings, "CONSOLE_TRUSTED_PROXIES", ())))
    return any(address.version == network.version and address in network for network in networks)


def _header_key() -> str:
    name: str = getattr(settings, "CONSOLE_TRUSTED_PROXY_HEADER", "X-Forwarded-For")
    return "HTTP_" + name.upper().replace("-", "_")


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the peer that sent ``request`` (``REMOTE_ADDR``) is a proxy listed in
    ``CONSOLE_TRUSTED_PROXIES``: only then are its forwarding headers believed."""
    peer = _address(request.META.get("REMOTE_ADDR"))
    return peer is not None and _trusted(peer)


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address as text (``"203.0.113.7"``), by the rule in this module's
    docstring; None when the request has no usable ``REMOTE_ADDR`` (a Unix socket). Used by
    the log-in throttle (django-axes' ``AXES_CLIENT_IP_CALLABLE``)."""
    peer = _address(request.META.get("REMOTE_ADDR"))
    if peer is None:
        return None
    client = peer
    if _trusted(peer):
        for hop in reversed(str(request.META.get(_header_key(), "")).split(",")):
            address = _address(hop)
            if address is None:
                break
            client = address
            if not _trusted(address):
                break
    return str(client)
