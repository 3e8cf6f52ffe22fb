"""The dust rules' pages: everyone reads the rules and their sources; a city administrator
changes a rule's parameters (checked, audited); bad parameters are refused, nothing saved."""

from __future__ import annotations

import re

import pytest

from smartsite.core.models import AuditEntry
from smartsite.dust import rules
from smartsite.dust.models import DustRule

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_every_user_reads_the_rules_with_defaults_and_sources(cast, login):
    body = text(login(cast.manager_a).get("/monitors/rules/"))
    assert "颗粒物超标" in body and "GB 12523" in body and "喷雾未联动" in body
    assert "无数据多少分钟视为离线" in body  # the offline rule's parameter, with its default
    assert "/monitors/rules/offline/edit/" not in body  # no edit link for a project user
    assert login(cast.manager_a).get("/monitors/rules/offline/edit/").status_code == 403


@pytest.mark.parametrize("params, message", [
    ('{"minutes": "sixty"}', "应为数字"),
    ('{"minutes": 2}', "应在 5–10080 之间"),
    ('{"minute": 90}', "没有参数 minute"),
    ('{"minutes": 90', "不是有效的 JSON"),
])
def test_bad_parameters_are_refused_and_nothing_changes(cast, login, params, message):
    rules.load_rules()
    before = DustRule.objects.filter(code="offline").values().get()
    response = login(cast.city).post("/monitors/rules/offline/edit/",
                                     {"params": params, "source": "测试", "enabled": "on"})
    assert response.status_code == 422
    assert message in text(response)
    assert DustRule.objects.filter(code="offline").values().get() == before
    assert not AuditEntry.objects.filter(model="dust.dustrule").exists()


def test_a_city_administrator_changes_a_rule_and_the_change_is_audited(cast, login):
    rules.load_rules()
    response = login(cast.city).post("/monitors/rules/offline/edit/", {
        "params": '{"minutes": 90}', "source": "区监督站要求：离线 90 分钟派单", "enabled": "on"},
        follow=True)
    assert "已修改扬尘规则“设备离线”" in text(response)
    assert rules.params("offline")["minutes"] == 90
    entry = AuditEntry.objects.get(model="dust.dustrule")
    assert entry.actor == cast.city and entry.changes["params"] == [{}, {"minutes": 90}]
    # A later deployment loads the fixture again: the administrator's value stays.
    rules.load_rules()
    assert rules.params("offline")["minutes"] == 90
