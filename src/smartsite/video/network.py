"""Which camera addresses the server may connect to (the policy of `core.netpolicy`).

A camera's RTSP and ONVIF hosts must be public addresses or inside
SMARTSITE_CAMERA_ALLOWED_NETWORKS. The literal part is checked when a camera is saved; the
name is resolved and every address checked again before each connection (a snapshot, a live
view, a recording run, every PTZ command), and the connection then goes to the address that was
checked, so a name cannot be re-pointed at an internal address in between (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import socket

from django.conf import settings

from smartsite.core import netpolicy

__all__ = ["REFUSED_AT_SAVE", "GuardedLoop", "allowed_networks", "checked_address",
           "host_allowed", "refused_message"]

REFUSED_AT_SAVE = ("不能使用本机、内网或保留地址；摄像头在专网内时，请运维在 "
                   "SMARTSITE_CAMERA_ALLOWED_NETWORKS 中登记该网段")
UNRESOLVED = "无法解析摄像头主机名 {host}，请检查摄像头地址"


def allowed_networks() -> tuple[netpolicy.Network, ...]:
    return netpolicy.parse_networks(getattr(settings, "CAMERA_ALLOWED_NETWORKS", ()) or ())


def host_allowed(host: str) -> bool:
    """The save-time check: a literal address (or localhost) outside the policy is refused."""
    return netpolicy.host_allowed(host, allowed_networks())


def refused_message(host: str, address: str) -> str:
    where = f"{host} " if host == address else f"{host}（{address}）"
    return f"摄像头地址 {where}是本机、内网或保留地址，已拒绝连接；" + REFUSED_AT_SAVE.split("；", 1)[1]


def checked_address(host: str, port: int, error: type[Exception]) -> str:
    """The address to connect to for `host`, resolved now and checked; `error(message,
    code=…)` when it is refused or does not resolve."""
    try:
        addresses = netpolicy.resolve_allowed(host, port, allowed_networks())
    except netpolicy.AddressRefused as exc:
        raise error(refused_message(exc.host, exc.address), code="video.address_refused") from None
    except OSError:
        raise error(UNRESOLVED.format(host=host), code="video.unresolved") from None
    return addresses[0]


class GuardedLoop(asyncio.SelectorEventLoop):
    """An event loop that checks the destination of every TCP connection made in it (aiohttp
    connects through `sock_connect`), so neither a redirect nor an address the device
    advertises can take a command elsewhere. Refused: `netpolicy.AddressRefused`."""

    def __init__(self, allowed=None):
        super().__init__()
        self.allowed = allowed_networks() if allowed is None else tuple(allowed)

    async def sock_connect(self, sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not netpolicy.address_allowed(host, self.allowed):
                raise netpolicy.AddressRefused(host, host)
        return await super().sock_connect(sock, address)
