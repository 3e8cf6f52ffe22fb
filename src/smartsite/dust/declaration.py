"""The dust scenario (扬尘监测, the guideline's appendix 场景一) as the platform sees it
(core.scenarios): its reference data, loop policies, checks, evidence panel, jobs, pages,
indicators and packet handlers. docs/dust.md describes the scenario itself."""

import datetime

from smartsite.core.scenarios import CameraDevice, Declaration, Indicator, Job, Link, NavEntry

HOUR = datetime.timedelta(hours=1)

DECLARATION = Declaration(
    app="dust",
    name="扬尘监测",
    scenario="dust",
    reference=(
        ("dust_loop_policies", "smartsite.dust.reference.load_policies"),
        ("dust_legal_bases", "smartsite.dust.reference.load_legal_bases"),
        ("dust_limits", "smartsite.dust.reference.load_limits"),
        ("dust_rules", "smartsite.dust.reference.load_rules"),
    ),
    checks={
        "dust.valid_data_24h": "smartsite.dust.checks.valid_data_24h",
        "dust.monitors_reporting": "smartsite.dust.checks.monitors_reporting",
        "dust.inspection_recorded": "smartsite.dust.checks.inspection_recorded",
        "dust.spray_linked": "smartsite.dust.checks.spray_linked",
    },
    panel="smartsite.dust.order_panels.order_panel",
    jobs=(
        Job("dust.partitions", run="smartsite.dust.jobs.maintain_partitions", every=6 * HOUR,
            order=0, description="监测数据分区：提前建好一周，按保留期清理"),
        Job("dust.monthly_reviews", run="smartsite.dust.jobs.monthly_reviews", every=HOUR,
            order=1, description="上月运维月度评价（月初生成一次）"),
        Job("dust.roll_up", run="smartsite.dust.jobs.roll_up", order=10,
            description="网关未汇总的小时、日均值"),
        Job("dust.rules", run="smartsite.dust.jobs.run_rules", every=datetime.timedelta(minutes=1),
            group="rules", order=20, description="扬尘发现规则（各规则按自身间隔运行）"),
    ),
    nav=(
        NavEntry("扬尘总览", "dust:dashboard", order=20),
        NavEntry("监测设备", "dust:monitor_list", order=21),
    ),
    links=(
        Link("project", "扬尘监测", "dust:project", order=20),
        Link("policies", "扬尘规则（发现条件）", "dust:rule_list", order=20),
    ),
    indicators=(
        Indicator("dust.online_rate", "扬尘监测设备在线率", "%",
                  "smartsite.dust.indicators.online_rate", period="now"),
        Indicator("dust.exceedance_periods", "PM10 超标时段", "个",
                  "smartsite.dust.indicators.exceedance_periods", period="day"),
        Indicator("dust.open_orders", "未闭环扬尘工单", "件",
                  "smartsite.dust.indicators.open_orders", period="now"),
        Indicator("dust.closed_orders", "已闭环扬尘工单", "件",
                  "smartsite.dust.indicators.closed_orders", period="month"),
    ),
    urls=("monitors/", "smartsite.dust.urls"),
    api_router="smartsite.dust.api.router",
    packet_handlers="smartsite.dust.packets.register_packet_handlers",
    snapshots=True,
    # A camera may watch a monitor: the monitor's events (subject: its MN) are photographed
    # by its cameras first.
    camera_device=CameraDevice("dust.Monitor", "mn",
                               help_text="该设备的扬尘事件优先由这台摄像头抓拍取证"),
    access="smartsite.dust.access",
)
