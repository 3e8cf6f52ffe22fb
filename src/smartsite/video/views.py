"""The camera pages: the scoped list, a camera's page (live player, PTZ, snapshots, playback
form), registration, live HLS and playback playlists, segments and snapshot images.

Every object is fetched through `selectors` (absent or outside the scope → the same 404);
every change goes through `services`. Media answers carry `Cache-Control: no-store` or
`private` so no shared cache keeps a site's video.
"""

from __future__ import annotations

import datetime
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from smartsite.core import audit
from smartsite.core.errors import Forbidden, SmartsiteError
from smartsite.core.generic import Column, ObjectListView, _errors_to_form
from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.video import ffmpeg as ff
from smartsite.video import filtersets, live, permissions, recorder, selectors, services
from smartsite.video.forms import CameraForm, RangeForm
from smartsite.video.models import Camera

HLS = "application/vnd.apple.mpegurl"
LIVE_SEGMENT = re.compile(r"^seg\d{6}\.ts$")


class CameraListView(ObjectListView):
    queryset = Camera.objects.select_related("project__district").prefetch_related("monitor")
    filterset_class = filtersets.CameraFilterSet
    title = "摄像头"
    columns = [
        Column("名称", "name", link=True),
        Column("项目", "project.name"),
        Column("区", "project.district.name"),
        Column("安装位置", "location"),
        Column("关联监测设备", "monitor_code"),
        Column("云台", "ptz_capable"),
        Column("录像", "record"),
        Column("启用", "active"),
    ]

    def extra_context(self, request):
        return {"add_url_name": "video:camera_add" if permissions.can_register(request.user)
                else None}


@login_required
def project_cameras(request, pk):
    """A project's cameras: the list filtered to it (404 outside the scope)."""
    project = get_object_or_404(scoped(request.user, Project.objects.all()), pk=pk)
    return redirect(f"{reverse('video:camera_list')}?project={project.pk}")


@login_required
def camera_detail(request, pk):
    camera = selectors.camera_or_404(request.user, pk)
    now = timezone.localtime()
    return render(request, "video/camera.html", {
        "title": f"摄像头 {camera.name}",
        "camera": camera,
        "ffmpeg_missing": ff.binary() is None,
        "ffmpeg_message": ff.NOT_INSTALLED,
        "can_edit": permissions.may_manage(request.user, camera.project),
        "can_operate": permissions.may_operate(request.user, camera),
        "snapshots": camera.snapshots.select_related("event")[:12],
        "range_form": RangeForm(initial={"start": now.replace(minute=0, second=0, microsecond=0)
                                         - datetime.timedelta(hours=1),
                                         "end": now.replace(second=0, microsecond=0)}),
        "recorded": bool(recorder.segments(camera.pk)) if camera.record else False,
        "credentials_ok": camera.credentials_readable(),
        "history": audit.history(camera)[:20],
    })


# ---------------------------------------------------------------- register / edit / delete


@login_required
def camera_edit(request, pk=None):
    if pk is None:
        if not permissions.can_register(request.user):
            raise Forbidden("只有市、区监管部门和项目的施工单位可以登记摄像头")
        stored, instance = None, Camera()
    else:
        stored = selectors.camera_or_404(request.user, pk)
        permissions.require_manage(request.user, stored.project)
        instance = Camera.objects.get(pk=pk)
    initial = {"project": request.GET.get("project")} if stored is None else None
    form = CameraForm(request.POST if request.method == "POST" else None, instance=instance,
                      user=request.user, initial=initial)
    if request.method != "POST":
        return _edit_page(request, form, stored)
    if form.is_valid():
        data = form.camera_fields()
        username = form.cleaned_data.get("username") or ""
        password = form.cleaned_data.get("password") or ""
        try:
            if stored is None:
                saved = services.register_camera(**data, username=username, password=password,
                                                 actor=request.user)
            else:
                saved = services.update_camera(
                    stored, **data, actor=request.user, username=username or None,
                    password=password or None,
                    clear_credentials=form.cleaned_data.get("clear_credentials", False))
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"已{'登记' if stored is None else '保存'}摄像头：{saved.name}")
            return redirect(saved)
    return _edit_page(request, form, stored, status=422)


def _edit_page(request, form, stored, status=200):
    return render(request, "generic/object_edit.html",
                  {"form": form, "object": stored or Camera(), "title": "摄像头"}, status=status)


@login_required
def camera_delete(request, pk):
    camera = selectors.camera_or_404(request.user, pk)
    permissions.require_manage(request.user, camera.project)  # seen but not theirs: 403, as the API
    if request.method != "POST":
        return render(request, "generic/object_delete.html", {"object": camera})
    try:
        services.delete_camera(camera, actor=request.user)
    except SmartsiteError as exc:
        messages.error(request, exc.message)
        return redirect(camera)
    messages.success(request, f"已删除摄像头：{camera.name}")
    return redirect("video:camera_list")


# ---------------------------------------------------------------- live view


def _problem(exc: SmartsiteError, status: int | None = None) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=status or exc.status,
                        json_dumps_params={"ensure_ascii": False},
                        headers={"Cache-Control": "no-store"})


@login_required
def live_playlist(request, pk):
    """The live playlist: starts ffmpeg on the first fetch, keeps it alive while fetched."""
    camera = selectors.camera_or_404(request.user, pk)
    try:
        text = live.playlist(camera)
    except ff.CameraError as exc:
        status = 503 if exc.code in ("video.ffmpeg_missing", "video.live_starting") else 409
        return _problem(exc, status)
    return HttpResponse(text, content_type=HLS, headers={"Cache-Control": "no-store"})


@login_required
def live_segment(request, pk, name):
    camera = selectors.camera_or_404(request.user, pk)
    path = live.segment_path(camera.pk, name) if LIVE_SEGMENT.match(name) else None
    if path is None:
        raise Http404
    try:
        handle = open(path, "rb")  # noqa: SIM115 (FileResponse closes it)
    except FileNotFoundError:  # rotated away between the check and the open
        raise Http404 from None
    return FileResponse(handle, content_type="video/mp2t", headers={"Cache-Control": "private, max-age=60"})


# ---------------------------------------------------------------- playback


@login_required
def playback(request, pk):
    """事件回放: a range form and, for a valid range with recordings, the player."""
    camera = selectors.camera_or_404(request.user, pk)
    form = RangeForm(request.GET or None)
    context = {"title": f"录像回放 {camera.name}", "camera": camera, "form": form,
               "ffmpeg_missing": ff.binary() is None, "ffmpeg_message": ff.NOT_INSTALLED}
    status = 200
    if form.is_bound:
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            found = recorder.overlapping(camera.pk, start, end)
            if found:
                context.update(found=found, seconds=sum(s.duration for s in found),
                               playlist_url=f"{reverse('video:playback_playlist', args=[camera.pk])}"
                                            f"?{request.GET.urlencode()}")
            else:
                context["empty"] = ("该时段没有录像" if camera.record else
                                    "该摄像头未开启录像，没有可回放的视频")
        else:
            status = 400
    return render(request, "video/playback.html", context, status=status)


@login_required
def playback_playlist(request, pk):
    camera = selectors.camera_or_404(request.user, pk)
    form = RangeForm(request.GET)
    if not form.is_valid():
        message = "；".join(e for errs in form.errors.values() for e in errs)
        return JsonResponse({"code": "validation", "field": None, "message": message}, status=400,
                            json_dumps_params={"ensure_ascii": False})
    found = recorder.overlapping(camera.pk, form.cleaned_data["start"], form.cleaned_data["end"])
    if not found:
        return JsonResponse({"code": "video.no_recording", "field": None,
                             "message": "该时段没有录像"}, status=404,
                            json_dumps_params={"ensure_ascii": False})
    text = recorder.vod_playlist(found, lambda name: reverse("video:recording", args=[camera.pk, name]))
    return HttpResponse(text, content_type=HLS, headers={"Cache-Control": "no-store"})


@login_required
def recording(request, pk, name):
    camera = selectors.camera_or_404(request.user, pk)
    path = recorder.segment_path(camera.pk, name)
    if path is None:
        raise Http404
    return FileResponse(open(path, "rb"), content_type="video/mp2t",
                        headers={"Cache-Control": "private, max-age=3600"})


# ---------------------------------------------------------------- snapshots


@login_required
@require_POST
def snapshot_take(request, pk):
    """抓拍 button: grab a frame now (a few seconds); the page shows it or says why not."""
    camera = selectors.camera_or_404(request.user, pk)
    try:
        snapshot = services.take_snapshot(camera, actor=request.user)
    except SmartsiteError as exc:
        messages.error(request, f"抓拍失败：{exc.message}")
    else:
        messages.success(request, f"已抓拍：{timezone.localtime(snapshot.taken_at):%Y-%m-%d %H:%M:%S}")
    return redirect(f"{camera.get_absolute_url()}#snapshots")


@login_required
def snapshot_image(request, pk):
    snapshot = selectors.snapshot_or_404(request.user, pk)
    path = services.snapshot_file(snapshot)
    if not path.is_file():
        raise Http404
    return FileResponse(open(path, "rb"), content_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=86400"})


# ---------------------------------------------------------------- PTZ


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "") or bool(
        request.headers.get("HX-Request"))


@login_required
@require_POST
def ptz_command(request, pk):
    """One PTZ command from the camera page: move (press), stop (release), goto, save."""
    camera = selectors.camera_or_404(request.user, pk)
    action = request.POST.get("action", "")
    labels = {"move": "云台转动中", "stop": "已停止", "goto": "已转到预置位", "set": "已保存预置位"}
    try:
        if action == "move":
            services.ptz_move(camera, actor=request.user, pan=request.POST.get("pan", 0),
                              tilt=request.POST.get("tilt", 0), zoom=request.POST.get("zoom", 0))
        elif action == "stop":
            services.ptz_stop(camera, actor=request.user)
        elif action == "goto":
            services.ptz_goto(camera, actor=request.user, token=request.POST.get("token", ""))
        elif action == "set":
            services.ptz_set_preset(camera, actor=request.user, name=request.POST.get("name", ""))
        else:
            raise ValidationError({"action": "未知的云台指令"})
    except ValidationError as exc:
        message, status = "；".join(exc.messages), 400
    except SmartsiteError as exc:
        message, status = exc.message, exc.status
    else:
        message, status = labels[action], 200
    if _wants_json(request):
        return JsonResponse({"ok": status == 200, "message": message}, status=status,
                            json_dumps_params={"ensure_ascii": False})
    (messages.success if status == 200 else messages.error)(request, message)
    return redirect(camera)


@login_required
def ptz_presets(request, pk):
    """The presets panel (HTMX, loaded after the page so an offline camera never slows it)."""
    camera = selectors.camera_or_404(request.user, pk)
    try:
        found, error = services.ptz_presets(camera, actor=request.user), ""
    except SmartsiteError as exc:
        found, error = [], exc.message
    return render(request, "video/partials/presets.html",
                  {"camera": camera, "presets": found, "error": error})
