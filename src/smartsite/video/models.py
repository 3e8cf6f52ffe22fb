"""Cameras on projects, their snapshots, and pending snapshot requests for events.

Credentials (user name, password) are stored encrypted (`video.crypto`), never in the RTSP
URL: an address typed with `user:pass@` is split by `services` before it is saved.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from smartsite.core.models import Project, ScopedModel
from smartsite.video import crypto, links, network
from smartsite.video.choices import RequestState, SnapshotSource

__all__ = ["Camera", "Snapshot", "SnapshotRequest"]

RTSP_SCHEMES = ("rtsp", "rtsps")
RTSP_MESSAGE = "摄像头地址必须以 rtsp:// 或 rtsps:// 开头"


class Camera(ScopedModel):
    """A network camera on a site (视频监控点), watched live, recorded and steered (PTZ)."""

    # Messages on the fields: the page's form and the API refuse the same input in the same
    # words (`full_clean` in `services`).
    name = models.CharField("名称", max_length=100, error_messages={"blank": "请填写摄像头名称"})
    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT,
                                related_name="cameras")
    # The linked device of a scenario (a dust monitor; `links`): generic, so that video's
    # tables name no scenario's. Set and read as `monitor` (the device object).
    monitor_type = models.ForeignKey(ContentType, verbose_name="关联设备类型", null=True,
                                     blank=True, editable=False, on_delete=models.PROTECT,
                                     related_name="+")
    monitor_id = models.PositiveBigIntegerField("关联监测设备", null=True, blank=True,
                                                editable=False)
    monitor = GenericForeignKey("monitor_type", "monitor_id")
    location = models.CharField("安装位置", max_length=100, blank=True)
    rtsp_url = models.CharField("视频流地址（RTSP）", max_length=500,
                                error_messages={"blank": "请填写视频流地址（RTSP）"},
                                help_text="如 rtsp://192.168.1.64:554/Streaming/Channels/101；"
                                          "用户名和密码另填，加密保存")
    onvif_host = models.CharField("ONVIF 地址", max_length=255, blank=True,
                                  help_text="摄像头的 IP 或主机名，云台控制需要")
    onvif_port = models.PositiveIntegerField(
        "ONVIF 端口", null=True, blank=True,
        validators=[MinValueValidator(1, "端口应为 1–65535"), MaxValueValidator(65535, "端口应为 1–65535")])
    username_secret = models.TextField("用户名（加密）", blank=True, editable=False)
    password_secret = models.TextField("密码（加密）", blank=True, editable=False)
    ptz_capable = models.BooleanField("支持云台", default=False)
    record = models.BooleanField("录像", default=False, help_text="录像保存在服务器上，供事件回放")
    active = models.BooleanField("启用", default=True)
    created = models.DateTimeField("创建时间", auto_now_add=True)
    updated = models.DateTimeField("更新时间", auto_now=True)

    #: Fields that hold credentials: never audited, never shown, never in the API.
    SECRET_FIELDS = ("username_secret", "password_secret")

    class Meta:
        ordering = ["project", "name"]
        verbose_name = verbose_name_plural = "摄像头"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("video:camera", args=[self.pk])

    # ------------------------------------------------------------ credentials

    @property
    def username(self) -> str:
        return crypto.decrypt(self.username_secret)

    @property
    def password(self) -> str:
        return crypto.decrypt(self.password_secret)

    def set_credentials(self, username: str, password: str) -> None:
        self.username_secret = crypto.encrypt(username)
        self.password_secret = crypto.encrypt(password)

    @property
    def has_credentials(self) -> bool:
        return bool(self.username_secret or self.password_secret)

    def credentials_readable(self) -> bool:
        try:
            self.username, self.password  # noqa: B018
        except crypto.InvalidToken:
            return False
        return True

    @property
    def monitor_code(self) -> str:
        """The linked device's code (a dust monitor's MN), "" without one."""
        kind = links.device_kind()
        device = self.monitor if self.monitor_id else None
        return kind.code_of(device) if kind is not None and kind.accepts(device) else ""

    @property
    def onvif_address(self) -> str:
        return f"{self.onvif_host}:{self.onvif_port or 80}" if self.onvif_host else ""

    def clean(self):
        errors: dict[str, str] = {}
        url = (self.rtsp_url or "").strip()
        try:
            parts = urlsplit(url) if "://" in url else None
            _port = parts.port if parts is not None else None  # (a bad port raises)
            malformed = False
        except ValueError:  # e.g. an unclosed "[" or a port outside 0–65535
            parts, malformed = None, True
        if malformed:
            errors["rtsp_url"] = "摄像头地址格式有误（主机名或端口无效），如 rtsp://192.168.1.64:554/stream1"
        elif parts is None or parts.scheme.lower() not in RTSP_SCHEMES:
            errors["rtsp_url"] = RTSP_MESSAGE
        elif not parts.hostname:
            errors["rtsp_url"] = "摄像头地址缺少主机名，如 rtsp://192.168.1.64:554/stream1"
        elif parts.username or parts.password:
            errors["rtsp_url"] = "地址中不能含用户名和密码，请分别填写（加密保存）"
        elif any(c.isspace() for c in url):
            errors["rtsp_url"] = "摄像头地址不能含空格"
        elif not network.host_allowed(parts.hostname):
            errors["rtsp_url"] = "摄像头地址" + network.REFUSED_AT_SAVE
        host = (self.onvif_host or "").strip()
        if host and (any(c in host for c in "/@ ") or "://" in host):
            errors["onvif_host"] = "ONVIF 地址只填 IP 或主机名，如 192.168.1.64（端口另填）"
        elif host and not network.host_allowed(host):
            errors["onvif_host"] = "ONVIF 地址" + network.REFUSED_AT_SAVE
        if self.ptz_capable and not host:
            errors["onvif_host"] = "云台控制需要填写 ONVIF 地址"
        device = self.monitor if self.monitor_id else None
        kind = links.device_kind()
        if device is not None and (kind is None or not kind.accepts(device)
                                   or (self.project_id and device.project_id != self.project_id)):
            errors["monitor"] = "只能关联本项目的监测设备"
        if errors:
            raise ValidationError(errors)


class Snapshot(ScopedModel):
    """One still frame grabbed from a camera (JPEG under the data directory), manual or as an
    event's evidence (取证)."""

    project_path = "camera__project"

    camera = models.ForeignKey(Camera, verbose_name="摄像头", on_delete=models.CASCADE,
                               related_name="snapshots")
    event = models.ForeignKey("workorders.Event", verbose_name="事件", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="snapshots")
    source = models.CharField("来源", max_length=10, choices=SnapshotSource.choices,
                              default=SnapshotSource.MANUAL)
    taken_at = models.DateTimeField("抓拍时间")
    file = models.CharField("文件", max_length=300, help_text="相对于视频数据目录")
    width = models.PositiveIntegerField("宽", default=0)
    height = models.PositiveIntegerField("高", default=0)
    size = models.PositiveIntegerField("字节数", default=0)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="抓拍人", null=True,
                                 blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-taken_at"]
        verbose_name = verbose_name_plural = "抓拍"
        indexes = [models.Index(fields=["camera", "-taken_at"])]

    def __str__(self) -> str:
        return f"{self.camera} {self.taken_at:%Y-%m-%d %H:%M:%S}"

    def get_absolute_url(self) -> str:
        return reverse("video:snapshot_image", args=[self.pk])


class SnapshotRequest(ScopedModel):
    """A durable "grab a frame for this event" (design.md §2 rule 4: a row with `due_at`,
    taken by the worker). One per event and camera, so asking twice changes nothing."""

    project_path = "camera__project"

    event = models.ForeignKey("workorders.Event", verbose_name="事件", on_delete=models.CASCADE,
                              related_name="snapshot_requests")
    camera = models.ForeignKey(Camera, verbose_name="摄像头", on_delete=models.CASCADE,
                               related_name="snapshot_requests")
    state = models.CharField("状态", max_length=10, choices=RequestState.choices,
                             default=RequestState.PENDING)
    due_at = models.DateTimeField("下次尝试")
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    last_error = models.CharField("失败原因", max_length=300, blank=True)
    snapshot = models.ForeignKey(Snapshot, verbose_name="抓拍", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField("创建时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = verbose_name_plural = "抓拍请求"
        constraints = [models.UniqueConstraint(fields=["event", "camera"],
                                               name="snapshot_request_once")]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return f"{self.camera} ← 事件 {self.event_id}（{self.get_state_display()}）"
