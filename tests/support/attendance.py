"""The check-in world (tests/attendance, tests/browser): project A's geofence at 人民广场 (a
200 m square around the WGS-84 point of the gcoord fixture's 黄浦区 centre), person A (张三)
its 项目经理 with a valid certificate and obama.jpg enrolled; project B's geofence at 陆家嘴,
about 3.5 km east."""

from __future__ import annotations

import datetime
import uuid

from smartsite.core import geo
from smartsite.core.choices import QualificationKind
from smartsite.core.models import Qualification
from support.faces import photo

# 人民广场: WGS-84 and GCJ-02 of one place (hujiulong/gcoord test/fixtures/china-cities.json).
SQUARE_WGS = (121.4691633, 31.2323443)
SQUARE_GCJ = (121.4737061, 31.2304194)
LUJIAZUI_WGS = (121.5055, 31.2397)  # 陆家嘴, 浦东新区


def build_site(cast) -> None:
    from smartsite.attendance import enrolment
    from smartsite.attendance.identity import NotConfigured

    cast.project_a.geofence = geo.square_geofence(*SQUARE_WGS, 200)
    cast.project_a.save()
    cast.project_b.geofence = geo.square_geofence(*LUJIAZUI_WGS, 300)
    cast.project_b.save()
    Qualification.objects.create(person=cast.person_a, kind=QualificationKind.CONSTRUCTOR_1,
                                 number="沪1312025000001", issuer="住房和城乡建设部",
                                 issued_on=datetime.date(2020, 1, 1),
                                 expires_on=datetime.date(2030, 1, 1))
    enrolment.enrol(person=cast.person_a, photo=photo("obama.jpg"), actor=cast.city,
                    source=NotConfigured())


def payload(**fields) -> dict:
    """A phone's check-in at 人民广场 in GCJ-02, as the browser's geolocation would send it."""
    lng, lat = SQUARE_GCJ
    base = {"client_id": str(uuid.uuid4()), "direction": "entry", "lng": lng, "lat": lat,
            "datum": "gcj02", "accuracy_m": 12.0, "device_id": "test-phone"}
    return {**base, **fields}
