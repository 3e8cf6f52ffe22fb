"""PTZ (云台) over ONVIF with onvif-zeep-async: continuous move, stop, presets, status.

Each command opens the device (GetServices → media GetProfiles → the first profile's token),
sends one PTZ request and closes; the whole exchange is bounded by
VIDEO_ONVIF_TIMEOUT_SECONDS. Every failure becomes a `PtzError` with a Chinese message
(offline, timed out, wrong credentials, refused); nothing is retried behind the user's back.
Callers are synchronous (views, API, services), so each command runs its own event loop.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from smartsite.core import netpolicy
from smartsite.core.errors import DomainError
from smartsite.video import network

log = logging.getLogger(__name__)


class PtzError(DomainError):
    """The PTZ command did not reach the camera or the camera refused it; nothing changed."""

    code, status = "video.ptz", 409


@dataclass(frozen=True)
class Preset:
    token: str
    name: str


@dataclass(frozen=True)
class Position:
    pan: float
    tilt: float
    zoom: float
    moving: bool


def _require(camera) -> None:
    if not camera.active:
        raise PtzError("该摄像头已停用", code="video.ptz_inactive")
    if not camera.ptz_capable or not camera.onvif_host:
        raise PtzError("该摄像头不支持云台控制（未登记为云台摄像头或缺少 ONVIF 地址）",
                       code="video.ptz_unsupported")


def _credentials(camera) -> tuple[str, str]:
    try:
        return camera.username, camera.password
    except Exception as exc:  # InvalidToken
        raise PtzError("无法解密该摄像头的用户名和密码（密钥已更换），请在编辑页重新填写") from exc


def _refusal(exc: BaseException | None) -> netpolicy.AddressRefused | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, netpolicy.AddressRefused):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _explain(exc: BaseException, camera) -> PtzError:
    """A Chinese message for a failed command. Refused credentials and a SOAP fault from the
    device are told apart; every other failure (refused, timed out, unreachable, not an ONVIF
    service, garbled answer) gets one message, so it cannot tell an open port from a closed
    one — the exception itself goes to the log."""
    import zeep.exceptions
    from onvif.exceptions import ONVIFAuthError, ONVIFError

    refused = _refusal(exc)
    if refused is not None:
        return PtzError(network.refused_message(camera.onvif_host, refused.address),
                        code="video.address_refused")
    if isinstance(exc, ONVIFAuthError):
        return PtzError("摄像头拒绝了 ONVIF 用户名或密码", code="video.ptz_auth")
    if isinstance(exc, zeep.exceptions.Fault):
        text = " ".join(str(x) for x in (exc.message, exc.code, *(exc.subcodes or [])))
        if "NotAuthorized" in text or "not authorized" in text.lower() or "auth" in text.lower():
            return PtzError("摄像头拒绝了 ONVIF 用户名或密码", code="video.ptz_auth")
        return PtzError(f"摄像头拒绝了该云台指令：{(exc.message or '').strip()[:100]}",
                        code="video.ptz_refused")
    if isinstance(exc, ONVIFError):
        cause = exc.__cause__ or exc.__context__
        if cause is not None and cause is not exc:
            return _explain(cause, camera)
    return PtzError(f"无法连接摄像头（ONVIF {camera.onvif_address}）或在 "
                    f"{settings.VIDEO_ONVIF_TIMEOUT_SECONDS} 秒内没有响应：摄像头离线、"
                    "地址或端口有误，或该端口不是 ONVIF 服务", code="video.ptz_offline")


async def _session(camera):
    from onvif import ONVIFCamera

    user, password = _credentials(camera)
    port = camera.onvif_port or 80
    address = await asyncio.to_thread(network.checked_address, camera.onvif_host, port, PtzError)
    # Every service address the device advertises is rewritten to the checked address and port
    # (nat_override), and the event loop refuses any other destination (network.GuardedLoop).
    device = ONVIFCamera(address, port, user or "", password or "", no_cache=True,
                         nat_override=True)
    try:
        await device.update_xaddrs()
        media = await device.create_media_service()
        profiles = await media.GetProfiles()
        if not profiles:
            raise PtzError("摄像头没有媒体配置（Profile），无法控制云台")
        ptz = await device.create_ptz_service()
    except BaseException:
        await device.close()
        raise
    return device, ptz, profiles[0].token


async def _warm_wsdl() -> None:
    """Parse the bundled WSDLs once per process, before the command's clock starts: the
    first parse takes a second or more on a busy machine, which is not the camera's delay.
    (onvif-zeep-async caches parsed documents by path in `_cached_document`.)"""
    try:
        from onvif.client import _WSDL_PATH, _cached_document
        from onvif.definition import SERVICES
    except ImportError:  # a later onvif-zeep-async: the timeout then includes the parse
        return
    for name in ("devicemgmt", "media", "ptz"):
        await _cached_document(str(Path(_WSDL_PATH) / SERVICES[name]["wsdl"]))


def _run(camera, action):
    """Run `action(ptz, profile_token)` against the camera within the timeout."""
    _require(camera)

    async def go():
        device, ptz, token = await _session(camera)
        try:
            return await action(ptz, token)
        finally:
            await device.close()

    async def bounded():
        await asyncio.wait_for(_warm_wsdl(), 60)
        return await asyncio.wait_for(go(), settings.VIDEO_ONVIF_TIMEOUT_SECONDS)

    try:
        return _in_loop(bounded)
    except PtzError:
        raise
    except Exception as exc:
        log.info("PTZ to camera %s failed: %r", camera.pk, exc)
        raise _explain(exc, camera) from exc


def _in_loop(factory):
    """asyncio.run(factory()) in a `GuardedLoop`, also from a thread that already runs a loop."""
    def run():
        with asyncio.Runner(loop_factory=network.GuardedLoop) as runner:
            return runner.run(factory())

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    box: dict = {}

    def target():
        try:
            box["value"] = run()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ---------------------------------------------------------------- commands


def continuous_move(camera, *, pan: float = 0.0, tilt: float = 0.0, zoom: float = 0.0,
                    seconds: float = 2.0) -> None:
    """Start moving at the given speeds (-1…1); the camera stops by itself after `seconds`
    if no Stop arrives (a lost Stop never leaves it spinning)."""

    async def action(ptz, token):
        await ptz.ContinuousMove({
            "ProfileToken": token,
            "Velocity": {"PanTilt": {"x": pan, "y": tilt}, "Zoom": {"x": zoom}},
            "Timeout": datetime.timedelta(seconds=seconds),
        })

    _run(camera, action)


def stop(camera) -> None:
    async def action(ptz, token):
        await ptz.Stop({"ProfileToken": token, "PanTilt": True, "Zoom": True})

    _run(camera, action)


def presets(camera) -> list[Preset]:
    async def action(ptz, token):
        found = await ptz.GetPresets({"ProfileToken": token})
        return [Preset(str(p.token), str(p.Name or p.token)) for p in (found or [])]

    return _run(camera, action)


def goto_preset(camera, token: str) -> None:
    async def action(ptz, profile):
        await ptz.GotoPreset({"ProfileToken": profile, "PresetToken": token})

    _run(camera, action)


def set_preset(camera, name: str) -> str:
    """Save the current position as a preset called `name`; returns its token."""

    async def action(ptz, profile):
        result = await ptz.SetPreset({"ProfileToken": profile, "PresetName": name})
        return str(result)

    return _run(camera, action)


def status(camera) -> Position:
    async def action(ptz, token):
        st = await ptz.GetStatus({"ProfileToken": token})
        pos = st.Position
        moving = st.MoveStatus is not None and "MOVING" in (
            str(st.MoveStatus.PanTilt), str(st.MoveStatus.Zoom))
        return Position(float(pos.PanTilt.x), float(pos.PanTilt.y), float(pos.Zoom.x), moving)

    return _run(camera, action)
