"""Accounts: login throttling per username+address and per address (password spraying), the
client address behind a trusted proxy only, changing one's own password, a role granted once,
and the HTTPS settings an operator sets through SMARTSITE_* variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from smartsite.core import services
from smartsite.core.choices import AuditAction, PartyRole, RoleKind
from smartsite.core.models import Agency, AuditEntry, Post, Role

pytestmark = pytest.mark.django_db

User = get_user_model()
SPRAYED = "Spring2026!"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 20
    settings.TRUSTED_PROXY_HEADER = ""


def attempt(client, username, password, address="203.0.113.7", **headers):
    return client.post("/login/", {"username": username, "password": password},
                       REMOTE_ADDR=address, **headers)


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/"


def test_a_username_is_locked_after_five_failures_from_one_address(client, cast, password):
    for _ in range(4):
        assert attempt(client, "jingan", "wrong").status_code == 200
    assert attempt(client, "jingan", "wrong").status_code == 429  # the fifth locks
    locked = attempt(client, "jingan", password)
    assert locked.status_code == 429 and "登录失败次数过多" in locked.content.decode()
    assert logged_in(attempt(client, "jingan", password, address="198.51.100.9"))


def test_spraying_one_password_over_many_usernames_locks_the_address(client, cast, password):
    for n in range(19):  # one try each: no username reaches its own limit
        assert attempt(client, f"user{n:02d}", SPRAYED).status_code == 200
    assert attempt(client, "user19", SPRAYED).status_code == 429  # the twentieth locks
    locked = attempt(client, "jingan", password)  # even the right password, from there
    assert locked.status_code == 429
    assert logged_in(attempt(client, "jingan", password, address="198.51.100.9"))


def test_logging_in_to_ones_own_account_does_not_reset_the_address_count(client, cast,
                                                                          password):
    """An attacker with an ordinary login cannot spray 19 guesses, log in, and start again."""
    for n in range(19):
        assert attempt(client, f"user{n:02d}", SPRAYED).status_code == 200
    assert logged_in(attempt(client, "jingan", password))
    client.logout()
    assert attempt(client, "user19", SPRAYED).status_code == 429  # still the twentieth


def test_others_failures_from_an_address_do_not_lock_out_a_user_who_logged_in_there(
        client, cast, password):
    """20 failed logins with made-up usernames from the office's address lock the address —
    but not a user who has logged in from it before; they keep their own limit of five."""
    assert logged_in(attempt(client, "city", password))
    client.logout()
    for n in range(20):
        attempt(client, f"made-up{n:02d}", SPRAYED)
    assert attempt(client, "made-up99", SPRAYED).status_code == 429  # the address is locked …
    assert attempt(client, "jingan", password).status_code == 429  # … for everyone else
    assert logged_in(attempt(client, "city", password))  # … but not for city
    client.logout()
    for _ in range(4):
        assert attempt(client, "city", "wrong").status_code == 200
    assert attempt(client, "city", "wrong").status_code == 429  # its own five still lock it
    assert attempt(client, "city", password).status_code == 429
    assert logged_in(attempt(client, "city", password, address="198.51.100.9"))


def test_a_login_clears_the_users_own_failures(client, cast, password):
    for _ in range(4):
        attempt(client, "jingan", "wrong")
    assert logged_in(attempt(client, "jingan", password))
    client.logout()
    for _ in range(4):  # four more: the earlier four no longer count
        assert attempt(client, "jingan", "wrong").status_code == 200
    assert logged_in(attempt(client, "jingan", password))


def test_fewer_failures_from_an_address_do_not_lock_it(client, cast, password):
    for n in range(19):
        attempt(client, f"user{n:02d}", SPRAYED)
    assert logged_in(attempt(client, "jingan", password))


def test_a_forwarded_for_header_counts_only_when_the_proxy_is_configured(client, cast, password,
                                                                        settings):
    # Not configured: a client rotating X-Forwarded-For is still one address.
    for n in range(20):
        attempt(client, f"user{n:02d}", SPRAYED, address="203.0.113.7",
                HTTP_X_FORWARDED_FOR=f"10.9.{n}.1")
    assert attempt(client, "jingan", password, HTTP_X_FORWARDED_FOR="10.99.0.1").status_code == 429


def test_behind_a_trusted_proxy_each_client_is_counted_on_its_own(client, cast, password,
                                                                 settings):
    """Every request comes from the proxy (127.0.0.1); the proxy appends the client's address.
    What a client writes into the header itself (left of it) is ignored."""
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    proxy = "127.0.0.1"
    for n in range(20):
        attempt(client, f"user{n:02d}", SPRAYED, address=proxy,
                HTTP_X_FORWARDED_FOR=f"10.9.{n}.1, 203.0.113.7")
    assert attempt(client, "jingan", password, address=proxy,
                   HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert logged_in(attempt(client, "jingan", password, address=proxy,
                             HTTP_X_FORWARDED_FOR="198.51.100.9"))


# ------------------------------------------------------------------ password


def change(client, old, new, again=None):
    return client.post("/account/password/", {"old_password": old, "new_password1": new,
                                              "new_password2": again or new},
                       REMOTE_ADDR="203.0.113.7")


def test_the_user_menu_links_to_the_password_page(cast, login):
    home = login(cast.contractor_a).get("/").content.decode()
    assert 'href="/account/password/"' in home and "修改密码" in home
    page = login(cast.contractor_a).get("/account/password/").content.decode()
    assert "当前密码" in page and "再次输入新密码" in page


def test_a_user_changes_their_own_password_and_it_is_audited(cast, client, password):
    assert logged_in(attempt(client, "contractor_a", password))
    response = change(client, password, "Tower-Crane-77")
    assert response.status_code == 302 and response["Location"] == "/account/password/done/"
    assert "密码已修改" in client.get(response["Location"]).content.decode()  # still logged in
    user = User.objects.get(username="contractor_a")
    assert user.check_password("Tower-Crane-77") and not user.check_password(password)
    entry = AuditEntry.objects.get(model="auth.user", object_id=str(user.pk))
    assert entry.action == AuditAction.UPDATE and entry.actor == user
    assert entry.changes["password"] == ["（已隐藏）", "已修改"]
    assert entry.changes["client_ip"] == "203.0.113.7"
    assert "Tower" not in json.dumps(entry.changes, ensure_ascii=False)
    client.logout()
    assert logged_in(attempt(client, "contractor_a", "Tower-Crane-77"))


@pytest.mark.parametrize(("old", "new", "again", "message"), [
    ("not-my-password", "Tower-Crane-77", None, "旧密码不正确"),
    (None, "12345678", None, "密码只包含数字"),
    (None, "short", None, "密码长度太短，至少需要 8 个字符"),
    (None, "password123", None, "这个密码太常见了"),
    (None, "Tower-Crane-77", "Tower-Crane-78", "输入的两个密码不一致"),
], ids=["wrong-old", "numeric", "short", "common", "mismatch"])
def test_a_bad_password_change_says_why_and_changes_nothing(cast, login, password, old, new,
                                                           again, message):
    client = login(cast.contractor_a)
    response = change(client, old or password, new, again)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert User.objects.get(username="contractor_a").check_password(password)
    assert not AuditEntry.objects.filter(model="auth.user").exists()


def test_the_password_page_needs_a_login(client):
    response = client.get("/account/password/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# ------------------------------------------------------------------ roles


def test_a_role_cannot_be_granted_twice(cast):
    agency = Agency.objects.get(pk=cast.district.roles.get().agency_id)
    with pytest.raises(ValidationError) as caught:
        services.grant_role(cast.district, actor=cast.city, kind=RoleKind.DISTRICT, agency=agency)
    assert caught.value.message_dict["kind"] == [
        f"该用户已有“区级监管 · {agency}”这一角色，不能重复授予"]
    with pytest.raises(ValidationError):
        services.grant_role(cast.contractor_a, actor=cast.city, kind=RoleKind.ENTERPRISE,
                            enterprise=cast.enterprise_a)
    pm = Post.objects.get(code="project_manager")
    with pytest.raises(ValidationError):
        services.grant_role(cast.manager_a, actor=cast.city, kind=RoleKind.PROJECT,
                            project=cast.project_a, enterprise=cast.enterprise_a,
                            party_role=PartyRole.CONTRACTOR, post=pm)
    assert Role.objects.filter(user=cast.district).count() == 1
    # A different scope is still a new role: the same project without the post, another agency.
    services.grant_role(cast.manager_a, actor=cast.city, kind=RoleKind.PROJECT,
                        project=cast.project_a, enterprise=cast.enterprise_a,
                        party_role=PartyRole.CONTRACTOR)
    assert cast.manager_a.roles.count() == 2


@pytest.mark.parametrize("spec", ["district", "enterprise", "project-post", "project"])
def test_the_database_refuses_a_repeated_role_too(cast, spec):
    if spec == "district":
        user, fields = cast.district, {"kind": RoleKind.DISTRICT,
                                       "agency_id": cast.district.roles.get().agency_id}
    elif spec == "enterprise":
        user, fields = cast.contractor_a, {"kind": RoleKind.ENTERPRISE,
                                           "enterprise": cast.enterprise_a}
    else:
        user = cast.manager_a
        fields = {"kind": RoleKind.PROJECT, "project": cast.project_a,
                  "enterprise": cast.enterprise_a, "party_role": PartyRole.CONTRACTOR,
                  "post": Post.objects.get(code="project_manager") if spec == "project-post"
                  else None}
        if spec == "project":
            Role.objects.create(user=user, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Role.objects.create(user=user, **fields)


def test_the_grant_page_says_the_role_is_already_held(cast, login):
    agency_id = cast.district.roles.get().agency_id
    response = login(cast.city).post(f"/users/{cast.district.pk}/",
                                     {"kind": RoleKind.DISTRICT, "agency": agency_id})
    assert response.status_code == 422
    assert "这一角色，不能重复授予" in response.content.decode()
    assert cast.district.roles.count() == 1


# ------------------------------------------------------------------ HTTPS settings


def settings_under(env: dict) -> dict:
    code = ("import json, django; django.setup(); from django.conf import settings as s; "
            "print(json.dumps({k: getattr(s, k, None) for k in ('SESSION_COOKIE_SECURE', "
            "'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
            "'SECURE_PROXY_SSL_HEADER', 'SECURE_SSL_REDIRECT', 'TRUSTED_PROXY_HEADER')}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSITE_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**clean, "DJANGO_SETTINGS_MODULE": "smartsite.settings",
                               "SMARTSITE_DATA_DIR": os.environ.get("SMARTSITE_DATA_DIR", "var"),
                               **env}, timeout=60, check=True)
    return json.loads(done.stdout)


def test_https_settings_are_off_by_default_and_set_through_smartsite_variables():
    assert settings_under({}) == {
        "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False, "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False, "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_SSL_REDIRECT": False, "TRUSTED_PROXY_HEADER": ""}
    assert settings_under({
        "SMARTSITE_SECURE_COOKIES": "true", "SMARTSITE_HSTS_SECONDS": "31536000",
        "SMARTSITE_HSTS_INCLUDE_SUBDOMAINS": "1", "SMARTSITE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "SMARTSITE_SSL_REDIRECT": "1", "SMARTSITE_TRUSTED_PROXY_HEADER": "X-Real-IP"}) == {
        "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_SSL_REDIRECT": True, "TRUSTED_PROXY_HEADER": "X-Real-IP"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_admins_granting_the_same_role_at_once_get_the_message_not_a_500(cast):
    """A real race on PostgreSQL: another connection inserts the same role in a transaction it
    has not committed yet, so grant_role's check passes and its insert waits on the unique
    index; the other commits, and the insert fails — the admin gets the same message."""
    import threading

    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the race needs two PostgreSQL connections; it runs in the PostgreSQL pass")
    db = connection.settings_dict
    user = User.objects.get(username="contractor_a")
    enterprise = cast.enterprise_b
    outcome = {}

    def grant():
        try:
            services.grant_role(user, actor=cast.city, kind=RoleKind.ENTERPRISE,
                                enterprise=enterprise)
        except Exception as exc:  # what the admin would get
            outcome["error"] = exc
        finally:
            from django.db import connection as own

            own.close()

    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
                         user=db["USER"], password=db["PASSWORD"] or None,
                         dbname=db["NAME"]) as other:
        other.execute("INSERT INTO core_role (user_id, kind, enterprise_id, party_role, created)"
                      " VALUES (%s, 'enterprise', %s, '', now())", (user.pk, enterprise.pk))
        thread = threading.Thread(target=grant)
        thread.start()
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
        with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
                             user=db["USER"], password=db["PASSWORD"] or None,
                             dbname=db["NAME"], autocommit=True) as watcher:
            for _ in range(200):  # until the grant's insert waits on the other's row
                if watcher.execute(waiting).fetchone()[0]:
                    break
                thread.join(0.05)
            else:
                pytest.fail("the grant never waited on the other connection's insert")
        other.commit()
        thread.join(20)
    error = outcome.get("error")
    assert isinstance(error, ValidationError), repr(error)
    assert error.message_dict["kind"] == [f"该用户已有“企业 · {enterprise}”这一角色，不能重复授予"]
    assert Role.objects.filter(user=user, enterprise=enterprise).count() == 1
    assert not AuditEntry.objects.filter(model="core.role", action=AuditAction.GRANT).exists()
