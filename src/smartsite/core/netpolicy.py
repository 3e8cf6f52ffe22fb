"""Where the server may connect on a user's behalf (webhook receivers, cameras).

A user-supplied host must not make the server reach itself or the networks behind it: loopback,
private, link-local (169.254.169.254, the cloud metadata service), multicast, reserved and
unspecified addresses are refused, unless an operator lists a network as allowed (cameras on a
site's private network). Names are resolved when they are used, and every address a name
resolves to is checked then — at save time only a literal address or "localhost" can be judged.
No Django, no database: callers pass the allowed networks.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

__all__ = ["AddressRefused", "Network", "address_allowed", "host_allowed", "is_public_address",
           "parse_networks", "resolve_allowed"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(Exception):
    """`host` is, or resolves to, `address`, which is not an allowed destination."""

    def __init__(self, host: str, address: str):
        super().__init__(f"{host} → {address}")
        self.host, self.address = host, address


#: IPv6 forms that carry an IPv4 address in their last 32 bits and that a host, a NAT64 or a
#: SIIT translator may deliver to that IPv4 address: NAT64's well-known prefix (RFC 6052),
#: IPv4-translated (RFC 2765) and the deprecated IPv4-compatible form (RFC 4291). Python calls
#: them global, so the embedded address is judged instead.
_EMBEDS_IPV4 = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "::ffff:0:0:0/96", "::/96"))
#: Local-use NAT64 (RFC 8215): the IPv4 address may sit at any of several offsets — never public.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip.sixtofour:  # 2002:AABB:CCDD::/48 is routed to AA.BB.CC.DD by 6to4 relays
            return ip.sixtofour
        if any(ip in net for net in _EMBEDS_IPV4) and int(ip) & 0xFFFFFFFF:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified addresses,
    also when written as an IPv6 address that embeds one (NAT64, 6to4, IPv4-translated)."""
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip in _LOCAL_NAT64:
        return False
    return ip.is_global and not ip.is_multicast


def parse_networks(values: str | Iterable[str] | None) -> tuple[Network, ...]:
    """CIDRs ("10.20.0.0/16, 192.168.8.0/24", or a list) as networks; ValueError names a bad one."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = values.split(",")
    out = []
    for value in values:
        value = str(value).strip()
        if not value:
            continue
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"not an IP network (CIDR such as 10.20.0.0/16): {value!r}") from None
    return tuple(out)


def address_allowed(address: str, allowed: Iterable[Network] = ()) -> bool:
    """A public address, or one inside a network the operator allowed."""
    if is_public_address(address):
        return True
    ip = _ip(address)
    return any(ip.version == net.version and ip in net for net in allowed)


def host_allowed(host: str, allowed: Iterable[Network] = ()) -> bool:
    """The check possible when a host is saved: a literal address must be allowed, "localhost"
    never is; any other name passes here and is checked when it is resolved at use."""
    host = (host or "").strip().lower().rstrip(".").strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return any(address_allowed(a, allowed) for a in ("127.0.0.1", "::1"))
    try:  # every literal form the resolver would take ("127.1", "2130706433", "0x7f.1"), no DNS
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return True
    return all(address_allowed(info[4][0], allowed) for info in infos)


def resolve_allowed(host: str, port: int, allowed: Iterable[Network] = ()) -> list[str]:
    """The addresses `host` resolves to now, each checked; raises AddressRefused naming the
    first that is not allowed (so a name cannot hide an internal address among public ones),
    or OSError (socket.gaierror) when the name does not resolve."""
    allowed = tuple(allowed)
    host = (host or "").strip().strip("[]")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise socket.gaierror(str(exc)) from None
    addresses = []
    for info in infos:
        address = info[4][0]
        if not address_allowed(address, allowed):
            raise AddressRefused(host, address)
        if address not in addresses:
            addresses.append(address)
    return addresses
