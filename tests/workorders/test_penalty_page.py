"""立案处罚 on the order page: a regulator records one; a fine outside the legal range is
refused with the range named and the input kept; others see no form and are refused."""

from __future__ import annotations

import datetime
import re

from django.utils import timezone

from smartsite.workorders.models import Penalty


def _order(site):
    return site.order_of(site.event("dust", "exceedance",
                                    now=timezone.now() - datetime.timedelta(hours=1)))


def _form(order, **data):
    return {"version": order.version, "basis": "sh-air-55-2", "amount": "50000",
            "decision_number": "沪浦城管罚字〔2026〕第 0012 号",
            "decided_on": timezone.localdate().isoformat(), **data}


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_district_records_a_penalty_on_the_order_page(site, login):
    order = _order(site)
    client = login(site.station)
    assert "登记立案处罚" in text(client.get(order.get_absolute_url()))
    response = client.post(f"/orders/{order.pk}/penalties/", _form(order))
    assert response.status_code == 302
    page = text(client.get(order.get_absolute_url()))
    assert "沪浦城管罚字〔2026〕第 0012 号" in page and "¥50,000<" in page
    penalty = Penalty.objects.get()
    assert penalty.party == site.contractor and penalty.amount == 50000
    assert order.actions.filter(action="penalty").count() == 1


def test_a_fine_below_the_legal_minimum_is_refused_and_the_input_kept(site, login):
    order = _order(site)
    response = login(site.station).post(f"/orders/{order.pk}/penalties/",
                                        _form(order, amount="5000", note="首次违法"))
    assert response.status_code == 400
    body = text(response)
    assert "不在" in body and "10,000" in body and "100,000" in body
    assert 'value="5000"' in body and "首次违法" in body
    assert not Penalty.objects.exists()
    order.refresh_from_db()
    assert order.version == 1


def test_a_stranger_party_and_a_missing_version_are_refused(site, login, cast):
    order = _order(site)
    client = login(site.station)
    body = text(client.post(f"/orders/{order.pk}/penalties/",
                            _form(order, party=str(cast.enterprise_a.pk))))
    assert "不是本项目的参建单位" in body
    body = text(client.post(f"/orders/{order.pk}/penalties/", _form(order, version="")))
    assert "缺少工单版本号" in body
    assert not Penalty.objects.exists()


def test_the_project_manager_sees_no_form_and_is_refused(site, login):
    order = _order(site)
    client = login(site.pm)
    assert "登记立案处罚" not in text(client.get(order.get_absolute_url()))
    response = client.post(f"/orders/{order.pk}/penalties/", _form(order))
    assert response.status_code == 403
    assert not Penalty.objects.exists()


def test_a_penalty_keeps_the_range_it_was_held_to(site, login):
    from smartsite.workorders.models import LegalBasis

    order = _order(site)
    client = login(site.station)
    client.post(f"/orders/{order.pk}/penalties/", _form(order))
    LegalBasis.objects.filter(code="sh-air-55-2").update(min_amount=20000, max_amount=200000)
    page = text(client.get(order.get_absolute_url()))
    recorded = page.split('id="penalties"')[1].split("登记立案处罚")[0]
    assert "¥10,000–¥100,000" in recorded and "¥20,000–¥200,000" not in recorded
