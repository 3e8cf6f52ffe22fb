"""The camera REST routes (mounted at /api/v1/): cameras (register, change, delete), their
snapshots, and PTZ and snapshot actions.

Reads start from `scoped()` (absent or out of scope → the same 404). Writes go through
`video.services` as the camera pages' do: the same permission (403), validation and messages
(field-level 422) and audit entry. Credentials go in and never come out: no response and no
audit entry holds them, only whether they are set.
"""

from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from smartsite.core.api import ProjectBrief
from smartsite.core.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    Id,
    In,
    Invalid,
    LocalTime,
    Pagination,
    Text,
    filter_params,
    filtered,
    pk_param,
    writing,
)
from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.video import filtersets, links, permissions, selectors, services
from smartsite.video.models import Camera

__all__ = ["router"]

router = Router()

ACTION_ERRORS = {**WRITE_ERRORS, 409: ErrorOut}


def _actor(request):
    return request.auth


class CameraOut(Schema):
    id: int
    name: str = Field(description="名称")
    project: ProjectBrief = Field(description="项目")
    monitor_mn: str | None = Field(None, description="关联监测设备的 MN")
    location: str = Field(description="安装位置")
    rtsp_url: str = Field(description="视频流地址（不含用户名和密码）")
    onvif_address: str = Field(description="ONVIF 地址（主机:端口），空为未配置")
    has_credentials: bool = Field(description="是否已保存用户名和密码（加密保存，接口不返回）")
    ptz_capable: bool = Field(description="支持云台")
    record: bool = Field(description="录像")
    active: bool = Field(description="启用")
    live_playlist: str = Field(description="实时画面 HLS 播放列表（浏览器会话访问）")
    created: LocalTime = Field(description="登记时间")

    @staticmethod
    def resolve_monitor_mn(obj):
        return obj.monitor_code or None

    @staticmethod
    def resolve_live_playlist(obj):
        return reverse("video:live_playlist", args=[obj.pk])


class CameraIn(In):
    name: Text = Field(description="名称（最多 100 字）")
    project: Id = Field(description="项目编号（您有权登记摄像头的项目）")
    monitor: Id | None = Field(
        None, description="关联监测设备编号（本项目的；其扬尘事件优先由这台摄像头抓拍）")
    location: Text = Field("", description="安装位置（最多 100 字）")
    rtsp_url: Text = Field(
        description="视频流地址：rtsp:// 或 rtsps://；地址中的 user:pass@ 会被拆出加密保存")
    onvif_host: Text = Field("", description="ONVIF 地址：IP 或主机名（云台控制需要）")
    onvif_port: int | None = Field(None, description="ONVIF 端口（1–65535，默认 80）")
    username: Text = Field(
        "", description="用户名（RTSP 与 ONVIF 共用，最多 100 字；只写入，加密保存，不返回）")
    password: Text = Field("", description="密码（最多 100 字；只写入，加密保存，不返回）")
    ptz_capable: bool = Field(False, description="支持云台（须填写 ONVIF 地址）")
    record: bool = Field(False, description="录像")
    active: bool = Field(True, description="启用")


class CameraPatch(In):
    """Only the fields given change; `null` only where the field may be empty."""

    name: Text = Field(None, description="名称")
    project: Id = Field(None, description="项目编号（两个项目都须有权登记）")
    monitor: Id | None = Field(None, description="关联监测设备编号；null 取消关联")
    location: Text = Field(None, description="安装位置")
    rtsp_url: Text = Field(None, description="视频流地址")
    onvif_host: Text = Field(None, description="ONVIF 地址；空字符串清除")
    onvif_port: int | None = Field(None, description="ONVIF 端口；null 清除")
    username: Text = Field(None, description="用户名（只写入）；不给出则不变")
    password: Text = Field(None, description="密码（只写入）；不给出则不变")
    clear_credentials: bool = Field(False, description="true：清除已保存的用户名和密码")
    ptz_capable: bool = Field(None, description="支持云台")
    record: bool = Field(None, description="录像")
    active: bool = Field(None, description="启用；false 停用（停止实时画面和抓拍）")


class SnapshotOut(Schema):
    id: int
    camera: int = Field(description="摄像头编号")
    event: int | None = Field(None, description="事件编号（事件抓拍）")
    source: str = Field(description="来源：manual 手动 / event 事件")
    taken_at: LocalTime = Field(description="抓拍时间")
    width: int
    height: int
    size: int = Field(description="字节数")
    image: str = Field(description="JPEG 地址")

    @staticmethod
    def resolve_camera(obj):
        return obj.camera_id

    @staticmethod
    def resolve_event(obj):
        return obj.event_id

    @staticmethod
    def resolve_image(obj):
        return obj.get_absolute_url()


class MoveIn(In):
    pan: float = Field(0.0, description="水平速度，-1（左）到 1（右）")
    tilt: float = Field(0.0, description="垂直速度，-1（下）到 1（上）")
    zoom: float = Field(0.0, description="变焦速度，-1（缩小）到 1（放大）")


class PresetIn(In):
    name: str = Field(description="预置位名称（1–40 个字符）")


class PresetOut(Schema):
    token: str = Field(description="预置位标识")
    name: str = Field(description="名称")


class DoneOut(Schema):
    message: str


CameraParams = filter_params(filtersets.CameraFilterSet)


@router.get("/cameras", response={200: list[CameraOut], **READ_ERRORS}, tags=["cameras"],
            summary="摄像头")
@paginate(Pagination)
def list_cameras(request, filters: Query[CameraParams]):
    return filtered(request, filtersets.CameraFilterSet, selectors.cameras(_actor(request)))


@router.get("/cameras/{pk}", response={200: CameraOut, **READ_ERRORS}, tags=["cameras"],
            summary="摄像头详情")
def get_camera(request, pk: int = pk_param()):
    return selectors.camera_or_404(_actor(request), pk)


def _references(request, data: dict) -> None:
    """Resolve `project` and `monitor` ids to objects the user can see; an id that is absent
    or out of scope is the same 422."""
    actor, errors = _actor(request), {}
    if "project" in data:
        project = scoped(actor, Project.objects.all()).filter(pk=data["project"]).first()
        if project is None:
            errors["project"] = [f"未找到编号为 {data['project']} 的项目"]
        data["project"] = project
    if data.get("monitor") is not None:
        kind = links.device_kind()
        monitor = None if kind is None else scoped(actor, kind.model_class().objects.all()) \
            .filter(pk=data["monitor"]).first()
        if monitor is None:
            errors["monitor"] = [f"未找到编号为 {data['monitor']} 的监测设备"]
        data["monitor"] = monitor
    if errors:
        raise Invalid(errors, labels={"project": "项目", "monitor": "关联监测设备"})


@router.post("/cameras", response={201: CameraOut, **WRITE_ERRORS}, tags=["cameras"],
             summary="登记摄像头（市、区监管部门和项目的施工单位）")
def create_camera(request, payload: CameraIn):
    data = payload.model_dump()
    _references(request, data)
    with writing(Camera):
        camera = services.register_camera(**data, actor=_actor(request))
    return Status(201, selectors.camera_or_404(_actor(request), camera.pk))


@router.patch("/cameras/{pk}", response={200: CameraOut, **WRITE_ERRORS}, tags=["cameras"],
              summary="修改摄像头（只改给出的字段；active=false 停用）")
def update_camera(request, payload: CameraPatch, pk: int = pk_param()):
    camera = selectors.camera_or_404(_actor(request), pk)
    permissions.require_manage(_actor(request), camera.project)  # 403 before any 422
    data = payload.model_dump(exclude_unset=True)
    _references(request, data)
    with writing(Camera):
        services.update_camera(camera, **data, actor=_actor(request))
    return selectors.camera_or_404(_actor(request), pk)


@router.delete("/cameras/{pk}", response={204: None, **ACTION_ERRORS}, tags=["cameras"],
               summary="删除摄像头及其抓拍（抓拍已作为事件证据的摄像头不能删除：409，请停用）")
def delete_camera(request, pk: int = pk_param()):
    camera = selectors.camera_or_404(_actor(request), pk)
    services.delete_camera(camera, actor=_actor(request))
    return Status(204, None)


@router.get("/cameras/{pk}/snapshots", response={200: list[SnapshotOut], **READ_ERRORS},
            tags=["cameras"], summary="摄像头的抓拍（新的在前）")
@paginate(Pagination)
def list_snapshots(request, pk: int = pk_param()):
    camera = selectors.camera_or_404(_actor(request), pk)
    return camera.snapshots.all()


@router.post("/cameras/{pk}/snapshots", response={201: SnapshotOut, **ACTION_ERRORS},
             tags=["cameras"], summary="立即抓拍一张（需几秒；摄像头离线时 409 并说明原因）")
def take_snapshot(request, pk: int = pk_param()):
    camera = selectors.camera_or_404(_actor(request), pk)
    return Status(201, services.take_snapshot(camera, actor=_actor(request)))


@router.post("/cameras/{pk}/ptz/move", response={200: DoneOut, **ACTION_ERRORS},
             tags=["cameras"], summary="云台连续转动（2 秒内未收到停止指令则自动停止）")
def ptz_move(request, payload: MoveIn, pk: int = pk_param()):
    camera = selectors.camera_or_404(_actor(request), pk)
    services.ptz_move(camera, actor=_actor(request), pan=payload.pan, tilt=payload.tilt,
                      zoom=payload.zoom)
    return {"message": "云台转动中"}


@router.post("/cameras/{pk}/ptz/stop", response={200: DoneOut, **ACTION_ERRORS},
             tags=["cameras"], summary="云台停止")
def ptz_stop(request, pk: int = pk_param()):
    camera = selectors.camera_or_404(_actor(request), pk)
    services.ptz_stop(camera, actor=_actor(request))
    return {"message": "已停止"}


@router.get("/cameras/{pk}/ptz/presets", response={200: list[PresetOut], **ACTION_ERRORS},
            tags=["cameras"], summary="云台预置位")
def ptz_presets(request, pk: int = pk_param()):
    camera = selectors.camera_or_404(_actor(request), pk)
    return [p.__dict__ for p in services.ptz_presets(camera, actor=_actor(request))]


@router.post("/cameras/{pk}/ptz/presets", response={201: PresetOut, **ACTION_ERRORS},
             tags=["cameras"], summary="把当前位置保存为预置位")
def ptz_set_preset(request, payload: PresetIn, pk: int = pk_param()):
    camera = selectors.camera_or_404(_actor(request), pk)
    token = services.ptz_set_preset(camera, actor=_actor(request), name=payload.name)
    return Status(201, {"token": token, "name": payload.name})


@router.post("/cameras/{pk}/ptz/presets/{token}/goto", response={200: DoneOut, **ACTION_ERRORS},
             tags=["cameras"], summary="转到预置位")
def ptz_goto(request, token: str, pk: int = pk_param()):
    camera = selectors.camera_or_404(_actor(request), pk)
    services.ptz_goto(camera, actor=_actor(request), token=token)
    return {"message": "已转到预置位"}
