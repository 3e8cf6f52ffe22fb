"""A pit on the cast's project A with its monitoring company and design unit, their users,
and a few points: what the pit tests build on."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from smartsite.core.validators import make_uscc

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # the first survey


@dataclass
class Site:
    pit: object
    monitor_user: object  # the 监测单位's user
    designer_user: object  # the 设计单位's user
    owner_user: object  # the 建设单位's user
    supervisor_user: object  # the 监理单位's user
    points: dict


def build_site(cast, *, depth=15, grade=1, retaining="diaphragm_wall") -> Site:
    from django.contrib.auth import get_user_model

    from smartsite.core import models as m
    from smartsite.core.choices import PartyRole, RoleKind
    from smartsite.pits import services

    rng = random.Random(11)
    project = cast.project_a

    def company(name, role):
        enterprise = m.Enterprise.objects.create(uscc=make_uscc(rng), name=name)
        m.ProjectParty.objects.create(project=project, role=role, enterprise=enterprise)
        return enterprise

    def user(name, enterprise):
        u = get_user_model().objects.create_user(name, password="Correct-Horse-9")
        m.Role.objects.create(user=u, kind=RoleKind.ENTERPRISE, enterprise=enterprise)
        return u

    monitor = company("戊岩土监测有限公司", PartyRole.MONITOR)
    designer = company("己建筑设计研究院有限公司", PartyRole.DESIGNER)
    owner_user = user("owner_a", cast.owner)
    supervisor = m.ProjectParty.objects.get(project=project, role=PartyRole.SUPERVISOR).enterprise
    pit = services.register_pit(
        project=project, code="JK-1", name="1号基坑", safety_grade=grade, environment_grade=2,
        design_depth_m=depth, retaining=retaining, support="concrete_strut",
        outline=[[0, 0], [80, 0], [80, 40], [0, 40]])
    points = {
        "WY-01": services.register_point(pit, code="WY-01", item="wall_top_horizontal",
                                         x_m=40, y_m=0),
        "DB-01": services.register_point(pit, code="DB-01", item="ground_settlement",
                                         x_m=40, y_m=-5),
        "ZL-01": services.register_point(pit, code="ZL-01", item="strut_force", x_m=40, y_m=20,
                                         design_value=5000),
        "CX-01": services.register_point(pit, code="CX-01", item="deep_horizontal", x_m=0,
                                         y_m=20, tube_depth_m=30),
    }
    return Site(pit, user("monitor_a", monitor), user("designer_a", designer), owner_user,
                user("supervisor_a", supervisor), points)


def rows(point, values, *, start=T0, every=datetime.timedelta(days=1), unit=""):
    from smartsite.pits.services import SurveyRow

    return [SurveyRow(point=point, measured_at=start + n * every, value=v, unit=unit,
                      where=f"第 {n + 2} 行") for n, v in enumerate(values)]
