"""A city administrator's change to a dust limit (its value, 已核实) survives every reload of
the reference data (`smartsite migrate`, demo start, deployment); a row nobody changed still
follows a new fixture."""

from __future__ import annotations

import json

import pytest

from smartsite.core import reference
from smartsite.dust.models import DustLimit
from smartsite.dust.reference import load_limits

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CODE = "db31-964-2016-pm10"


def edit(**values) -> None:
    """Change the limit as an administrator would: validated, then saved."""
    row = DustLimit.objects.get(code=CODE)
    for field, value in values.items():
        setattr(row, field, value)
    row.full_clean()
    row.save()


@pytest.fixture
def next_release(tmp_path, monkeypatch):
    """A later fixture: PM10 confirmed at 120, listing what the current one shipped."""
    package = tmp_path / "next_release"
    (package / "fixtures").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    rows = reference.fixture_rows("smartsite.dust", "limits.json")
    rows[0].update(limit=120, confirmed=True, replaces=[{"limit": 100, "confirmed": False}])
    (package / "fixtures" / "limits.json").write_text(json.dumps(rows, ensure_ascii=False))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "next_release"


def test_an_administrators_limit_survives_reloading_the_reference_data():
    edit(limit=80, confirmed=True)
    reference.load_all()
    row = DustLimit.objects.get(code=CODE)
    assert (row.limit, row.confirmed) == (80, True)
    assert DustLimit.in_force().limit == 80


def test_a_new_fixture_upgrades_a_shipped_limit_but_not_an_edited_one(next_release):
    load_limits(next_release)  # nobody touched the shipped row: it follows the release
    row = DustLimit.objects.get(code=CODE)
    assert (row.limit, row.confirmed) == (120, True)

    edit(limit=90, confirmed=False)
    load_limits(next_release)
    load_limits()
    row = DustLimit.objects.get(code=CODE)
    assert (row.limit, row.confirmed) == (90, False)


def test_a_missing_limit_is_created_again():
    DustLimit.objects.all().delete()
    load_limits()
    assert DustLimit.objects.get(code=CODE).limit == 100
