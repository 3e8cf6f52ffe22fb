"""What the loop engine brings to the platform (core.scenarios): its timers job and the event
and disposal centers in the header. Every scenario ships its own loop policies."""

from smartsite.core.scenarios import Declaration, Job, Link, NavEntry

DECLARATION = Declaration(
    app="workorders",
    name="事件与工单",
    jobs=(
        Job("workorders.timers", run="smartsite.workorders.jobs.fire_timers", exclusive=False,
            drain=True, description="到期的工单定时器（期限、提醒、自动核查、升级）"),
    ),
    nav=(
        NavEntry("事件中心", "workorders:todo", order=10),
        NavEntry("处置中心", "workorders:order_list", order=11),
        NavEntry("手机办理", "workorders:mobile", order=70,
                 visible="smartsite.core.navigation.street_officer"),
        NavEntry("闭环策略", "workorders:policy_list", order=75,
                 visible="smartsite.core.navigation.regulator"),
    ),
    links=(Link("project", "事件与工单", "workorders:project_timeline", order=10),),
    access="smartsite.workorders.access",
)
