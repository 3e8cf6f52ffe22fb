"""Penalty records (立案处罚): a regulator records a fine against a legal basis on an order; it
sits in the order's hash chain with its attachments. Every refusal — amount outside the
basis's range, bad number, missing or taken decision number, future date, wrong basis, bad
attachment, stale version, cancelled order, wrong person — changes nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from smartsite.core import models as m
from smartsite.core.choices import AgencyKind, RoleKind
from smartsite.core.errors import Conflict, DomainError, Forbidden
from smartsite.core.reference import load_all as reference_load_all
from smartsite.workorders import permissions, services
from smartsite.workorders.choices import Action, OrderState
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import LegalBasis, OrderAction, Penalty, WorkOrder

T0 = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)  # 17:00 in Shanghai
H = datetime.timedelta(hours=1)
TODAY = datetime.date(2026, 6, 1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


def photo(name="site.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def dust_order(project, key="k1") -> WorkOrder:
    event = services.raise_event(scenario="dust", rule="exceedance", project=project,
                                 dedup_key=f"dust:exceedance:{project.pk}:{key}",
                                 title="PM10 超标", evidence={"pm10": 180}, now=T0)
    event.refresh_from_db()
    return WorkOrder.objects.get(pk=event.order_id)


def penalise(order, actor, **kw):
    order.refresh_from_db()
    args = {"version": order.version, "basis": "sh-air-55-2", "amount": "50000",
            "decision_number": "静建罚〔2026〕0001号", "decided_on": TODAY, "now": T0 + 2 * H}
    args.update(kw)
    return services.record_penalty(order, actor, **args)


def state_of(order):
    """What a refusal must leave untouched."""
    order.refresh_from_db()
    return (Penalty.objects.count(), order.actions.count(), order.version, order.state)


@pytest.fixture
def order_a(cast):
    return dust_order(cast.project_a)


def test_the_seed_has_cited_legal_bases_and_loading_twice_changes_nothing(reference):
    bases = {b.code: b for b in LegalBasis.objects.all()}
    assert {"sh-air-55-2", "prc-air-115-1"} <= set(bases)
    shanghai = bases["sh-air-55-2"]
    assert str(shanghai) == "《上海市大气污染防治条例》第五十五条第二款"
    assert (shanghai.min_amount, shanghai.max_amount) == (Decimal("10000"), Decimal("100000"))
    assert all(b.citation.strip() for b in bases.values())
    loaded = reference_load_all()  # every app's legal bases, again
    assert loaded["dust_legal_bases"] + loaded["pits_legal_bases"] == len(bases)
    assert LegalBasis.objects.count() == len(bases)


def test_a_district_regulator_records_a_penalty_with_a_photo_and_the_chain_still_verifies(
        cast, order_a):
    before = order_a.version
    penalty = penalise(order_a, cast.district, note="现场裸土未覆盖", files=[photo()])

    order_a.refresh_from_db()
    assert order_a.version == before + 1
    assert order_a.state == OrderState.PENDING_DISPOSAL  # a penalty does not move the order
    assert (penalty.amount, penalty.party, penalty.basis.code) == (
        Decimal("50000.00"), cast.enterprise_a, "sh-air-55-2")  # the project's 施工单位
    entry = order_a.actions.order_by("-seq").first()
    assert entry.action == Action.PENALTY and entry.actor == cast.district
    assert entry.data == {"penalty": penalty.pk, "basis": "sh-air-55-2", "amount": "50000.00",
                          "range": ["10000.00", "100000.00"],
                          "decision_number": "静建罚〔2026〕0001号"}
    assert (penalty.basis_min, penalty.basis_max) == (Decimal("10000.00"), Decimal("100000.00"))
    assert "¥50,000" in entry.comment and "现场裸土未覆盖" in entry.comment
    assert penalty.action == entry
    attachment = entry.attachments.get()
    assert (attachment.content_type, attachment.size) == ("image/png", len(PNG))
    assert verify_chain(order_a) == []


def test_the_penalty_entry_is_covered_by_the_hash_chain(cast, order_a):
    penalise(order_a, cast.district)
    OrderAction.objects.filter(order=order_a, action=Action.PENALTY).update(
        data={"penalty": 1, "basis": "sh-air-55-2", "amount": "10000.00",
              "decision_number": "静建罚〔2026〕0001号"})
    assert any("内容与哈希不符" in p for p in verify_chain(order_a))


@pytest.mark.parametrize("amount", ["10000", "100000", "10,000", "12345.6", Decimal("99999.99"),
                                    20000])
def test_amounts_within_the_range_in_whole_cents_are_accepted(cast, order_a, amount):
    penalty = penalise(order_a, cast.district, amount=amount)
    assert penalty.amount == Decimal(str(amount).replace(",", "")).quantize(Decimal("0.01"))


def test_the_basis_names_the_default_party(cast):
    order = dust_order(cast.project_a)
    penalty = penalise(order, cast.city, basis=LegalBasis.objects.get(code="prc-air-115-2"))
    assert penalty.party == cast.owner  # 建设单位: bare ground not covered


@pytest.mark.parametrize(("kw", "field", "words"), [
    ({"amount": "5000"}, "amount",
     "罚款金额 ¥5,000 不在《上海市大气污染防治条例》第五十五条第二款规定的 ¥10,000–¥100,000 之内"),
    ({"amount": "100000.01"}, "amount", "¥100,000.01 不在"),
    ({"amount": "0"}, "amount", "必须大于 0"),
    ({"amount": "-20000"}, "amount", "必须大于 0"),
    ({"amount": "两万"}, "amount", "不是有效的数字"),
    ({"amount": "NaN"}, "amount", "不是有效的数字"),
    ({"amount": "Infinity"}, "amount", "不是有效的数字"),
    ({"amount": ""}, "amount", "请填写罚款金额"),
    ({"amount": "20000.005"}, "amount", "最多保留两位小数"),
    ({"decision_number": "  "}, "decision_number", "请填写处罚决定书文号"),
    ({"decision_number": "文" * 61}, "decision_number", "不能超过 60 个字"),
    ({"decided_on": TODAY + datetime.timedelta(days=1)}, "decided_on", "晚于今天"),
    ({"decided_on": "2026-13-01"}, "decided_on", "不是有效的日期"),
    ({"decided_on": None}, "decided_on", "请填写处罚决定日期"),
    ({"basis": "sh-quality-safety-52"}, "basis", "适用于“深基坑监测”场景的工单，本工单属于“扬尘监测”场景"),
    ({"basis": "no-such-law"}, "basis", "未知的处罚依据"),
    ({"basis": ""}, "basis", "请选择处罚依据"),
    ({"files": [SimpleUploadedFile("note.txt", b"hello", content_type="image/png")]},
     "files", "不是 JPEG/PNG/WebP 图片或 PDF 文件"),
    ({"files": [photo(), SimpleUploadedFile("big.png", PNG + b"\x00" * (10 * 1024 * 1024),
                                            content_type="image/png")]},
     "files", "超过 10 MB"),
])
def test_bad_input_is_refused_and_changes_nothing(cast, order_a, kw, field, words):
    before = state_of(order_a)
    with pytest.raises(DomainError) as refused:
        penalise(order_a, cast.district, **kw)
    assert refused.value.field == field
    assert words in refused.value.message
    assert state_of(order_a) == before


def test_an_inactive_basis_is_refused(cast, order_a):
    LegalBasis.objects.filter(code="sh-air-55-2").update(active=False)
    before = state_of(order_a)
    with pytest.raises(DomainError, match="已停用"):
        penalise(order_a, cast.district)
    assert state_of(order_a) == before


def test_a_party_not_on_the_project_is_refused(cast, order_a):
    before = state_of(order_a)
    with pytest.raises(DomainError, match="不是项目“静安甲项目”的参建单位"):
        penalise(order_a, cast.district, party=cast.enterprise_b)
    assert state_of(order_a) == before


def test_a_decision_number_is_recorded_once(cast, order_a):
    penalise(order_a, cast.district, decision_number="静建罚〔2026〕0007号")
    other = dust_order(cast.project_a, key="k2")
    before = state_of(other)
    with pytest.raises(DomainError) as refused:
        penalise(other, cast.city, decision_number=" 静建罚〔2026〕0007号 ")
    assert refused.value.field == "decision_number"
    assert "已登记过" in refused.value.message
    assert state_of(other) == before


def test_a_stale_version_gets_a_conflict_and_nothing_changes(cast, order_a):
    penalise(order_a, cast.district, decision_number="静建罚〔2026〕0001号")
    before = state_of(order_a)
    with pytest.raises(Conflict):
        penalise(order_a, cast.district, version=order_a.version - 1,
                 decision_number="静建罚〔2026〕0002号", files=[photo()])
    assert state_of(order_a) == before


def test_a_cancelled_order_takes_no_penalty(cast):
    order = services.open_order(scenario="dust", kind="exceedance", project=cast.project_a,
                                title="手工派单", actor=cast.district, now=T0)
    services.act(order, Action.CANCEL, cast.district, version=order.version, comment="误派",
                 now=T0 + H)
    before = state_of(order)
    with pytest.raises(DomainError, match="工单已撤销"):
        penalise(order, cast.district)
    assert state_of(order) == before


@pytest.fixture
def pudong_regulator(cast, django_user_model):
    user = django_user_model.objects.create_user("pudong_station")
    m.Role.objects.create(user=user, kind=RoleKind.DISTRICT, agency=m.Agency.objects.get(
        kind=AgencyKind.SUPERVISION_STATION, region=cast.pudong))
    return user


@pytest.mark.parametrize(("who", "project", "allowed"), [
    ("city", "a", True),
    ("district", "a", True),  # 静安区, where project A is
    ("pudong", "a", False),
    ("street", "a", False),  # 陆家嘴 squad: not project A's street
    ("contractor_a", "a", False),
    ("manager_a", "a", False),
    ("nobody", "a", False),
    ("street", "b", True),  # 陆家嘴 squad on project B in 陆家嘴街道
    ("pudong", "b", True),
    ("district", "b", False),
    ("contractor_b", "b", False),
])
def test_who_may_record_a_penalty(cast, pudong_regulator, who, project, allowed):
    users = {**cast.users(), "pudong": pudong_regulator}
    order = dust_order(cast.project_a if project == "a" else cast.project_b)
    before = state_of(order)
    if allowed:
        penalty = penalise(order, users[who])
        assert penalty.order == order and penalty.created_by == users[who]
        assert permissions.can_penalise(users[who], order.project)
    else:
        with pytest.raises(Forbidden, match="执法中队可以立案处罚"):
            penalise(order, users[who])
        assert state_of(order) == before
        assert not permissions.can_penalise(users[who], order.project)


def test_a_pdf_decision_scan_is_accepted(cast, order_a):
    penalise(order_a, cast.district,
             files=[SimpleUploadedFile("决定书.pdf", PDF, content_type="application/pdf")])
    entry = order_a.actions.order_by("-seq").first()
    assert entry.attachments.get().content_type == "application/pdf"
    assert verify_chain(order_a) == []
