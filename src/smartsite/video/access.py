"""Who gets through each video route's permission gate (core/access.py says how to read it)."""

from __future__ import annotations

from smartsite.core.access import CAMERA_OPERATORS, DEVICE_MANAGERS, SCOPED, Access

ROUTES = {
    "video:camera_list": Access(read=SCOPED, object="video.camera"),
    "video:camera_add": Access(read=DEVICE_MANAGERS, write=DEVICE_MANAGERS),
    "video:project_cameras": Access(read=SCOPED, object="core.project", ok=302),  # the list, filtered
    "video:camera": Access(read=SCOPED, object="video.camera"),
    "video:camera_edit": Access(read=DEVICE_MANAGERS, write=DEVICE_MANAGERS, object="video.camera"),
    "video:camera_delete": Access(read=DEVICE_MANAGERS, write=DEVICE_MANAGERS,
                                  object="video.camera"),
    "GET /cameras": Access(read=SCOPED, object="video.camera"),
    "POST /cameras": Access(write=DEVICE_MANAGERS, object="core.project", via="project"),
    "GET /cameras/{pk}": Access(read=SCOPED, object="video.camera"),
    "PATCH /cameras/{pk}": Access(write=DEVICE_MANAGERS, object="video.camera"),
    "DELETE /cameras/{pk}": Access(write=DEVICE_MANAGERS, object="video.camera"),
    # -------------------------------------------------------------- live view, playback
    "video:live_playlist": Access(read=SCOPED, object="video.camera"),
    "video:live_segment": Access(read=SCOPED, object="video.camera"),
    "video:playback": Access(read=SCOPED, object="video.camera"),
    "video:playback_playlist": Access(read=SCOPED, object="video.camera"),
    "video:recording": Access(read=SCOPED, object="video.camera"),
    # -------------------------------------------------------------- snapshots
    "video:snapshot_image": Access(read=SCOPED, object="video.snapshot"),
    "video:snapshot_take": Access(write=CAMERA_OPERATORS, object="video.camera"),
    "GET /cameras/{pk}/snapshots": Access(read=SCOPED, object="video.camera"),
    "POST /cameras/{pk}/snapshots": Access(write=CAMERA_OPERATORS, object="video.camera"),
    # -------------------------------------------------------------- PTZ
    "video:ptz": Access(write=CAMERA_OPERATORS, object="video.camera"),
    "video:ptz_presets": Access(read=SCOPED, object="video.camera"),  # refusals shown in the panel
    "POST /cameras/{pk}/ptz/move": Access(write=CAMERA_OPERATORS, object="video.camera"),
    "POST /cameras/{pk}/ptz/stop": Access(write=CAMERA_OPERATORS, object="video.camera"),
    "GET /cameras/{pk}/ptz/presets": Access(read=CAMERA_OPERATORS, object="video.camera"),
    "POST /cameras/{pk}/ptz/presets": Access(write=CAMERA_OPERATORS, object="video.camera"),
    "POST /cameras/{pk}/ptz/presets/{token}/goto": Access(write=CAMERA_OPERATORS,
                                                          object="video.camera"),
}
