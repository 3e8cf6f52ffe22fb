"""The write path of video (design.md §2 rule 1): cameras, snapshots, snapshot requests for
events, and PTZ commands. Views, API, CLI and the worker are thin callers.

Credentials never enter the audit trail: the camera's audit snapshot drops the encrypted
fields and says only whether credentials are set (and when they were changed).
"""

from __future__ import annotations

import datetime
import logging
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from smartsite.core import audit
from smartsite.core.choices import AuditAction
from smartsite.core.errors import Conflict
from smartsite.video import ffmpeg as ff
from smartsite.video import links, live, permissions, ptz
from smartsite.video.choices import RequestState, SnapshotSource
from smartsite.video.models import Camera, Snapshot, SnapshotRequest

log = logging.getLogger(__name__)

CAMERA_FIELDS = ("name", "project", "monitor", "location", "rtsp_url", "onvif_host", "onvif_port",
                 "ptz_capable", "record", "active")


def video_root() -> Path:
    return Path(settings.DATA_DIR) / "video"


# ---------------------------------------------------------------- cameras


def split_credentials(url: str) -> tuple[str, str, str]:
    """(url without user:pass@, user, password) — a typed `rtsp://admin:pw@host/…` is taken
    apart so that the credentials are stored encrypted and the URL stays plain."""
    url = (url or "").strip()
    if "://" not in url:
        return url, "", ""
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed (an unclosed "["): the model's clean says so
        return url, "", ""
    if "@" not in parts.netloc:
        return url, "", ""
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    plain = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return plain, unquote(user), unquote(password)


#: The longest user name or password a camera takes (stored encrypted, so the column does not
#: say it).
CREDENTIAL_MAX = 100


def _check_credentials(username: str | None, password: str | None) -> None:
    errors = {}
    for field, value, label in (("username", username, "用户名"), ("password", password, "密码")):
        if value is not None and len(value) > CREDENTIAL_MAX:
            errors[field] = f"{label}最多 {CREDENTIAL_MAX} 个字符"
    if errors:
        raise ValidationError(errors)


def _audit_snapshot(camera: Camera) -> dict:
    data = audit.snapshot(camera)
    for name in Camera.SECRET_FIELDS:
        data.pop(name, None)
    data.pop("monitor_type", None)  # the linked device, by its id as before it was generic
    data["monitor"] = data.pop("monitor_id", None)
    data["credentials"] = "已设置" if camera.has_credentials else "未设置"
    return data


def register_camera(*, project, name: str, rtsp_url: str, username: str = "", password: str = "",
                    actor=None, **fields) -> Camera:
    """Add a camera (validated like the form; nothing saved when refused). With an `actor`
    the permission is checked and the registration audited."""
    if actor is not None:
        permissions.require_manage(actor, project)
    plain, url_user, url_password = split_credentials(rtsp_url)
    username, password = (username or url_user), (password or url_password)
    _check_credentials(username, password)
    camera = Camera(project=project, name=(name or "").strip(), rtsp_url=plain, **fields)
    camera.set_credentials(username or "", password or "")
    camera.full_clean()
    with transaction.atomic():
        camera.save()
        if actor is not None:
            audit.record(actor, camera, AuditAction.CREATE,
                         audit.diff(None, _audit_snapshot(camera)))
    return camera


def update_camera(camera: Camera, *, actor=None, username: str | None = None,
                  password: str | None = None, clear_credentials: bool = False,
                  **fields) -> Camera:
    """Change a camera. `username`/`password` None keeps the stored ones (a blank form field
    means "unchanged"); `clear_credentials` removes them. A changed address or credentials
    restart the live view on its next fetch."""
    if actor is not None:
        permissions.require_manage(actor, camera.project)
        if "project" in fields:
            permissions.require_manage(actor, fields["project"])
    unknown = set(fields) - set(CAMERA_FIELDS)
    if unknown:
        raise TypeError(f"unknown camera fields: {sorted(unknown)}")
    camera = Camera.objects.get(pk=camera.pk)
    before = _audit_snapshot(camera)
    if "rtsp_url" in fields:
        plain, url_user, url_password = split_credentials(fields["rtsp_url"])
        fields["rtsp_url"] = plain
        if url_user or url_password:
            username = username or url_user
            password = password or url_password
    _check_credentials(username, password)
    old_key = (camera.rtsp_url, camera.username_secret, camera.password_secret)
    for name, value in fields.items():
        setattr(camera, name, value)
    credentials_changed = False
    if clear_credentials:
        camera.set_credentials("", "")
        credentials_changed = True
    elif username is not None or password is not None:
        try:
            current_user, current_password = camera.username, camera.password
        except Exception:  # unreadable (key changed): only what is typed now counts
            current_user = current_password = ""
        camera.set_credentials(current_user if username is None else username,
                               current_password if password is None else password)
        credentials_changed = True
    camera.full_clean()
    with transaction.atomic():
        camera.save()
        changes = audit.diff(before, _audit_snapshot(camera))
        if credentials_changed:
            changes["credentials"] = [before["credentials"], "已更改" if camera.has_credentials
                                      else "未设置"]
        if actor is not None and changes:
            audit.record(actor, camera, AuditAction.UPDATE, changes)
    if old_key != (camera.rtsp_url, camera.username_secret, camera.password_secret) or not camera.active:
        live.stop(camera.pk)
    return camera


def delete_camera(camera: Camera, *, actor) -> None:
    """Remove a camera and its own snapshots. One whose snapshots are an event's evidence
    cannot be removed (stop it instead): evidence is kept."""
    permissions.require_manage(actor, camera.project)
    if camera.snapshots.filter(event__isnull=False).exists():
        raise Conflict("该摄像头的抓拍已作为事件证据，不能删除；如不再使用，请将其停用",
                       code="video.camera_has_evidence")
    files = [video_root() / s.file for s in camera.snapshots.all()]
    camera_id = camera.pk
    with transaction.atomic():
        audit.record(actor, camera, AuditAction.DELETE, audit.diff(_audit_snapshot(camera), None))
        camera.delete()
    live.remove_camera(camera_id)
    for path in files:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------- snapshots


def _grab(camera: Camera, taken_at: datetime.datetime) -> tuple[str, dict]:
    stamp = taken_at.astimezone(datetime.UTC)
    relative = (Path("snapshots") / str(camera.pk) / stamp.strftime("%Y%m%d")
                / f"{stamp:%H%M%S}-{secrets.token_hex(4)}.jpg")
    path = video_root() / relative
    ff.grab_frame(camera, path)
    return str(relative), ff.probe(path)


def take_snapshot(camera: Camera, *, actor=None, event=None, now=None) -> Snapshot:
    """Grab one frame now (a few seconds) and keep it; raises CameraError (nothing kept) when
    the camera cannot be read. With an `actor` the permission is checked and audited."""
    if actor is not None:
        permissions.require_operate(actor, camera)
    if not camera.active:
        raise ff.CameraError("该摄像头已停用，不能抓拍", code="video.inactive")
    taken_at = now or timezone.now()
    relative, info = _grab(camera, taken_at)
    path = video_root() / relative
    with transaction.atomic():
        snapshot = Snapshot.objects.create(
            camera=camera, event=event, taken_at=taken_at, file=relative,
            source=SnapshotSource.EVENT if event is not None else SnapshotSource.MANUAL,
            width=info.get("width") or 0, height=info.get("height") or 0,
            size=path.stat().st_size, taken_by=actor if actor is not None and actor.pk else None)
        if actor is not None:
            audit.record(actor, snapshot, AuditAction.CREATE,
                         {"camera": [None, camera.pk], "taken_at": [None, taken_at.isoformat()]},
                         project=camera.project)
    return snapshot


def snapshot_file(snapshot: Snapshot) -> Path:
    return video_root() / snapshot.file


def cameras_for_event(event) -> list[Camera]:
    """The cameras that should photograph `event`: the ones linked to the device that raised
    it (its scenario's events carry the device's code as `subject`, `links`: a dust monitor's
    MN), else every active camera of its project."""
    cameras = Camera.objects.filter(project_id=event.project_id, active=True)
    kind = links.device_kind()
    if event.subject and kind is not None and event.scenario == kind.scenario:
        devices = kind.model_class().objects.filter(project_id=event.project_id,
                                                    **{kind.code: event.subject})
        linked = list(cameras.filter(monitor_type=ContentType.objects.get_for_model(
            kind.model_class()), monitor_id__in=devices.values("pk")))
        if linked:
            return linked
    return list(cameras)


def request_snapshot(event, now=None) -> list[SnapshotRequest]:
    """Record (durably, once per event and camera) that `event` wants a snapshot; the worker
    takes it (`take_due_snapshots`). Returns the requests, old or new; [] if the project has
    no active camera."""
    now = now or timezone.now()
    out = []
    for camera in cameras_for_event(event):
        request, _ = SnapshotRequest.objects.get_or_create(
            event=event, camera=camera, defaults={"due_at": now})
        out.append(request)
    return out


def _claim(limit: int, now) -> list[SnapshotRequest]:
    """Take up to `limit` due requests for this worker: their `due_at` moves past a lease, so
    another worker leaves them alone (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
    lease = now + datetime.timedelta(seconds=settings.VIDEO_RTSP_TIMEOUT_SECONDS * 3 + 60)
    with transaction.atomic():
        qs = SnapshotRequest.objects.filter(state=RequestState.PENDING, due_at__lte=now)
        if connection.vendor == "postgresql":
            qs = qs.select_for_update(skip_locked=True)
        batch = list(qs.order_by("due_at")[:limit])
        if batch:
            SnapshotRequest.objects.filter(pk__in=[r.pk for r in batch]).update(due_at=lease)
    return batch


def take_due_snapshots(limit: int = 10, now=None) -> int:
    """Worker unit: take the due snapshot requests (each a few seconds). A failure is tried
    again after VIDEO_SNAPSHOT_BACKOFF_SECONDS, doubling, and given up after
    VIDEO_SNAPSHOT_MAX_ATTEMPTS with the reason kept. Returns how many were attempted."""
    now = now or timezone.now()
    batch = _claim(limit, now)
    for request in batch:
        _take_one(request, now)
    return len(batch)


def _take_one(request: SnapshotRequest, now) -> None:
    camera, event = request.camera, request.event
    error = ""
    snapshot = None
    try:
        if not camera.active:
            raise ff.CameraError("摄像头已停用")
        snapshot = take_snapshot(camera, event=event, now=timezone.now())
    except ValidationError as exc:
        error = "；".join(exc.messages)
    except ff.CameraError as exc:
        error = exc.message
    except Exception as exc:  # never stops the worker; recorded like any failure
        log.exception("snapshot for event %s failed", event.pk)
        error = f"内部错误：{type(exc).__name__}"
    with transaction.atomic():
        row = SnapshotRequest.objects.select_for_update().get(pk=request.pk)
        if row.state != RequestState.PENDING:
            return
        row.attempts += 1
        if snapshot is not None:
            row.state, row.snapshot, row.finished_at, row.last_error = (
                RequestState.DONE, snapshot, timezone.now(), "")
        elif row.attempts >= settings.VIDEO_SNAPSHOT_MAX_ATTEMPTS:
            row.state, row.finished_at = RequestState.FAILED, timezone.now()
            row.last_error = f"已尝试 {row.attempts} 次，放弃：{error}"[:300]
        else:
            row.last_error = error[:300]
            row.due_at = now + datetime.timedelta(
                seconds=settings.VIDEO_SNAPSHOT_BACKOFF_SECONDS * 2 ** (row.attempts - 1))
        row.save()


# ---------------------------------------------------------------- PTZ


SPEED_MESSAGE = "速度应在 -1 到 1 之间"


def _speed(value, field: str) -> float:
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: SPEED_MESSAGE}) from None
    if not -1.0 <= speed <= 1.0 or speed != speed:
        raise ValidationError({field: SPEED_MESSAGE})
    return speed


def ptz_move(camera: Camera, *, actor, pan=0.0, tilt=0.0, zoom=0.0) -> None:
    """Start a continuous move (the camera stops by itself after 2 s without a Stop)."""
    permissions.require_operate(actor, camera)
    pan, tilt, zoom = _speed(pan, "pan"), _speed(tilt, "tilt"), _speed(zoom, "zoom")
    if not (pan or tilt or zoom):
        raise ValidationError({"pan": "请至少给出一个方向（水平、垂直或变焦）的速度"})
    ptz.continuous_move(camera, pan=pan, tilt=tilt, zoom=zoom)


def ptz_stop(camera: Camera, *, actor) -> None:
    permissions.require_operate(actor, camera)
    ptz.stop(camera)


def ptz_presets(camera: Camera, *, actor) -> list[ptz.Preset]:
    permissions.require_operate(actor, camera)
    return ptz.presets(camera)


def ptz_goto(camera: Camera, *, actor, token: str) -> None:
    permissions.require_operate(actor, camera)
    token = (token or "").strip()
    if not token or len(token) > 64:
        raise ValidationError({"token": "请选择预置位"})
    ptz.goto_preset(camera, token)


def ptz_set_preset(camera: Camera, *, actor, name: str) -> str:
    """Save the camera's current position as preset `name` on the camera (audited)."""
    permissions.require_operate(actor, camera)
    name = (name or "").strip()
    if not name or len(name) > 40:
        raise ValidationError({"name": "预置位名称应为 1–40 个字符"})
    token = ptz.set_preset(camera, name)
    audit.record(actor, camera, AuditAction.UPDATE, {"preset": [None, f"{name}（{token}）"]})
    return token
