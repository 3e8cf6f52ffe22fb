"""The deep-pit scenario (深基坑监测, the guideline's appendix 场景三) as the platform sees it
(core.scenarios). docs/pits.md describes the scenario itself."""

import datetime

from smartsite.core.scenarios import Declaration, Indicator, Job, Link, NavEntry

DECLARATION = Declaration(
    app="pits",
    name="深基坑监测",
    scenario="pits",
    reference=(
        ("pits_loop_policies", "smartsite.pits.reference.load_policies"),
        ("pits_legal_bases", "smartsite.pits.reference.load_legal_bases"),
        ("pits_alarm_values", "smartsite.pits.reference.load_alarm_values"),
        ("pits_frequencies", "smartsite.pits.reference.load_frequencies"),
        ("pits_parameters", "smartsite.pits.reference.load_parameters"),
    ),
    jobs=(
        Job("pits.upload_gaps", run="smartsite.pits.jobs.upload_gaps",
            every=datetime.timedelta(hours=1), order=30,
            description="基坑监测漏测、迟报（按监测频率表）"),
        Job("pits.mqtt_surveys", run="smartsite.pits.mqtt.run", group="mqtt", drain=True,
            order=20, description="接收自动化监测经 MQTT 发送的观测数据（pits/mqtt.py）"),
        Job("pits.fabrication", run="smartsite.pits.detectors.sync",
            every=datetime.timedelta(days=1), order=31,
            description="疑似编造监测数据（重复值、过于平滑、整期复制、测点间雷同），供区级复核"),
    ),
    nav=(NavEntry("基坑总览", "pits:dashboard", order=30),),
    links=(Link("project", "深基坑监测", "pits:project", order=30),),
    indicators=(
        Indicator("pits.yellow", "黄色预警基坑", "个", "smartsite.pits.indicators.yellow",
                  period="now"),
        Indicator("pits.red", "红色预警基坑", "个", "smartsite.pits.indicators.red",
                  period="now"),
    ),
    urls=("pits/", "smartsite.pits.urls"),
    api_router="smartsite.pits.api.router",
    access="smartsite.pits.access",
)
