"""Loop-policy editing by a city administrator (design.md §2 rule 3: versioned, audited): the
pages show the rules in Chinese; the administrator publishes a new version through the page;
new orders follow it while orders opened before keep theirs. Bad documents, no change, a
stale edit and anyone but a city administrator are refused with nothing written."""

from __future__ import annotations

import copy
import datetime
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from smartsite.core import services as core_services
from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.models import AuditEntry
from smartsite.workorders import services
from smartsite.workorders.models import LoopPolicy, WorkOrder

T0 = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
H = datetime.timedelta(hours=1)


def dust_policy() -> LoopPolicy:
    return LoopPolicy.objects.get(scenario="dust", kind="exceedance", active=True)


def written():
    """What a refused edit must leave as it was."""
    return (LoopPolicy.objects.count(), dust_policy().pk, AuditEntry.objects.count())


def dust_order(project, key, now):
    event = services.raise_event(scenario="dust", rule="exceedance", project=project,
                                 dedup_key=f"dust:exceedance:{key}", title="PM10 超标",
                                 now=now)
    event.refresh_from_db()
    return WorkOrder.objects.get(pk=event.order_id)


def form_data(policy, **changes):
    data = {"kind_label": policy.kind_label, "source": policy.source,
            "spec": json.dumps(policy.spec, ensure_ascii=False, indent=2),
            "base_version": policy.version}
    data.update(changes)
    return data


def edit_url(policy):
    return reverse("workorders:policy_edit", args=[policy.pk])


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("role", ["city", "district", "street", "contractor_a", "manager_a"])
def test_every_signed_in_role_sees_the_active_policies(cast, login, role):
    html = login(cast.users()[role]).get(reverse("workorders:policy_list")).content.decode()
    assert "扬尘超标" in html and "基坑监测预警" in html and "第一类关键岗位考勤不足" in html
    assert "处置 1 天 · 核查 1 天" in html  # PT24H, PT24H
    assert "派单 2 天 · 处置 15 天 · 核查 2 天" in html  # pits: the guideline's 2/15/2 days


def test_a_user_without_a_role_sees_no_policy(cast, login):
    client = login(cast.nobody)
    assert "扬尘超标" not in client.get(reverse("workorders:policy_list")).content.decode()
    assert client.get(reverse("workorders:policy", args=[dust_policy().pk])).status_code == 404


def test_the_detail_page_reads_the_rules_in_chinese(cast, login):
    policy = dust_policy()
    response = login(cast.contractor_a).get(reverse("workorders:policy", args=[policy.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for words in ["施工单位（项目经理）", "自动核查（dust.valid_data_24h）", "区监督站",
                  "街镇城管执法中队", "处置、核查逾期时，升级到下一闭环层级",
                  "核查不通过累计 1 次后，升级到下一闭环层级", "到期前 4 小时提醒办理方",
                  "提交处置：须填写意见、上传现场照片", "每 1 小时检查一次", "系统自动派单",
                  "《上海市智慧工地建设指引（试行）》(2023)", "版本记录", "随系统发布",
                  "处置意见依据《上海市大气污染防治条例》第五十五条第二款；同时告知区监督站"]:
        assert escape(words) in html, words
    assert "修改（发布新版本）" not in html  # not an administrator


def test_the_pits_page_names_the_dispatchers(cast, login):
    pits = LoopPolicy.objects.get(scenario="pits", kind="warning", active=True)
    html = login(cast.city).get(reverse("workorders:policy", args=[pits.pk])).content.decode()
    assert "派单方" in html and "建设单位" in html and "由各层级的派单方派单" in html


def test_the_edit_form_is_prefilled_with_the_active_spec_pretty_printed(cast, login):
    policy = dust_policy()
    response = login(cast.city).get(edit_url(policy))
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(json.dumps(policy.spec, ensure_ascii=False, indent=2)) in html
    assert f'name="base_version" value="{policy.version}"' in html


# ---------------------------------------------------------------- publishing


def test_the_admin_publishes_v2_and_new_orders_use_it_while_old_ones_keep_v1(cast, login):
    v1 = dust_policy()
    old = dust_order(cast.project_a, "old", T0)
    assert (old.policy, old.due_at) == (v1, T0 + 24 * H)

    spec = copy.deepcopy(v1.spec)
    spec["deadlines"]["dispose"] = "PT48H"
    response = login(cast.city).post(edit_url(v1), form_data(
        v1, spec=json.dumps(spec), source=v1.source + " 2026 年调整：处置时限 48 小时。"))

    v2 = dust_policy()
    assert response.status_code == 302 and response["Location"] == reverse(
        "workorders:policy", args=[v2.pk])
    assert (v2.version, v2.spec["deadlines"]["dispose"], v2.created_by) == (2, "PT48H", cast.city)
    v1.refresh_from_db()
    assert not v1.active
    entry = AuditEntry.objects.get(model="workorders.looppolicy", object_id=str(v2.pk))
    assert entry.actor == cast.city and entry.changes["version"] == [1, 2]
    assert entry.changes["spec"][1]["deadlines"]["dispose"] == "PT48H"

    new = dust_order(cast.project_a, "new", T0 + H)
    assert (new.policy, new.due_at) == (v2, T0 + H + 48 * H)
    old.refresh_from_db()
    assert old.policy == v1
    services.fire_due_timers(T0 + 25 * H)  # v1's 24 h deadline passes for the old order only
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.loop_level, new.loop_level) == ("medium", "small")

    html = login(cast.city).get(response["Location"]).content.decode()
    assert "已发布“扬尘超标”第 2 版" in html and "处置 2 天" in html


@pytest.mark.parametrize(("spec", "words"), [
    ('{"start_level": "small", ', "策略不是有效的 JSON：第 1 行"),
    ("[1, 2]", "闭环策略应为 JSON 对象"),
    (None, "闭环策略中有未知的键：colour"),  # None: the active spec plus an unknown key
    ("bad-duration", "deadlines.dispose：“两天”不是正的 ISO 8601 时长"),
    ("unknown-party", "levels.small.handler：未知的参建角色“painter”"),
    ("bad-opinion", "levels.medium.opinion：应为法规依据编码的列表"),
    ("bad-notify", "levels.medium.notify[0]：未知的机构类型“mayor”"),
    ("unchanged", "没有改动"),
])
def test_a_bad_or_unchanged_document_is_shown_next_to_the_field_and_nothing_is_written(
        cast, login, spec, words):
    policy = dust_policy()
    doc = copy.deepcopy(policy.spec)
    if spec is None:
        doc["colour"] = "red"
    elif spec == "bad-duration":
        doc["deadlines"]["dispose"] = "两天"
    elif spec == "unknown-party":
        doc["levels"]["small"]["handler"] = {"party": "painter"}
    elif spec == "bad-opinion":
        doc["levels"]["medium"]["opinion"] = "第五十五条"
    elif spec == "bad-notify":
        doc["levels"]["medium"]["notify"] = [{"agency": "mayor"}]
    text = spec if spec not in (None, "bad-duration", "unknown-party", "bad-opinion",
                                "bad-notify", "unchanged") \
        else json.dumps(doc, ensure_ascii=False)
    before = written()
    response = login(cast.city).post(edit_url(policy), form_data(policy, spec=text))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'class="field invalid"' in html
    assert escape(words) in " ".join(re.findall(r'<p class="error" data-field="spec">(.*?)</p>', html))
    assert written() == before


def test_a_missing_source_is_refused(cast, login):
    policy = dust_policy()
    before = written()
    response = login(cast.city).post(edit_url(policy), form_data(policy, source="  "))
    assert response.status_code == 422
    assert 'data-field="source"' in response.content.decode()
    assert written() == before


@pytest.mark.parametrize("role", ["district", "street", "contractor_a", "manager_a", "nobody"])
def test_only_a_city_administrator_may_edit(cast, login, role):
    policy = dust_policy()
    spec = copy.deepcopy(policy.spec)
    spec["deadlines"]["dispose"] = "PT1H"
    client = login(cast.users()[role])
    before = written()
    assert client.get(edit_url(policy)).status_code == 403
    response = client.post(edit_url(policy), form_data(policy, spec=json.dumps(spec)))
    assert response.status_code == 403
    assert "只有市级管理员可以修改闭环策略" in response.content.decode()
    assert written() == before


def test_an_edit_of_a_version_someone_replaced_meanwhile_gets_a_conflict(cast, login):
    v1 = dust_policy()
    first = copy.deepcopy(v1.spec)
    first["remind_before"] = "PT2H"
    services.publish_policy(scenario="dust", kind="exceedance", kind_label=v1.kind_label,
                            source=v1.source, spec=first, actor=cast.city)
    before = written()
    mine = copy.deepcopy(v1.spec)
    mine["remind_before"] = "PT8H"
    response = login(cast.city).post(edit_url(v1), form_data(v1, spec=json.dumps(mine)))
    assert response.status_code == 409
    assert escape("您编辑的是第 1 版，当前第 2 版") in response.content.decode()
    assert written() == before


def test_an_older_version_can_be_published_again_as_the_newest(cast, login):
    v1 = dust_policy()
    changed = copy.deepcopy(v1.spec)
    changed["remind_before"] = "PT2H"
    v2 = services.publish_policy(scenario="dust", kind="exceedance", kind_label=v1.kind_label,
                                 source=v1.source, spec=changed, actor=cast.city)
    client = login(cast.city)
    html = client.get(edit_url(v1)).content.decode()
    assert "以第 1 版为基础；当前生效第 2 版" in html
    response = client.post(edit_url(v1), form_data(v1, base_version=v2.version))
    assert response.status_code == 302
    v3 = dust_policy()
    assert (v3.version, v3.spec) == (3, v1.spec)


# ---------------------------------------------------------------- the service


def test_publish_policy_refuses_a_non_administrator(cast):
    policy = dust_policy()
    spec = copy.deepcopy(policy.spec)
    spec["remind_before"] = "PT2H"
    before = written()
    with pytest.raises(Forbidden, match="只有市级管理员可以修改闭环策略"):
        services.publish_policy(scenario="dust", kind="exceedance", kind_label="扬尘超标",
                                source=policy.source, spec=spec, actor=cast.district)
    assert written() == before


def test_publish_policy_gives_the_parsers_message_with_the_field(cast):
    policy = dust_policy()
    before = written()
    with pytest.raises(DomainError) as refused:
        services.publish_policy(scenario="dust", kind="exceedance", kind_label="扬尘超标",
                                source=policy.source, spec={"levels": {}}, actor=cast.city)
    assert refused.value.field == "spec"
    assert "levels：至少要定义一个闭环层级" in refused.value.message
    assert written() == before


def test_a_check_no_scenario_declares_is_refused_with_the_declared_ones(cast):
    policy = dust_policy()
    spec = copy.deepcopy(policy.spec)
    spec["auto_verify"] = {"check": "dust.no_such_check", "every": "PT1H"}
    before = written()
    with pytest.raises(DomainError) as refused:
        services.publish_policy(scenario="dust", kind="exceedance", kind_label="扬尘超标",
                                source=policy.source, spec=spec, actor=cast.city,
                                base_version=policy.version)
    assert refused.value.field == "spec"
    assert "dust.no_such_check" in refused.value.message
    assert "dust.valid_data_24h" in refused.value.message  # what may be named instead
    assert written() == before


def test_a_policy_version_is_never_edited_in_place(cast):
    policy = dust_policy()
    spec = copy.deepcopy(policy.spec)
    spec["deadlines"]["dispose"] = "PT1H"
    before = (written(), policy.spec)
    with pytest.raises(Forbidden):  # the registry write path does not take policies
        core_services.save(policy, actor=cast.city, data={"spec": spec})
    policy = dust_policy()
    with pytest.raises(ValidationError, match="不能直接修改，请发布新版本"):
        core_services.save(policy, actor=cast.city, data={"spec": spec}, check=False)
    assert (written(), dust_policy().spec) == before
