"""The O&M cast on top of `cast`: a monitor on each project, an O&M company (运维单位) of
project A with a user, and certificate bytes of each kind."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from smartsite.core.validators import make_uscc
from support.monitors import add_monitor

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00 this is a program, not a certificate"


def upload(content: bytes = PDF, name: str = "年检证书.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@dataclass
class Upkeep:
    a1: object  # monitor of project A (静安)
    b1: object  # monitor of project B (陆家嘴)
    maintainer: object  # the O&M company of project A
    maint_a: object  # a user of that company


def make_upkeep(cast) -> Upkeep:
    from django.contrib.auth import get_user_model

    from smartsite.core import models as m
    from smartsite.core.choices import PartyRole, RoleKind

    a1 = add_monitor(cast.project_a, mn="31JA00000000000000000A01", location="东门")
    b1 = add_monitor(cast.project_b, mn="31PD00000000000000000B01", location="北门")
    company = m.Enterprise.objects.create(uscc=make_uscc(random.Random(11)),
                                          name="戊环境设备运维有限公司")
    m.ProjectParty.objects.create(project=cast.project_a, role=PartyRole.MAINTAINER,
                                  enterprise=company)
    user = get_user_model().objects.create_user("maint_a", password="Correct-Horse-9",
                                                first_name="王师傅")
    m.Role.objects.create(user=user, kind=RoleKind.ENTERPRISE, enterprise=company)
    return Upkeep(a1, b1, company, user)
