"""接单 and on-site photos: who may accept, once per court, and a note may be photos alone."""

from __future__ import annotations

import pytest
from support.orders import T0, H, act, photo

from smartsite.core.errors import DomainError, Forbidden
from smartsite.workorders import permissions
from smartsite.workorders.choices import Action, LoopLevel
from smartsite.workorders.history import verify_chain


def test_the_court_accepts_once_and_a_new_court_starts_unaccepted(site, django_user_model):
    order = site.order_of(site.event("dust", "exceedance"))
    assert Action.ACCEPT in permissions.allowed_actions(order, site.pm)
    assert Action.ACCEPT not in permissions.allowed_actions(order, site.chief)
    with pytest.raises(Forbidden):
        act(order, Action.ACCEPT, site.chief, T0 + H)

    act(order, Action.ACCEPT, site.pm, T0 + H)
    order.refresh_from_db()
    assert order.assignee == site.pm
    assert Action.ACCEPT not in permissions.allowed_actions(order, site.pm)
    with pytest.raises(DomainError, match="已由您接单"):
        act(order, Action.ACCEPT, site.pm, T0 + 2 * H)
    version = order.version

    act(order, Action.REASSIGN, site.station, T0 + 3 * H, comment="转城管",
        to_level=LoopLevel.LARGE)
    order.refresh_from_db()
    assert order.version == version + 1 and order.assignee is None
    act(order, Action.ACCEPT, site.squad, T0 + 4 * H)
    order.refresh_from_db()
    assert order.assignee == site.squad
    # Disposal keeps the same court (the squad verifies itself): the acceptance stands.
    act(order, Action.DISPOSE, site.squad, T0 + 5 * H, comment="已整改", files=[photo()])
    order.refresh_from_db()
    assert order.assignee == site.squad
    assert verify_chain(order) == []


def test_a_note_needs_words_or_photos(site):
    order = site.order_of(site.event("dust", "exceedance"))
    with pytest.raises(DomainError, match="备注须填写意见或上传照片"):
        act(order, Action.COMMENT, site.pm, T0 + H)
    order.refresh_from_db()
    assert order.version == 1
    act(order, Action.COMMENT, site.pm, T0 + H, files=[photo()])
    assert order.actions.get(action=Action.COMMENT).attachments.count() == 1


def test_an_iphone_heic_photo_is_refused_with_what_to_do(site):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = site.order_of(site.event("dust", "exceedance"))
    heic = SimpleUploadedFile("IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
                              content_type="image/heic")
    with pytest.raises(DomainError, match=r"HEIC 格式.*兼容性最佳"):
        act(order, Action.DISPOSE, site.pm, T0 + H, comment="已整改", files=[heic])
    order.refresh_from_db()
    assert order.version == 1
