"""Webhooks on the wire: the signed request and one HTTP POST. No Django, no database.

A delivery is `POST <url>` with the JSON body and these headers:

    X-Smartsite-Event       order.dispose, order.escalate, … or ping
    X-Smartsite-Delivery    the outbox message id: the same on every retry (deduplicate on it)
    X-Smartsite-Timestamp   Unix seconds when this attempt was signed
    X-Smartsite-Signature   sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

Any 2xx answer is success; anything else (other statuses, timeouts, refused connections) is
retried by the outbox. Redirects are not followed (a 3xx is a failure): the receiver's URL is
what its owner registered. The POST goes to the very address that was checked (the host is
resolved once per attempt), so a name cannot be re-pointed at an internal address in between.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from smartsite.core.netpolicy import is_public_address

__all__ = ["Outcome", "body_of", "is_public_address", "post", "sign", "signed_headers"]

USER_AGENT = "smartsite-webhook/1"
#: How much of a failed response's body is kept in the error shown to the owner.
ERROR_BODY_BYTES = 200


def body_of(payload: dict) -> bytes:
    """The exact bytes that are signed and sent (compact UTF-8 JSON, keys sorted)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 over `"{timestamp}.{body}"` with the webhook's secret."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(*, secret: str, event: str, delivery: str, body: bytes,
                   timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Smartsite-Event": event,
        "X-Smartsite-Delivery": delivery,
        "X-Smartsite-Timestamp": stamp,
        "X-Smartsite-Signature": sign(secret, stamp, body),
    }


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. `permanent` failures are not retried."""

    ok: bool
    status: int | None = None
    error: str = ""
    permanent: bool = False


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float,
         allow_private: bool = False) -> Outcome:
    """POST `body` to `url` once; never raises for network or HTTP trouble."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if https else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        return Outcome(False, error=f"无法解析地址 {host}：{exc}")
    address = infos[0][4][:2]
    if not allow_private:
        for info in infos:
            if not is_public_address(info[4][0]):
                return Outcome(False, permanent=True,
                               error=f"{host} 指向内网或保留地址 {info[4][0]}，已拒绝发送"
                                     "（运维可设置 SMARTSITE_WEBHOOK_ALLOW_PRIVATE）")
    if https:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def connect_to_checked_address(_address, timeout_=None, source=None):
        return socket.create_connection(address, timeout_, source)

    conn._create_connection = connect_to_checked_address  # TLS still verifies `host`
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        snippet = response.read(ERROR_BODY_BYTES)
    except TimeoutError:
        return Outcome(False, error=f"超时：{timeout:g} 秒内没有响应")
    except ConnectionRefusedError:
        return Outcome(False, error=f"连接被拒绝（{host}:{port}）")
    except ssl.SSLError as exc:
        return Outcome(False, error=f"TLS 错误：{exc}")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, error=f"连接失败：{exc.__class__.__name__} {exc}".strip())
    finally:
        conn.close()
    if 200 <= response.status < 300:
        return Outcome(True, response.status)
    text = snippet.decode("utf-8", "replace").strip()
    return Outcome(False, response.status,
                   error=f"HTTP {response.status} {response.reason}" + (f"：{text}" if text else ""))
