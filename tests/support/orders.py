"""Shared helpers of the work-order tests: a fake clock, a real PNG, and `Site` — project B
(浦东新区陆家嘴街道) with a user for every court its orders pass through."""

from __future__ import annotations

import datetime
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile

from smartsite.core import models as m
from smartsite.core.choices import AgencyKind, PartyRole, RoleKind
from smartsite.workorders import services
from smartsite.workorders.models import WorkOrder

T0 = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (34, 139, 34)) -> bytes:
    """A real, decodable PNG of one colour (browsers show it; the checks sniff its bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


PNG = png()

DUST_DATA_VALID = {"value": False}


def dust_check_stand_in(order, now):
    """Stands in for the dust scenario's check in the loop tests (registered per test by the
    `dust_check` fixture, which puts the real one back afterwards)."""
    return DUST_DATA_VALID["value"]


def photo(name="site.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


class Site:
    """Project B (浦东新区陆家嘴街道) with a user for every court its orders pass through."""

    def __init__(self, cast, django_user_model):
        self.cast, self.project = cast, cast.project_b
        self.contractor = cast.enterprise_b
        make = django_user_model.objects.create_user
        post = m.Post.objects.get

        def role(user, **spec):
            m.Role.objects.create(user=user, **spec)
            return user

        self.pm = role(make("pm_b"), kind=RoleKind.PROJECT, project=self.project,
                       enterprise=self.contractor, party_role=PartyRole.CONTRACTOR,
                       post=post(code="project_manager"))
        supervisor = self.project.parties.get(role=PartyRole.SUPERVISOR).enterprise
        self.chief = role(make("chief_b"), kind=RoleKind.PROJECT, project=self.project,
                          enterprise=supervisor, party_role=PartyRole.SUPERVISOR,
                          post=post(code="chief_supervising_engineer"))
        owner = self.project.parties.get(role=PartyRole.OWNER).enterprise
        self.owner = role(make("owner_b"), kind=RoleKind.PROJECT, project=self.project,
                          enterprise=owner, party_role=PartyRole.OWNER)
        self.station = role(make("pudong_station"), kind=RoleKind.DISTRICT,
                            agency=m.Agency.objects.get(kind=AgencyKind.SUPERVISION_STATION,
                                                        region=cast.pudong))
        self.squad = cast.street  # 陆家嘴街道城管执法中队

    def event(self, scenario, rule, key="k1", now=T0):
        return services.raise_event(scenario=scenario, rule=rule, project=self.project,
                                    dedup_key=f"{scenario}:{rule}:{key}", title=f"{rule} 测试",
                                    evidence={"pm10": 180}, now=now)

    @staticmethod
    def order_of(event):
        event.refresh_from_db()
        return WorkOrder.objects.get(pk=event.order_id)


def act(order, action, user, now, **kw):
    order.refresh_from_db()
    return services.act(order, action, user, version=order.version, now=now, **kw)


def history(order):
    return list(order.actions.order_by("seq").values_list("action", "loop_level"))
