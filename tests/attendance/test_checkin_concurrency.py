"""The same check-in sent twice at once (a phone retrying while the first request is still being
checked): one row, both answers the same check-in. Runs on PostgreSQL too: it relies on the
database's unique constraint on (person, client_id)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from support.attendance import build_site, payload
from support.clock import CLOCK_AT
from support.faces import photo

from smartsite.attendance.checkin import check_in
from smartsite.attendance.models import CheckIn

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_simultaneous_sends_of_one_check_in_store_one_row(cast):
    build_site(cast)
    body = payload()
    barrier = threading.Barrier(2)
    answers, errors = [], []

    def send():
        try:
            barrier.wait(10)
            answers.append(check_in(person=cast.person_a, project=cast.project_a, payload=body,
                                    photo=photo("obama2.jpg"), at=CLOCK_AT))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert CheckIn.objects.count() == 1
    assert {a.checkin.pk for a in answers} == {CheckIn.objects.get().pk}
    assert sorted(a.created for a in answers) == [False, True]
