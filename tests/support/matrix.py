"""The permission matrix's side of the bargain: who each rule of smartsite/core/access.py
lets through, spelled out for the cast by hand (not computed by the permission code it
checks), an object in and out of every scope, and what to send.

* `WHO`: for each rule, the users of the cast it lets through, for an object on project A
  (静安区), on project B (浦东新区陆家嘴街道), or not bound to a project (a register, a global
  row); `ROLE_LEVEL`: rules decided by the role alone.
* `build_world(cast)`: two objects of every kind a route names, "A" and "B", each with the
  users who see it (`Thing.seen_by`) — written out here, as the old hand-written matrix did.
* `path_values`, `BODIES`, `QUERIES`: what a request to a route carries.

A new kind of object in a route's path needs a line in `build_world` (the matrix says which);
a new write that refuses an empty body before its permission check needs a sample body in
`BODIES` (the matrix shows it: a forbidden user gets the validation answer instead of 403).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

PRINCIPALS = ("anonymous", "city", "district", "street", "contractor_a", "contractor_b",
              "manager_a", "nobody")
SIGNED_IN = frozenset(PRINCIPALS) - {"anonymous"}
ROLE_HOLDERS = SIGNED_IN - {"nobody"}
REGULATORS = frozenset({"city", "district", "street"})
#: Who sees a project (design.md §3): the city; 静安区's regulator sees A, 陆家嘴街道's squad
#: B; each contractor company its own; the project manager of A his project.
SEES = {"A": frozenset({"city", "district", "contractor_a", "manager_a"}),
        "B": frozenset({"city", "street", "contractor_b"})}
#: The enterprise register is public to regulators; a company sees itself and the parties of
#: its projects.
SEES_ENTERPRISE = {"A": REGULATORS | {"contractor_a", "manager_a"},
                   "B": REGULATORS | {"contractor_b"}}

#: Rules decided by the user's roles alone.
ROLE_LEVEL = {
    "public": frozenset(PRINCIPALS),
    "signed_in": SIGNED_IN,
    "city_admin": frozenset({"city"}),
    "regulators": REGULATORS,
    "auditors": frozenset({"city", "district"}),
    "importers": frozenset({"city", "district"}),
}
_MANAGERS = {"A": frozenset({"city", "district", "contractor_a", "manager_a"}),
             "B": frozenset({"city", "contractor_b"})}
#: Rules decided per object: who they let through on project A, on project B, and for an
#: object bound to no project (None).
WHO = {
    "registry_editors": {"A": frozenset({"city", "district"}), "B": frozenset({"city"}),
                         None: frozenset({"city", "district"})},
    "device_managers": _MANAGERS,
    "inspectors": _MANAGERS,  # + the O&M company, which the cast has no user of
    "maintainers": {"A": frozenset({"contractor_a", "manager_a"}),
                    "B": frozenset({"contractor_b"})},
    "project_manager": {"A": frozenset({"manager_a"}), "B": frozenset()},
    "camera_operators": {"A": SEES["A"], "B": SEES["B"]},
    "supervising_regulators": {"A": frozenset({"city", "district"}), "B": frozenset({"city"})},
    "penalisers": {"A": frozenset({"city", "district"}), "B": frozenset({"city", "street"})},
    "monitoring_company": {"A": frozenset(), "B": frozenset()},
    # the cast has no 建设 or 监测 user: its 施工单位 users and the regulators
    "site_record_editors": _MANAGERS,  # the cast has no 监测单位
    "design_unit": {"A": frozenset(), "B": frozenset()},  # nor a 设计单位
    "owner_party": {"A": frozenset(), "B": frozenset()},  # nor a 建设单位 user
    # the cast's key post is each project's 项目经理 (施工单位)
    "post_party": {"A": frozenset({"contractor_a", "manager_a"}), "B": frozenset({"contractor_b"})},
    # 建设单位 or 施工单位: the cast's 施工单位 users
    "stoppage_filers": {"A": frozenset({"contractor_a", "manager_a"}),
                        "B": frozenset({"contractor_b"})},
}

DAY = datetime.date(2020, 1, 1)  # every date below is in the past whatever the clock says
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
TS = b"\x47" + b"\x00" * 187  # one MPEG-TS packet
LIVE_SEGMENT = "seg000001.ts"
RECORDING = "20200101T000000Z.ts"
#: An id no object has (within every id bound of the URL conf and the API).
ABSENT_ID = 10**9


@dataclass
class Thing:
    """One object a route can be asked about, and who sees it."""

    obj: object
    seen_by: frozenset
    project: str | None  # "A" / "B": the project the rules look at; None: not project-bound
    letter: str = ""


@dataclass
class World:
    cast: object
    things: dict[str, dict[str, Thing]] = field(default_factory=dict)  # label → letter → Thing
    files: list = field(default_factory=list)  # (path, bytes) that must exist

    def add(self, label: str, letter: str, obj, seen_by, project: str | None = None) -> None:
        self.things.setdefault(label, {})[letter] = Thing(obj, frozenset(seen_by), project,
                                                          letter)

    def ensure_files(self) -> None:
        """(Re)write the media files the routes serve: a delete earlier may have removed
        them, and a file system is not rolled back with the test's transaction."""
        for path, content in self.files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


def build_world(cast) -> World:
    """The cast's projects with one object of every kind on each, plus the global rows."""
    from django.conf import settings
    from django.utils import timezone

    from smartsite.attendance.models import (
        CheckIn,
        Enrolment,
        Leave,
        ReviewCase,
        Sanction,
        StandIn,
        Stoppage,
    )
    from smartsite.core import models as m
    from smartsite.core import services as core
    from smartsite.core.choices import AgencyKind, QualificationKind
    from smartsite.dust import services as dust
    from smartsite.dust.choices import MaintenanceKind, ReviewState
    from smartsite.dust.models import DustRule, MaintenanceRecord, MonthlyReview
    from smartsite.exchange.models import OutboxMessage, Webhook
    from smartsite.pits import services as pits
    from smartsite.video import live, recorder
    from smartsite.video import services as video
    from smartsite.video.models import Snapshot
    from smartsite.workorders import services as orders
    from smartsite.workorders.models import Event, LoopPolicy, Notification
    from support.orders import photo

    w = World(cast)
    now = timezone.now()
    projects = {"A": cast.project_a, "B": cast.project_b}
    owners = {"A": cast.contractor_a, "B": cast.contractor_b}
    people = {"A": cast.person_a, "B": cast.person_b}

    # ---------------------------------------------------------- reference and global rows
    w.add("core.region", "A", cast.jingan, ROLE_HOLDERS)
    w.add("core.region", "B", cast.lujiazui, ROLE_HOLDERS)
    agency = m.Agency.objects.get
    w.add("core.agency", "A", agency(kind=AgencyKind.SUPERVISION_STATION, region=cast.jingan),
          ROLE_HOLDERS)
    w.add("core.agency", "B", agency(kind=AgencyKind.ENFORCEMENT_SQUAD, region=cast.lujiazui),
          ROLE_HOLDERS)
    policies = LoopPolicy.objects.filter(active=True, scenario="dust").order_by("kind")
    w.add("workorders.looppolicy", "A", policies.get(kind="exceedance"), ROLE_HOLDERS)
    w.add("workorders.looppolicy", "B", policies.exclude(kind="exceedance").first(), ROLE_HOLDERS)
    w.add("dust.dustrule", "A", DustRule.objects.get(code="exceedance"), SIGNED_IN)
    w.add("dust.dustrule", "B", DustRule.objects.get(code="offline"), SIGNED_IN)

    # ---------------------------------------------------------- users, roles, tokens, hooks
    for letter, user in owners.items():
        w.add("auth.user", letter, user, {"city"})
        w.add("core.role", letter, user.roles.get(), {"city"})
        token, _ = core.issue_token(user, actor=user, name=f"matrix {letter}")
        w.add("core.apitoken", letter, token, {_name(cast, user)})
        hook = Webhook.objects.create(owner=user, name=f"matrix {letter}",
                                      url=f"https://hooks.example.com/{letter}",
                                      secret=Webhook.new_secret(), events=["order.*"])
        w.add("exchange.webhook", letter, hook, {_name(cast, user)})
        message = OutboxMessage.objects.create(
            channel="webhook", webhook=hook, event="order.create", payload={},
            key=f"matrix-{letter}", state="dead", next_attempt_at=now, created=now)
        w.add("exchange.outboxmessage", letter, message, {_name(cast, user)})

    # ---------------------------------------------------------- the registry
    for letter, project in projects.items():
        w.add("core.project", letter, project, SEES[letter], letter)
        w.add("core.postassignment", letter, project.assignments.get(), SEES[letter], letter)
        w.add("core.person", letter, people[letter], SEES[letter])
        qualification = m.Qualification.objects.create(
            person=people[letter], kind=QualificationKind.SAFETY_B,
            number=f"沪建安B（2025）{ord(letter):04d}", issuer="上海市住房和城乡建设管理委员会",
            expires_on=datetime.date(2028, 1, 1))
        w.add("core.qualification", letter, qualification, SEES[letter])
        assignment = project.assignments.get()
        w.add("attendance.leave", letter, Leave.objects.create(
            assignment=assignment, start_date=datetime.date(2025, 6, 2),
            end_date=datetime.date(2025, 6, 2), reason="病假"), SEES[letter], letter)
        w.add("attendance.standin", letter, StandIn.objects.create(
            assignment=assignment, person=people[letter], start_date=datetime.date(2025, 6, 3),
            end_date=datetime.date(2025, 6, 3), reason="外出培训"), SEES[letter], letter)
        w.add("attendance.stoppage", letter, Stoppage.objects.create(
            project=project, start_date=datetime.date(2025, 6, 5), reason="台风停工"),
            SEES[letter], letter)
        checkin = CheckIn.objects.create(
            project=project, person=people[letter], assignment=assignment,
            client_id=f"matrix-{letter}", direction="entry", at=now, lng_raw=121.47,
            lat_raw=31.23, datum="wgs84", lng=121.47, lat=31.23, outcome="review",
            photo=f"attendance/checkins/matrix-{letter}.jpg")
        w.add("attendance.checkin", letter, checkin, SEES[letter], letter)
        w.add("attendance.reviewcase", letter, ReviewCase.objects.create(
            checkin=checkin, signal="no_jitter", evidence={"message": "矩阵"}, created=now),
            SEES[letter], letter)
        w.add("attendance.enrolment", letter, Enrolment.objects.create(
            person=people[letter], photo=f"attendance/enrolments/matrix-{letter}.jpg",
            photo_sha256=f"{ord(letter):064x}", enrolled_at=now, identity_result="matched"),
            SEES[letter])
        party = project.parties.get(role=assignment.post.party_role).enterprise
        w.add("attendance.sanction", letter, Sanction.objects.create(
            key=f"penalty_absence:{assignment.pk}:2025-06", kind="penalty_absence",
            project=project, enterprise=party, assignment=assignment, person=people[letter],
            post_class="I", period="2025-06", reason="矩阵", proposed_at=now),
            SEES[letter], letter)
        w.files += [(Path(settings.MEDIA_ROOT) / f"attendance/checkins/matrix-{letter}.jpg", JPEG),
                    (Path(settings.MEDIA_ROOT) / f"attendance/enrolments/matrix-{letter}.jpg", JPEG)]
    w.add("core.enterprise", "A", cast.enterprise_a, SEES_ENTERPRISE["A"])
    w.add("core.enterprise", "B", cast.enterprise_b, SEES_ENTERPRISE["B"])

    # ---------------------------------------------------------- dust, video, orders
    for n, (letter, project) in enumerate(projects.items(), 1):
        sees = SEES[letter]
        monitor = dust.register_monitor(project=project, mn=f"31MATRIX00000000000000{letter}1",
                                        password="123456", location="东门")
        w.add("dust.monitor", letter, monitor, sees, letter)
        w.add("dust.spraydevice", letter, dust.add_spray_device(
            monitor, actor=cast.city, name="东门雾炮", sb_code="SB1"), sees, letter)
        inspection = dust.record_inspection(
            monitor, actor=cast.city, inspected_on=DAY, expires_on=DAY.replace(year=2021),
            body="上海市计量测试技术研究院", certificate_no=f"JL2020-{letter}01",
            certificate=SimpleUploadedFile("年检证书.pdf", PDF, content_type="application/pdf"))
        w.add("dust.inspection", letter, inspection, sees, letter)
        w.add("pits.pit", letter, pits.register_pit(
            project=project, code=f"MATRIX-{letter}", name=f"{letter} 区基坑", safety_grade=1,
            environment_grade=2, design_depth_m=15, retaining="diaphragm_wall",
            support="concrete_strut"), sees, letter)
        w.add("dust.maintenancerecord", letter, MaintenanceRecord.objects.create(
            monitor=monitor, kind=MaintenanceKind.FAULT, description="PM10 传感器无数据",
            started_at=datetime.datetime(2020, 1, 1, 8, tzinfo=datetime.UTC)), sees, letter)
        generated = datetime.datetime(2020, 2, 1, tzinfo=datetime.UTC)
        w.add("dust.monthlyreview", letter, MonthlyReview.objects.create(
            project=project, month=DAY, stats={}, generated_at=generated), sees, letter)
        w.add("dust.monthlyreview", f"{letter}:rejected", MonthlyReview.objects.create(
            project=project, month=DAY.replace(year=2019, month=12), stats={},
            generated_at=generated, state=ReviewState.REJECTED, comment="数据不全"), sees, letter)

        camera = video.register_camera(
            project=project, name="东门", monitor=monitor,
            rtsp_url=f"rtsp://58.246.120.{n}:554/Streaming/Channels/101")
        w.add("video.camera", letter, camera, sees, letter)
        snapshot = Snapshot.objects.create(camera=camera, taken_at=now,
                                           file=f"snapshots/matrix-{letter}.jpg")
        w.add("video.snapshot", letter, snapshot, sees, letter)
        w.files += [(video.snapshot_file(snapshot), JPEG),
                    (live.camera_dir(camera.pk) / LIVE_SEGMENT, TS),
                    (recorder.camera_dir(camera.pk) / RECORDING, TS)]

        event = Event.objects.create(
            scenario="dust", rule="exceedance", project=project, subject=monitor.mn,
            title="PM10 15分钟均值超标", dedup_key=f"matrix:{letter}", occurred_at=now,
            first_seen=now, last_seen=now)
        w.add("workorders.event", letter, event, sees, letter)
        order = orders.open_order(scenario="dust", kind="exceedance", project=project,
                                  title="PM10 15分钟均值超标", actor=cast.city)
        orders.act(order, "comment", cast.city, version=order.version, comment="现场照片",
                   files=[photo()])
        order.refresh_from_db()
        w.add("workorders.workorder", letter, order, sees, letter)
        w.add("workorders.orderattachment", letter,
              order.actions.get(attachments__isnull=False).attachments.get(), sees, letter)
        w.add("workorders.notification", letter, Notification.objects.create(
            user=owners[letter], order=order, text="matrix", created=now),
            {_name(cast, owners[letter])}, letter)
    w.ensure_files()
    return w


def _name(cast, user) -> str:
    return next(name for name, u in cast.users().items() if u.pk == user.pk)


# ================================================================ what a request carries

#: Path parameters other than the object's own key, by (route, parameter) or (model label,
#: parameter) or parameter: a callable of the object, or a value.
PATH_VALUES = {
    ("dust.inspection", "name"): lambda o: o.certificate_name,
    ("video:live_segment", "name"): LIVE_SEGMENT,
    ("video:recording", "name"): RECORDING,
    "kind": "projects",  # an import kind
    "rest": "no/such/path",  # the API's catch-all
    "token": "1",  # a PTZ preset
}
#: The object's key in the path: (model label, parameter) → attribute.
KEYS = {("dust.dustrule", "code"): "code"}
ABSENT = {"code": "no_such_rule"}


def path_values(route, thing: Thing | None, *, absent: bool = False) -> dict[str, str]:
    out = {}
    label = _label(thing.obj) if thing else None
    for name in route.params:
        key_attr = "pk" if name == "pk" else KEYS.get((label, name))
        if key_attr and thing is not None:
            out[name] = ABSENT.get(name, ABSENT_ID) if absent else getattr(thing.obj, key_attr)
            continue
        for probe in ((route.key, name), (label, name), name):
            if probe in PATH_VALUES:
                value = PATH_VALUES[probe]
                out[name] = value(thing.obj) if callable(value) else value
                break
        else:
            raise AssertionError(f"{route.key}: no value for the path parameter {name!r}; "
                                 "add one to PATH_VALUES in tests/support/matrix.py")
    return out


def _label(obj) -> str:
    return obj._meta.label_lower


def _version(thing):
    from smartsite.workorders.models import WorkOrder

    return WorkOrder.objects.get(pk=thing.obj.pk).version


def _pdf():
    return SimpleUploadedFile("年检证书.pdf", PDF, content_type="application/pdf")


def _xlsx():
    return SimpleUploadedFile("projects.xlsx", b"not a workbook",
                              content_type="application/vnd.openxmlformats-officedocument"
                                           ".spreadsheetml.sheet")


def _survey_csv():
    return SimpleUploadedFile("survey.csv", "测点编号,观测时间,观测值\nWY-01,2020-01-01 08:00,1.5\n"
                              .encode(), content_type="text/csv")


#: The body of a write whose empty body would be refused before the permission check (a form
#: or a schema that requires fields): route → callable(world, thing) → dict. Values need not
#: make a valid change; they must reach the gate. API bodies are JSON unless in MULTIPART.
BODIES = {
    # pages
    "core:assignment_add": lambda w, t: {"person_id_number": w.cast.person_a.resident_id,
                                         "post": _post_id(), "start_date": "2025-03-01"},
    "core:qualification_add": lambda w, t: {"kind": "safety_b", "number": "沪建安B（2025）9999",
                                            "issuer": "上海市住房和城乡建设管理委员会"},
    "dust:review": lambda w, t: {"action": "reject", "comment": "1 月 3 日数据缺失"},
    "video:ptz": lambda w, t: {"action": "stop"},
    "workorders:event_ignore": lambda w, t: {"reason": "误报"},
    "workorders:order_act": lambda w, t: {"action": "comment", "version": _version(t),
                                          "comment": "矩阵"},
    "workorders:penalty_add": lambda w, t: {"version": _version(t)},
    # API
    "POST /projects": lambda w, t: {"permit_no": "2301JA9999", "name": "矩阵项目", "address": "静安区某路9号",
                                    "kind": "building", "district": w.cast.jingan.pk,
                                    "street": w.cast.project_a.street_id},
    "PATCH /projects/{pk}": lambda w, t: {},
    "POST /enterprises": lambda w, t: {"uscc": "91310000MA1FL0000X", "name": "矩阵企业"},
    "POST /people": lambda w, t: {"resident_id": "110101199003070000", "name": "王五"},
    "POST /qualifications": lambda w, t: {"kind": "safety_b", "number": "沪建安B（2025）9998",
                                          "issuer": "上海市住房和城乡建设管理委员会"},
    "POST /assignments": lambda w, t: {"person": w.cast.person_a.pk, "post": _post_id(),
                                       "start_date": "2025-03-01"},
    "POST /orders": lambda w, t: {"scenario": "dust", "kind": "exceedance",
                                  "title": "PM10 15分钟均值超标"},
    "POST /orders/{pk}/actions": lambda w, t: {"action": "comment", "version": _version(t),
                                               "comment": "矩阵"},
    "POST /orders/{pk}/penalties": lambda w, t: {"version": _version(t), "basis": "x",
                                                 "amount": "1", "decision_number": "x",
                                                 "decided_on": "2020-01-01"},
    "POST /events/{pk}/ignore": lambda w, t: {"reason": "误报"},
    "POST /attendance/leaves": lambda w, t: {"start_date": "2025-06-09", "end_date": "2025-06-09",
                                             "reason": "事假"},
    "POST /attendance/leaves/{pk}/decision": lambda w, t: {"approve": False, "note": "矩阵"},
    "POST /attendance/stand-ins": lambda w, t: {"person": w.cast.person_a.pk,
                                                "start_date": "2025-06-10",
                                                "end_date": "2025-06-10"},
    "POST /attendance/stand-ins/{pk}/decision": lambda w, t: {"approve": False, "note": "矩阵"},
    "POST /attendance/sanctions/{pk}/decision": lambda w, t: {"decision": "withdraw",
                                                              "note": "矩阵"},
    "POST /pits": lambda w, t: {"code": "MATRIX-NEW", "name": "矩阵基坑",
                                "safety_grade": 2, "environment_grade": 2, "design_depth_m": 9,
                                "retaining": "smw", "support": "steel_strut"},
    "POST /pits/{pk}/stages": lambda w, t: {"name": "第一层土方开挖", "started_on": "2020-01-01",
                                            "excavation_depth_m": 2},
    "POST /pits/{pk}/points": lambda w, t: {"code": "MATRIX-P1", "item": "wall_top_vertical"},
    "POST /pits/{pk}/surveys": lambda w, t: {"rows": [{"point": "WY-01", "value": 1.5,
                                                       "measured_at": "2020-01-01T08:00:00+08:00"}]},
    "POST /monitors": lambda w, t: {"mn": "31MATRIXNEW00000000000A9", "password": "654321",
                                    "location": "北门"},
    "PATCH /monitors/{pk}": lambda w, t: {"location": "西门", "active": False},
    "POST /monitors/{pk}/inspections": lambda w, t: {
        "kind": "annual", "inspected_on": "2020-01-01", "expires_on": "2021-01-01",
        "body": "上海市计量测试技术研究院", "certificate_no": "JL2020-X01", "passed": "true",
        "certificate": _pdf()},
    "POST /monitors/{pk}/spray-devices": lambda w, t: {"name": "北门喷淋", "kind": "spray",
                                                       "sb_code": "SB2"},
    "PATCH /spray-devices/{pk}": lambda w, t: {"name": "东门雾炮（新）", "active": False},
    "POST /monitors/{pk}/maintenance-records": lambda w, t: {
        "kind": "visit", "started_at": "2020-01-02T09:00:00+08:00",
        "ended_at": "2020-01-02T10:00:00+08:00", "description": "月度巡检"},
    "POST /maintenance-records/{pk}/end": lambda w, t: {"ended_at": "2020-01-03T10:00:00+08:00"},
    "POST /monthly-reviews/{pk}/review": lambda w, t: {"action": "reject", "comment": "数据缺失"},
    "POST /cameras": lambda w, t: {"name": "北门", "username": "admin", "password": "Cam-Pa55!",
                                   "rtsp_url": "rtsp://58.246.120.9:554/Streaming/Channels/101"},
    "PATCH /cameras/{pk}": lambda w, t: {"location": "西门", "password": "New-Pa55!"},
    "PATCH /dust-rules/{code}": lambda w, t: {"params": {"min_samples": 12},
                                              "source": "DB31/964-2016 5.2"},
    "POST /cameras/{pk}/ptz/presets": lambda w, t: {"name": "大门"},
    "POST /imports/{kind}": lambda w, t: {"file": _xlsx()},
    "POST /pits/{pk}/survey-files": lambda w, t: {"file": _survey_csv()},
}
MULTIPART = {"POST /monitors/{pk}/inspections", "POST /imports/{kind}",
             "POST /pits/{pk}/survey-files"}
#: Writes whose sample body is a whole, valid change: whoever the rule lets through gets this
#: answer, and an audit entry under their name (the device registry, as integrators use it).
DONE = {
    "POST /monitors": 201, "PATCH /monitors/{pk}": 200, "POST /monitors/{pk}/spray-devices": 201,
    "PATCH /spray-devices/{pk}": 200, "POST /monitors/{pk}/inspections": 201,
    "POST /monitors/{pk}/maintenance-records": 201, "POST /maintenance-records/{pk}/end": 200,
    "POST /monthly-reviews/{pk}/review": 200, "POST /monthly-reviews/{pk}/resubmit": 200,
    "POST /cameras": 201, "PATCH /cameras/{pk}": 200, "DELETE /cameras/{pk}": 204,
    "PATCH /dust-rules/{code}": 200,
}
#: The object variant a route is asked about, when not the plain one (a month must be sent
#: back before it can be resubmitted).
VARIANTS = {"POST /monthly-reviews/{pk}/resubmit": "rejected"}
#: A read's answer in this world when it is not the route's own success: no ffmpeg runs in
#: the matrix (live view says so), a playlist without a time range is a 400, and the cameras
#: have no ONVIF service to ask for presets.
OK_HERE = {"video:live_playlist": 503, "video:playback_playlist": 400,
           "GET /cameras/{pk}/ptz/presets": 409}  # the cameras here have no ONVIF


def _post_id() -> int:
    from smartsite.core.models import Post

    return Post.objects.get(code="project_manager").pk
