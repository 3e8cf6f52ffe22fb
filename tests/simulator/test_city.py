"""The simulated city: deterministic from its seed, valid row by row, scoped demo logins,
and the anomalies it promises to plant."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from smartsite.core import geo
from smartsite.core.choices import PartyRole, ProjectStatus, RoleKind
from smartsite.core.models import (
    AuditEntry,
    Enterprise,
    Person,
    PostAssignment,
    Project,
    ProjectParty,
    Qualification,
    Role,
)
from smartsite.core.scoping import scoped
from smartsite.core.validators import validate_resident_id, validate_uscc
from smartsite.simulator import city as sim

SEED = 20231001


def city_digest() -> str:
    """A digest of everything the city is made of, by natural keys (no pks, no timestamps)."""
    h = hashlib.sha256()

    def feed(rows):
        for row in sorted(rows):
            h.update(json.dumps(row, ensure_ascii=False, default=str, sort_keys=True).encode())

    parties = {}
    for party in ProjectParty.objects.select_related("project", "enterprise"):
        parties.setdefault(party.project.permit_no, []).append(
            (party.role, party.enterprise.uscc, party.enterprise.name))
    feed((p.permit_no, p.name, p.address, p.district.name, p.street.name, p.kind, p.status,
          str(p.site_area_m2), str(p.contract_value), p.start_date, p.finish_date, p.has_pit,
          json.dumps(p.geofence, sort_keys=True), p.longitude, p.latitude,
          sorted(parties.get(p.permit_no, [])))
         for p in Project.objects.select_related("district", "street"))
    feed((e.uscc, e.name, e.legal_representative, e.address, e.phone)
         for e in Enterprise.objects.all())
    feed((p.resident_id, p.name, p.phone, p.employer.uscc if p.employer else None)
         for p in Person.objects.select_related("employer"))
    feed((q.person.resident_id, q.kind, q.number, q.issuer, q.issued_on, q.expires_on)
         for q in Qualification.objects.select_related("person"))
    feed((a.project.permit_no, a.person.resident_id, a.post.code, a.start_date, a.end_date)
         for a in PostAssignment.objects.select_related("project", "person", "post"))
    feed((r.user.username, r.user.first_name, r.kind, r.agency.name if r.agency else None,
          r.enterprise.uscc if r.enterprise else None,
          r.project.permit_no if r.project else None, r.party_role)
         for r in Role.objects.select_related("user", "agency", "enterprise", "project"))
    return h.hexdigest()


def _build_and_digest(seed: int) -> tuple[str, sim.CityReport]:
    with transaction.atomic():
        report = sim.build_city(seed=seed, scale="demo")
        digest = city_digest()
        transaction.set_rollback(True)
    return digest, report


@pytest.fixture(scope="module")
def digests(django_db_setup, django_db_blocker):
    """Two throw-away builds (rolled back): SEED and SEED + 1."""
    with django_db_blocker.unblock():
        return {SEED: _build_and_digest(SEED), SEED + 1: _build_and_digest(SEED + 1)}


@pytest.fixture(scope="module")
def report(digests, django_db_setup, django_db_blocker):
    """The demo city of SEED, built again after the throw-away builds and kept for this
    module's tests; rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield sim.build_city(seed=SEED, scale="demo")
        transaction.set_rollback(True)


# -- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_the_same_city(report, digests, db):
    digest, first = digests[SEED]
    assert city_digest() == digest
    assert report.counts == first.counts
    assert report.anomalies == first.anomalies
    assert report.logins == first.logins


def test_another_seed_gives_another_city(digests):
    (first, report_1), (other, report_2) = digests[SEED], digests[SEED + 1]
    assert first != other
    assert report_1.anomalies["配备不足"] != report_2.anomalies["配备不足"]


# -- size and shape ------------------------------------------------------------------------


def test_demo_scale_has_about_300_projects_and_a_fifth_with_pits(report, db):
    assert report.counts["projects"] == Project.objects.count() == 300
    assert Project.objects.filter(has_pit=True).count() == report.counts["pits"] == 66
    assert 2_000 <= report.counts["people"] == Person.objects.count() <= 3_200
    assert Enterprise.objects.count() == report.counts["enterprises"]
    assert PostAssignment.objects.count() == report.counts["assignments"]
    assert set(report.counts) >= {"active", "suspended", "completed", "qualifications"}
    assert "300 个项目" in report.summary()


def test_projects_follow_construction_activity_across_all_16_districts(report, db):
    by = report.by_district
    assert len(by) == 16
    assert max(by, key=by.get) == "浦东新区"
    for busy in ("闵行区", "嘉定区", "松江区", "青浦区", "宝山区"):
        assert by[busy] > by["黄浦区"] and by[busy] > by["虹口区"]


def test_most_projects_are_active_and_each_has_the_five_parties(report, db):
    statuses = {s: Project.objects.filter(status=s).count() for s in ProjectStatus}
    assert statuses[ProjectStatus.ACTIVE] > statuses[ProjectStatus.COMPLETED] > 0
    assert statuses[ProjectStatus.SUSPENDED] > 0
    for project in Project.objects.prefetch_related("parties"):
        roles = {p.role for p in project.parties.all()}
        expected = {PartyRole.OWNER, PartyRole.SURVEYOR, PartyRole.DESIGNER,
                    PartyRole.CONTRACTOR, PartyRole.SUPERVISOR}
        if project.has_pit:
            expected.add(PartyRole.MONITOR)
        assert roles == expected, project.permit_no


def test_projects_are_in_a_street_of_their_district_with_a_permit_number(report, db):
    for project in Project.objects.select_related("district", "street"):
        assert project.street.parent_id == project.district_id
        assert project.permit_no[4:6].isalpha() and project.permit_no[-4:].isdigit()
        assert project.start_date < report.today
        assert project.finish_date > project.start_date
        if project.status == ProjectStatus.COMPLETED:
            assert project.finish_date < report.today


# -- validity ------------------------------------------------------------------------------


def test_every_code_validates(report, db):
    for uscc in Enterprise.objects.values_list("uscc", flat=True):
        assert validate_uscc(uscc) == uscc
    for rid in Person.objects.values_list("resident_id", flat=True):
        assert validate_resident_id(rid, today=report.today) == rid
    assert Person.objects.exclude(resident_id__startswith="31").exists()
    assert Person.objects.filter(resident_id__startswith="31").count() > \
        Person.objects.count() / 2


def test_every_geofence_parses_and_is_centred_in_the_projects_district(report, db):
    for project in Project.objects.select_related("district"):
        shape = geo.parse_geofence(project.geofence)
        lon, lat = geo.centroid_lonlat(shape)
        assert geo.district_of(lon, lat) == project.district.name, project.permit_no
        assert (lon, lat) == pytest.approx((project.longitude, project.latitude), abs=1e-9)


def test_a_sample_of_every_model_passes_full_clean(report, db):
    rng = random.Random(1)
    for model in (Project, ProjectParty, Enterprise, Person, Qualification, PostAssignment):
        pks = list(model.objects.values_list("pk", flat=True))
        for obj in model.objects.filter(pk__in=rng.sample(pks, min(40, len(pks)))):
            if isinstance(obj, Project):
                stored = (obj.geofence, obj.longitude, obj.latitude)
                obj.full_clean()
                # clean() re-normalises the fence: the same square (to_geojson may start the
                # ring at another corner), the same centre.
                assert geo.parse_geofence(obj.geofence).equals(geo.parse_geofence(stored[0]))
                assert (obj.longitude, obj.latitude) == stored[1:]
            else:
                obj.full_clean()


def test_qualifications_include_expired_and_expiring_ones_from_real_issuers(report, db):
    today = report.today
    assert Qualification.objects.filter(expires_on__lt=today).count() == \
        report.counts["qualifications_expired"] > 0
    assert Qualification.objects.filter(
        expires_on__gte=today, expires_on__lte=today + timedelta(days=30)).count() == \
        report.counts["qualifications_expiring"] > 0
    issuers = set(Qualification.objects.values_list("issuer", flat=True))
    assert {"上海市住房和城乡建设管理委员会", "住房和城乡建设部"} <= issuers


def test_every_live_project_has_one_current_project_manager_and_chief(report, db):
    live = Project.objects.exclude(status=ProjectStatus.COMPLETED)
    for code in ("project_manager", "chief_supervising_engineer"):
        current = PostAssignment.objects.filter(project__in=live, post__code=code,
                                                end_date__isnull=True)
        assert current.count() == live.count()
        assert current.values("project").distinct().count() == live.count()


def test_one_audit_entry_per_model_records_the_import(report, db):
    entries = AuditEntry.objects.filter(action="import")
    by_model = {e.model: e for e in entries}
    assert len(entries) == len(by_model) == 6
    assert by_model["core.project"].changes == {"simulated": [None, 300]}
    assert by_model["core.person"].changes == {"simulated": [None, report.counts["people"]]}
    assert all(e.actor_name == "系统" for e in entries)


# -- anomalies -----------------------------------------------------------------------------


def test_a_project_manager_holds_two_live_projects_at_once(report, db):
    cases = report.anomalies["身兼多岗"]
    assert len(cases) == sim.SCALES["demo"].planted
    for case in cases:
        held = PostAssignment.objects.filter(
            person__resident_id=case["resident_id"], post__code="project_manager",
            end_date__isnull=True, project__status=ProjectStatus.ACTIVE)
        assert sorted(held.values_list("project__permit_no", flat=True)) == \
            sorted(case["projects"])


def test_no_other_project_manager_holds_two_live_projects(report, db):
    planted = {c["resident_id"] for c in report.anomalies["身兼多岗"]}
    doubles = {}
    for rid in PostAssignment.objects.filter(
            post__code="project_manager", end_date__isnull=True,
            project__status=ProjectStatus.ACTIVE).values_list("person__resident_id", flat=True):
        doubles[rid] = doubles.get(rid, 0) + 1
    assert {rid for rid, n in doubles.items() if n > 1} == planted


def test_a_live_project_manager_has_an_expired_constructor_registration(report, db):
    cases = report.anomalies["建造师证书过期"]
    assert len(cases) == sim.SCALES["demo"].planted
    for case in cases:
        assignment = PostAssignment.objects.get(
            project__permit_no=case["project"], post__code="project_manager",
            end_date__isnull=True)
        assert assignment.person.resident_id == case["resident_id"]
        qual = assignment.person.qualifications.get(number=case["qualification"])
        assert qual.kind.startswith("constructor") and qual.expires_on < report.today
    planted = {c["resident_id"] for c in cases}
    lapsed = set(Qualification.objects.filter(
        kind__startswith="constructor", expires_on__lt=report.today,
        person__assignments__post__code="project_manager",
        person__assignments__end_date__isnull=True,
        person__assignments__project__status=ProjectStatus.ACTIVE,
    ).values_list("person__resident_id", flat=True))
    assert lapsed == planted


def test_a_live_project_has_no_safety_officer(report, db):
    cases = report.anomalies["配备不足"]
    assert len(cases) == sim.SCALES["demo"].planted
    for case in cases:
        assert not PostAssignment.objects.filter(
            project__permit_no=case["project"], post__code="safety_officer").exists()
    staffed = set(PostAssignment.objects.filter(post__code="safety_officer")
                  .values_list("project__permit_no", flat=True))
    assert set(Project.objects.values_list("permit_no", flat=True)) - staffed == \
        {c["project"] for c in cases}


# -- demo logins ---------------------------------------------------------------------------

EXPECTED_KINDS = {"city": RoleKind.CITY, "jingan": RoleKind.DISTRICT,
                  "pudong": RoleKind.DISTRICT, "contractor": RoleKind.ENTERPRISE,
                  "pm": RoleKind.PROJECT, "chief": RoleKind.PROJECT,
                  "monitor": RoleKind.ENTERPRISE}


def _user(username):
    return get_user_model().objects.get(username=username)


def test_demo_logins_cover_every_role_and_read_the_same_twice(report, db):
    logins = sim.demo_logins()
    assert logins == report.logins == sim.demo_logins()
    usernames = [u for _, u in logins]
    assert usernames[:3] == ["city", "jingan", "pudong"]
    assert usernames[3].startswith("squad_")
    assert usernames[4:] == ["contractor", "pm", "chief", "monitor"]
    # One shared hash (PBKDF2 costs about a second per check here, so check it once).
    assert len({_user(u).password for u in usernames}) == 1
    assert _user("city").check_password(sim.DEMO_PASSWORD)
    for label, username in logins:
        user = _user(username)
        assert label == user.first_name and label
        kind = EXPECTED_KINDS.get(username, RoleKind.STREET)
        assert list(user.roles.values_list("kind", flat=True)) == [kind]
        assert scoped(user, Project.objects.all()).exists(), username


def test_district_user_sees_only_its_district(report, db):
    visible = scoped(_user("jingan"), Project.objects.all())
    assert visible.count() == Project.objects.filter(district__name="静安区").count() > 0
    assert set(visible.values_list("district__name", flat=True)) == {"静安区"}


def test_squad_officer_sees_only_its_street(report, db):
    username = next(u for _, u in sim.demo_logins() if u.startswith("squad_"))
    street = _user(username).roles.get().agency.region
    visible = scoped(_user(username), Project.objects.all())
    assert visible.count() == Project.objects.filter(street=street).count() > 1
    assert set(visible.values_list("street", flat=True)) == {street.pk}


def test_contractor_sees_its_projects_and_project_users_see_one_pit_project(report, db):
    contractor = _user("contractor").roles.get().enterprise
    theirs = Project.objects.filter(parties__enterprise=contractor,
                                    parties__role=PartyRole.CONTRACTOR)
    assert set(scoped(_user("contractor"), Project.objects.all())) == set(theirs)
    assert theirs.count() == max(
        Project.objects.filter(parties__enterprise=e, parties__role=PartyRole.CONTRACTOR)
        .count() for e in Enterprise.objects.filter(parties__role=PartyRole.CONTRACTOR).distinct())
    project = _user("pm").roles.get().project
    assert project.has_pit and project.status == ProjectStatus.ACTIVE
    for username, role in (("pm", PartyRole.CONTRACTOR), ("chief", PartyRole.SUPERVISOR)):
        assert list(scoped(_user(username), Project.objects.all())) == [project]
        assert _user(username).roles.get().party_role == role
    monitored = scoped(_user("monitor"), Project.objects.all())
    assert project in monitored and all(p.has_pit for p in monitored)
