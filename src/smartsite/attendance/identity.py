"""The identity source (公安人脸库): does an enrolment photo show the holder of a resident id?

The product only knows the HTTP protocol (docs/attendance-identity.md); a deployment points
`SMARTSITE_IDENTITY_URL` at the real service (or an adapter in front of it). Tests and the demo
use the small local service in `smartsite.simulator.identity_service`, which speaks the same
protocol. With no URL configured every answer is "unavailable" (无法比对), never an error:
enrolment goes on and records that the identity could not be checked.

`IdentitySource` is the interface; `HttpIdentitySource` the one implementation here.
"""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings

from smartsite.attendance.choices import IdentityResult

__all__ = ["HttpIdentitySource", "IdentityAnswer", "IdentitySource", "NotConfigured",
           "configured_source"]

PATH = "/v1/face-compare"
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class IdentityAnswer:
    """`result` is an IdentityResult value; `distance` the source's face distance, if any;
    `message` says in Chinese what the answer means (shown to the enrolling officer)."""

    result: str
    distance: float | None = None
    message: str = ""


class IdentitySource(Protocol):
    def compare(self, resident_id: str, photo: bytes) -> IdentityAnswer:
        """Compare `photo` with the reference photo on record for `resident_id`."""


class NotConfigured:
    """No identity source configured: every comparison is unavailable."""

    def compare(self, resident_id: str, photo: bytes) -> IdentityAnswer:
        return IdentityAnswer(IdentityResult.UNAVAILABLE,
                              message="未配置公安人脸库接口（SMARTSITE_IDENTITY_URL），未能比对身份")


def _unavailable(message: str) -> IdentityAnswer:
    return IdentityAnswer(IdentityResult.UNAVAILABLE, message=message)


class HttpIdentitySource:
    """The protocol's client: one POST per comparison; never raises for network trouble."""

    def __init__(self, base_url: str, *, token: str = "", timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def compare(self, resident_id: str, photo: bytes) -> IdentityAnswer:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return _unavailable(f"公安人脸库地址无效：{self.base_url}")
        body = json.dumps({"resident_id": resident_id,
                           "photo_base64": base64.b64encode(photo).decode("ascii")}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=self.timeout)
        try:
            conn.request("POST", (parts.path or "") + PATH, body=body, headers=headers)
            response = conn.getresponse()
            status, raw = response.status, response.read(MAX_ANSWER_BYTES)
        except TimeoutError:
            return _unavailable(f"公安人脸库 {self.timeout:g} 秒内没有响应，未能比对身份")
        except (OSError, http.client.HTTPException) as exc:
            return _unavailable(f"无法连接公安人脸库（{exc.__class__.__name__}），未能比对身份")
        finally:
            conn.close()
        return self._answer(status, raw)

    @staticmethod
    def _answer(status: int, raw: bytes) -> IdentityAnswer:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _unavailable(f"公安人脸库的应答无法解析（HTTP {status}），未能比对身份")
        if status == 200 and data.get("result") in ("matched", "mismatch"):
            distance = data.get("distance")
            distance = float(distance) if isinstance(distance, int | float) else None
            if data["result"] == "matched":
                return IdentityAnswer(IdentityResult.MATCHED, distance, "与公安人脸库照片一致")
            return IdentityAnswer(IdentityResult.MISMATCH, distance,
                                  "与公安人脸库照片不一致（人证不符）")
        if status == 404:
            return _unavailable("公安人脸库中没有该身份证号的照片，未能比对身份")
        if status in (401, 403):
            return _unavailable("公安人脸库拒绝访问（令牌无效或未授权），未能比对身份")
        detail = str(data.get("message") or "")[:200]
        return _unavailable(f"公安人脸库未能比对（HTTP {status}{'：' + detail if detail else ''}）")


def configured_source() -> IdentitySource:
    """The identity source the settings name (SMARTSITE_IDENTITY_URL / _TOKEN / _TIMEOUT_SECONDS)."""
    if not settings.IDENTITY_URL:
        return NotConfigured()
    return HttpIdentitySource(settings.IDENTITY_URL, token=settings.IDENTITY_TOKEN,
                              timeout=settings.IDENTITY_TIMEOUT_SECONDS)
