from django.urls import path, re_path

from smartsite.video import views

app_name = "video"

urlpatterns = [
    path("", views.CameraListView.as_view(), name="camera_list"),
    path("add/", views.camera_edit, name="camera_add"),
    path("projects/<int:pk>/", views.project_cameras, name="project_cameras"),
    path("snapshots/<int:pk>.jpg", views.snapshot_image, name="snapshot_image"),
    path("<int:pk>/", views.camera_detail, name="camera"),
    path("<int:pk>/edit/", views.camera_edit, name="camera_edit"),
    path("<int:pk>/delete/", views.camera_delete, name="camera_delete"),
    path("<int:pk>/live/index.m3u8", views.live_playlist, name="live_playlist"),
    re_path(r"^(?P<pk>\d+)/live/(?P<name>seg\d{6}\.ts)$", views.live_segment, name="live_segment"),
    path("<int:pk>/playback/", views.playback, name="playback"),
    path("<int:pk>/playback/index.m3u8", views.playback_playlist, name="playback_playlist"),
    re_path(r"^(?P<pk>\d+)/recordings/(?P<name>\d{8}T\d{6}Z\.ts)$", views.recording,
            name="recording"),
    path("<int:pk>/snapshots/", views.snapshot_take, name="snapshot_take"),
    path("<int:pk>/ptz/", views.ptz_command, name="ptz"),
    path("<int:pk>/ptz/presets/", views.ptz_presets, name="ptz_presets"),
]
