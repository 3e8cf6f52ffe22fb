"""The key-post attendance scenario (关键岗位到岗履职, the guideline's appendix 场景二) as the
platform sees it (core.scenarios). docs/attendance.md describes the scenario itself."""

import datetime

from smartsite.core.scenarios import Declaration, Indicator, Job, Link, NavEntry

DECLARATION = Declaration(
    app="attendance",
    name="关键岗位到岗履职",
    scenario="attendance",
    reference=(
        ("attendance_key_posts", "smartsite.attendance.reference.load_key_posts"),
        ("attendance_parameters", "smartsite.attendance.reference.load_parameters"),
        ("attendance_loop_policies", "smartsite.attendance.reference.load_policies"),
        ("attendance_consequences", "smartsite.attendance.reference.load_consequences"),
    ),
    checks={
        "attendance.rate_recovered": "smartsite.attendance.checks.rate_recovered",
        "attendance.qualification_valid": "smartsite.attendance.checks.qualification_valid",
        "attendance.post_filled": "smartsite.attendance.checks.post_filled",
        "attendance.single_post": "smartsite.attendance.checks.single_post",
    },
    jobs=(
        Job("attendance.close_days", run="smartsite.attendance.jobs.close_days",
            every=datetime.timedelta(minutes=15), order=32,
            description="关键岗位考勤日结（每日 23:30 结算当日，次日凌晨再结算前一日）"),
        Job("attendance.rules", run="smartsite.attendance.jobs.rules",
            every=datetime.timedelta(hours=1), order=33,
            description="关键岗位规则：考勤不足、考勤预警、资质过期、配备不足、身兼多岗、冒名顶替；"
                        "不到岗履职处罚、季度考评不合格、年度不得评优评先的建议"),
    ),
    nav=(NavEntry("关键岗位", "attendance:dashboard", order=32),),
    links=(Link("project", "关键岗位考勤", "attendance:project", order=32),),
    indicators=(
        Indicator("attendance.day_rate", "关键岗位到岗率", "%",
                  "smartsite.attendance.indicators.day_rate", period="day"),
        Indicator("attendance.month_rate", "本月关键岗位到岗率", "%",
                  "smartsite.attendance.indicators.month_rate", period="month"),
        Indicator("attendance.below_rate", "本月到岗率不足80%的关键岗位", "个",
                  "smartsite.attendance.indicators.below_rate", period="month"),
    ),
    urls=("attendance/", "smartsite.attendance.urls"),
    api_router="smartsite.attendance.api.router",
    access="smartsite.attendance.access",
    presence="smartsite.attendance.presence.days_on_site",
)
