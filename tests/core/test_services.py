"""The core write path: permission, validation, audit — and nothing saved on failure."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from smartsite.core import audit, services
from smartsite.core import models as m
from smartsite.core.choices import AuditAction, PartyRole, RoleKind
from smartsite.core.errors import Forbidden


def test_update_records_who_and_before_after(cast):
    services.save(cast.project_a, actor=cast.district, data={"name": "静安甲项目（一期）"})
    entry = audit.history(cast.project_a).first()
    assert entry.action == AuditAction.UPDATE
    assert entry.actor == cast.district
    assert entry.changes["name"] == ["静安甲项目", "静安甲项目（一期）"]
    assert entry.project_id == cast.project_a.pk


def test_saving_without_changes_writes_no_audit_entry(cast):
    services.save(cast.project_a, actor=cast.city)
    assert not audit.history(cast.project_a).exists()


def test_district_regulator_cannot_edit_another_districts_project(cast):
    with pytest.raises(Forbidden):
        services.save(cast.project_b, actor=cast.district, data={"name": "改名"})
    cast.project_b.refresh_from_db()
    assert cast.project_b.name == "陆家嘴乙项目"


@pytest.mark.parametrize("who", ["street", "contractor_a", "manager_a", "nobody"])
def test_only_regulators_maintain_the_registry(cast, who):
    with pytest.raises(Forbidden):
        services.save(cast.project_a, actor=cast.users()[who], data={"name": "x"})


def test_invalid_data_saves_nothing(cast):
    before = m.AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.save(cast.project_a, actor=cast.city,
                      data={"finish_date": cast.project_a.start_date.replace(year=2020)})
    assert "计划竣工日期不能早于开工日期" in exc.value.message_dict["finish_date"]
    assert m.AuditEntry.objects.count() == before


def test_street_must_belong_to_the_district(cast):
    with pytest.raises(ValidationError) as exc:
        services.save(cast.project_a, actor=cast.city, data={"street": cast.lujiazui})
    assert "不属于" in exc.value.message_dict["street"][0]


def test_enterprise_with_wrong_check_character_is_rejected(cast):
    code = cast.enterprise_a.uscc
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        services.save(m.Enterprise(uscc=wrong, name="错码公司"), actor=cast.city)
    assert "校验" in exc.value.message_dict["uscc"][0]
    assert not m.Enterprise.objects.filter(name="错码公司").exists()


def test_person_with_wrong_check_digit_is_rejected(cast):
    rid = cast.person_a.resident_id
    wrong = rid[:-1] + ("0" if rid[-1] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        services.save(m.Person(resident_id=wrong, name="王五"), actor=cast.city)
    assert "校验" in exc.value.message_dict["resident_id"][0]


def test_duplicate_permit_number_is_rejected(cast):
    dup = m.Project(permit_no=cast.project_a.permit_no, name="重复", address="x",
                    kind="building", district=cast.jingan, street=cast.project_a.street)
    with pytest.raises(ValidationError) as exc:
        services.save(dup, actor=cast.city)
    assert "permit_no" in exc.value.message_dict


def test_save_project_sets_and_removes_parties_with_audit(cast):
    services.save_project(cast.project_a, actor=cast.district,
                          parties={PartyRole.CONTRACTOR: cast.enterprise_b,
                                   PartyRole.OWNER: cast.owner})
    roles = dict(cast.project_a.parties.values_list("role", "enterprise"))
    assert roles == {PartyRole.CONTRACTOR: cast.enterprise_b.pk, PartyRole.OWNER: cast.owner.pk}
    logged = set(m.AuditEntry.objects.filter(model="core.projectparty")
                 .values_list("action", flat=True))
    assert logged == {AuditAction.UPDATE, AuditAction.DELETE}


def test_monitor_party_needs_a_pit(cast):
    with pytest.raises(ValidationError):
        services.save(m.ProjectParty(project=cast.project_a, role=PartyRole.MONITOR,
                                     enterprise=cast.enterprise_b), actor=cast.city)


def test_grant_and_revoke_are_audited_and_take_effect(cast):
    from smartsite.core.scoping import scoped

    role = services.grant_role(cast.nobody, actor=cast.city, kind=RoleKind.ENTERPRISE,
                               enterprise=cast.enterprise_b)
    assert list(scoped(cast.nobody, m.Project.objects.all())) == [cast.project_b]
    services.revoke_role(role, actor=cast.city)
    assert not scoped(cast.nobody, m.Project.objects.all()).exists()
    actions = list(m.AuditEntry.objects.filter(model="core.role")
                   .values_list("action", flat=True))
    assert sorted(actions) == sorted([AuditAction.GRANT, AuditAction.REVOKE])


def test_only_city_admin_changes_permissions(cast):
    with pytest.raises(Forbidden):
        services.grant_role(cast.nobody, actor=cast.district, kind=RoleKind.ENTERPRISE,
                            enterprise=cast.enterprise_a)
    assert not cast.nobody.roles.exists()


def test_project_role_requires_the_enterprise_to_be_that_party(cast):
    with pytest.raises(ValidationError) as exc:
        services.grant_role(cast.nobody, actor=cast.city, kind=RoleKind.PROJECT,
                            project=cast.project_a, enterprise=cast.enterprise_b,
                            party_role=PartyRole.CONTRACTOR)
    assert "不是项目" in exc.value.message_dict["party_role"][0]


def test_api_token_is_stored_hashed_and_revocable(cast):
    token, raw = services.issue_token(cast.district, actor=cast.district, name="脚本")
    assert raw not in (token.digest, token.prefix) and len(token.digest) == 64
    assert m.ApiToken.find(raw) == token
    services.revoke_token(token, actor=cast.district)
    assert m.ApiToken.find(raw) is None
    with pytest.raises(Forbidden):
        services.issue_token(cast.city, actor=cast.district, name="别人的")


def test_deleting_a_referenced_enterprise_explains_why(cast):
    with pytest.raises(ValidationError) as exc:
        services.delete(cast.enterprise_a, actor=cast.city)
    assert "引用" in exc.value.messages[0]
    assert m.Enterprise.objects.filter(pk=cast.enterprise_a.pk).exists()


def test_passwords_are_stored_with_the_production_hasher(cast, settings):
    from django.conf import global_settings

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # undo the tests' fast hasher
    user = services.create_user("new_officer", actor=cast.city, password="Harbour-Lights-42")
    user.refresh_from_db()
    assert user.password.startswith(("pbkdf2_sha256$", "argon2$", "scrypt$"))
    assert "Harbour-Lights-42" not in user.password
    assert user.check_password("Harbour-Lights-42")


def test_a_weak_password_is_refused_and_no_user_is_created(cast):
    with pytest.raises(ValidationError):
        services.create_user("weak", actor=cast.city, password="123456")
    assert not services.User.objects.filter(username="weak").exists()
