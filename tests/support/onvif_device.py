"""A small ONVIF device on loopback for tests/video: real SOAP 1.2 over HTTP, WS-Security
UsernameToken (PasswordDigest) checked on every call, and a PTZ head whose position moves
while a ContinuousMove runs.

It answers what onvif-zeep-async sends for PTZ: device GetSystemDateAndTime, GetServices,
GetCapabilities; media GetProfiles; PTZ GetPresets, GotoPreset, SetPreset, ContinuousMove,
Stop, GetStatus. Anything else is a SOAP fault (ter:ActionNotSupported).

    device = OnvifDevice(user="admin", password="s3cret").start()
    device.port, device.position      # (pan, tilt, zoom) now
    device.calls                      # operation names, in order
    device.stop()
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree as ET

NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
}
DIGEST = ("http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")
NO_AUTH = {"GetSystemDateAndTime"}
#: How far one second of full-speed continuous move turns the head (ONVIF generic space -1…1).
SPEED = 1.0


def _clamp(value: float) -> float:
    return max(-1.0, min(1.0, value))


def _duration(text: str | None) -> float | None:
    match = re.fullmatch(r"PT(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?", (text or "").strip())
    if not match or not any(match.groups()):
        return None
    return float(match.group(1) or 0) * 60 + float(match.group(2) or 0)


class OnvifDevice:
    def __init__(self, *, user: str = "admin", password: str = "admin", hang: bool = False):
        self.user, self.password, self.hang = user, password, hang
        self.calls: list[str] = []
        self.refused: list[str] = []
        self.presets: dict[str, tuple[str, tuple[float, float, float]]] = {
            "1": ("大门", (0.5, 0.0, 0.0)), "2": ("材料堆场", (-0.5, 0.2, 0.3))}
        self._lock = threading.Lock()
        self._pos = [0.0, 0.0, 0.0]
        self._vel = (0.0, 0.0, 0.0)
        self._since = time.monotonic()
        self._until: float | None = None
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # ------------------------------------------------------------ the PTZ head

    def _advance(self) -> None:
        now = time.monotonic()
        end = min(now, self._until) if self._until is not None else now
        dt = max(0.0, end - self._since)
        for i in range(3):
            self._pos[i] = _clamp(self._pos[i] + self._vel[i] * SPEED * dt)
        self._since = now
        if self._until is not None and now >= self._until:
            self._vel, self._until = (0.0, 0.0, 0.0), None

    @property
    def position(self) -> tuple[float, float, float]:
        with self._lock:
            self._advance()
            return tuple(self._pos)

    @property
    def moving(self) -> bool:
        with self._lock:
            self._advance()
            return any(self._vel)

    # ------------------------------------------------------------ server

    def start(self) -> OnvifDevice:
        device = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if device.hang:
                    time.sleep(30)
                    return
                status, xml = device.handle(body)
                data = xml.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True, name="onvif").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif"

    # ------------------------------------------------------------ SOAP

    def handle(self, body: bytes) -> tuple[int, str]:
        try:
            envelope = ET.fromstring(body)
        except ET.ParseError:
            return 400, _fault("env:Sender", "ter:WellFormed", "not XML")
        payload = envelope.find("env:Body", NS)
        if payload is None or len(payload) == 0:
            return 400, _fault("env:Sender", "ter:WellFormed", "no Body")
        request = payload[0]
        operation = request.tag.rsplit("}", 1)[-1]
        self.calls.append(operation)
        if operation not in NO_AUTH and not self._authorised(envelope):
            self.refused.append(operation)
            return 400, _fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized")
        handler = getattr(self, f"op_{operation}", None)
        if handler is None:
            return 400, _fault("env:Receiver", "ter:ActionNotSupported",
                               f"{operation} not supported")
        try:
            return 200, _envelope(handler(request))
        except (ValueError, KeyError) as exc:
            return 400, _fault("env:Sender", "ter:InvalidArgVal", f"invalid argument {exc}")

    def _authorised(self, envelope) -> bool:
        token = envelope.find("env:Header/wsse:Security/wsse:UsernameToken", NS)
        if token is None:
            return False
        user = token.findtext("wsse:Username", "", NS)
        password = token.find("wsse:Password", NS)
        nonce = token.findtext("wsse:Nonce", "", NS)
        created = token.findtext("wsu:Created", "", NS)
        if password is None or user != self.user:
            return False
        if password.get("Type") == DIGEST:
            try:
                raw = base64.b64decode(nonce)
            except ValueError:
                return False
            expected = base64.b64encode(hashlib.sha1(
                raw + created.encode() + self.password.encode()).digest()).decode()
            return (password.text or "") == expected
        return (password.text or "") == self.password

    # ------------------------------------------------------------ device service

    def op_GetSystemDateAndTime(self, request) -> str:
        now = datetime.datetime.now(datetime.UTC)
        return (f'<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>'
                f'<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>'
                f'<tt:UTCDateTime><tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>'
                f'<tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>{now.year}</tt:Year>'
                f'<tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date></tt:UTCDateTime>'
                f'</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>')

    def op_GetServices(self, request) -> str:
        items = [(NS["tds"], "device_service"), (NS["trt"], "media_service"),
                 (NS["tptz"], "ptz_service")]
        services = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace>"
            f"<tds:XAddr>{self.base}/{path}</tds:XAddr>"
            f"<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
            for ns, path in items)
        return f"<tds:GetServicesResponse>{services}</tds:GetServicesResponse>"

    def op_GetCapabilities(self, request) -> str:
        return (f"<tds:GetCapabilitiesResponse><tds:Capabilities>"
                f"<tt:Device><tt:XAddr>{self.base}/device_service</tt:XAddr></tt:Device>"
                f"<tt:Media><tt:XAddr>{self.base}/media_service</tt:XAddr></tt:Media>"
                f"<tt:PTZ><tt:XAddr>{self.base}/ptz_service</tt:XAddr></tt:PTZ>"
                f"</tds:Capabilities></tds:GetCapabilitiesResponse>")

    # ------------------------------------------------------------ media service

    def op_GetProfiles(self, request) -> str:
        return ('<trt:GetProfilesResponse><trt:Profiles token="profile_1" fixed="true">'
                '<tt:Name>MainStream</tt:Name></trt:Profiles></trt:GetProfilesResponse>')

    # ------------------------------------------------------------ PTZ service

    def _profile(self, request) -> None:
        token = request.findtext("tptz:ProfileToken", "", NS)
        if token != "profile_1":
            raise ValueError(token)

    def op_GetPresets(self, request) -> str:
        self._profile(request)
        items = "".join(
            f'<tptz:Preset token="{token}"><tt:Name>{name}</tt:Name><tt:PTZPosition>'
            f'<tt:PanTilt x="{p}" y="{t}"/><tt:Zoom x="{z}"/></tt:PTZPosition></tptz:Preset>'
            for token, (name, (p, t, z)) in self.presets.items())
        return f"<tptz:GetPresetsResponse>{items}</tptz:GetPresetsResponse>"

    def op_GotoPreset(self, request) -> str:
        self._profile(request)
        token = request.findtext("tptz:PresetToken", "", NS)
        if token not in self.presets:
            raise KeyError(token)
        with self._lock:
            self._advance()
            self._pos = list(self.presets[token][1])
            self._vel, self._until = (0.0, 0.0, 0.0), None
        return "<tptz:GotoPresetResponse/>"

    def op_SetPreset(self, request) -> str:
        self._profile(request)
        name = request.findtext("tptz:PresetName", "", NS)
        token = str(max((int(t) for t in self.presets), default=0) + 1)
        self.presets[token] = (name, self.position)
        return (f"<tptz:SetPresetResponse><tptz:PresetToken>{token}</tptz:PresetToken>"
                "</tptz:SetPresetResponse>")

    def op_ContinuousMove(self, request) -> str:
        self._profile(request)
        pan_tilt = request.find("tptz:Velocity/tt:PanTilt", NS)
        zoom = request.find("tptz:Velocity/tt:Zoom", NS)
        timeout = _duration(request.findtext("tptz:Timeout", None, NS))
        velocity = (float(pan_tilt.get("x", 0)) if pan_tilt is not None else 0.0,
                    float(pan_tilt.get("y", 0)) if pan_tilt is not None else 0.0,
                    float(zoom.get("x", 0)) if zoom is not None else 0.0)
        with self._lock:
            self._advance()
            self._vel = velocity
            self._until = time.monotonic() + timeout if timeout else None
        return "<tptz:ContinuousMoveResponse/>"

    def op_Stop(self, request) -> str:
        self._profile(request)
        with self._lock:
            self._advance()
            self._vel, self._until = (0.0, 0.0, 0.0), None
        return "<tptz:StopResponse/>"

    def op_GetStatus(self, request) -> str:
        self._profile(request)
        pan, tilt, zoom = self.position
        state = "MOVING" if self.moving else "IDLE"
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f'<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>'
                f'<tt:PanTilt x="{pan:.4f}" y="{tilt:.4f}"/><tt:Zoom x="{zoom:.4f}"/></tt:Position>'
                f'<tt:MoveStatus><tt:PanTilt>{state}</tt:PanTilt><tt:Zoom>{state}</tt:Zoom></tt:MoveStatus>'
                f'<tt:UtcTime>{now}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>')


def _envelope(inner: str) -> str:
    names = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k not in ("wsse", "wsu"))
    return (f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope {names} '
            f'xmlns:ter="http://www.onvif.org/ver10/error"><env:Body>{inner}</env:Body></env:Envelope>')


def _fault(code: str, subcode: str, reason: str) -> str:
    return _envelope(
        f"<env:Fault><env:Code><env:Value>{code}</env:Value><env:Subcode><env:Value>{subcode}"
        f"</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang=\"en\">{reason}"
        f"</env:Text></env:Reason></env:Fault>")
