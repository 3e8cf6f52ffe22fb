"""What video brings to the platform (core.scenarios): cameras in the header and on the
project page, and the worker's video jobs. It serves every scenario: a scenario that wants
snapshots of its new events says so in its own declaration (`snapshots=True`)."""

from smartsite.core.scenarios import Declaration, Job, Link, NavEntry

DECLARATION = Declaration(
    app="video",
    name="视频监控",
    jobs=(
        Job("video.live_reap", run="smartsite.video.live.reap_idle", exclusive=False, order=70,
            description="停止无人观看的直播转码"),
        Job("video.snapshot_requests", run="smartsite.video.jobs.request_for_new_events",
            exclusive=False, order=71, description="为新事件申请现场抓拍"),
        Job("video.snapshots", run="smartsite.video.jobs.take_snapshots", exclusive=False,
            order=72, description="执行到期的抓拍（每轮少量）"),
    ),
    nav=(NavEntry("视频", "video:camera_list", order=30),),
    links=(Link("project", "视频监控", "video:project_cameras", order=30),),
    urls=("cameras/", "smartsite.video.urls"),
    api_router="smartsite.video.api.router",
    access="smartsite.video.access",
)
