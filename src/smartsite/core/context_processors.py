"""Navigation shown in the page header, by what the signed-in user may see."""

from __future__ import annotations

from smartsite.core import permissions
from smartsite.core.choices import RoleKind
from smartsite.core.scoping import grant_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    grant = grant_for(user)
    items = [
        ("home", "首页"),
        ("workorders:todo", "事件中心"),
        ("workorders:order_list", "处置中心"),
        ("dust:dashboard", "扬尘总览"),
        ("dust:monitor_list", "监测设备"),
        ("video:camera_list", "视频"),
        ("core:project_list", "项目"),
        ("core:enterprise_list", "企业"),
        ("core:person_list", "人员"),
    ]
    if RoleKind.STREET in grant.kinds:
        items.append(("workorders:mobile", "手机办理"))
    if grant.is_regulator or grant.sees_all:
        items.append(("workorders:policy_list", "闭环策略"))
        items.append(("core:region_list", "区划"))
    if grant.sees_all or grant.district_ids:
        items.append(("core:audit_list", "审计"))
    if permissions.can_edit_registry(user):
        items.append(("exchange:import", "导入"))
    if permissions.is_city_admin(user):
        items.append(("core:user_list", "用户"))
    roles = [str(r) for r in user.roles.select_related("agency", "project", "enterprise")]
    return {
        "nav_items": items,
        "user_roles": roles or (["系统管理员"] if user.is_superuser else ["（无角色）"]),
        "can_edit_registry": permissions.can_edit_registry(user),
    }
