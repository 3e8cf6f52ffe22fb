"""Reference data every deployment has: Shanghai's regions, the supervising agencies and the
project posts, and the helpers other apps load their own fixtures with. Loaded idempotently
(re-running updates names, creates what is missing); `load_all` runs every app's declared
loaders."""

from __future__ import annotations

import csv
import io
import json
from importlib import resources

from django.db import transaction

from smartsite.core.choices import AgencyKind, RegionLevel
from smartsite.core.models import Agency, Post, Region


def _data(name: str) -> str:
    return resources.files("smartsite.core").joinpath("data", name).read_text("utf-8")


def fixture_rows(package: str, name: str) -> list[dict]:
    """The rows of an app's `fixtures/<name>` JSON file."""
    return json.loads(resources.files(package).joinpath("fixtures", name).read_text("utf-8"))


def load_by_code(model, package: str, name: str, *, keep_edits: bool = False) -> int:
    """Reference rows matched by their `code` and updated in place when the fixture changes
    them (validated like any other write); returns how many the fixture holds.

    With `keep_edits` a row an administrator has changed is left alone: an existing row is
    only upgraded while it still equals what a fixture shipped, i.e. the current fixture row
    or one of the earlier versions in its `replaces` list (each entry holds the fields that
    differed from the current row). Missing rows are always created."""
    rows = fixture_rows(package, name)
    with transaction.atomic():
        for row in rows:
            row = dict(row)
            replaces = row.pop("replaces", [])
            obj = model.objects.filter(code=row["code"]).first()
            if obj is not None and keep_edits:
                current = {field: getattr(obj, field) for field in row}
                shipped = [_typed(model, {**row, **old}) for old in replaces]
                if current not in shipped:  # edited, or already this version
                    continue
            obj = obj or model()
            for field, value in row.items():
                setattr(obj, field, value)
            obj.full_clean(validate_unique=False)
            obj.save()
    return len(rows)


def _typed(model, row: dict) -> dict:
    """A fixture row with its values as the model's fields hold them (dates, decimals...)."""
    return {field: model._meta.get_field(field).to_python(value) for field, value in row.items()}


def squad_name(street: Region) -> str:
    """The 城管执法中队 of a street or town, as Shanghai names them."""
    return f"{street.parent.name}城管执法局{street.name}中队"


@transaction.atomic
def load_regions() -> int:
    rows = list(csv.DictReader(io.StringIO(_data("regions.csv"))))
    by_code: dict[str, Region] = {r.code: r for r in Region.objects.all()}
    order = {RegionLevel.CITY: 0, RegionLevel.DISTRICT: 1, RegionLevel.STREET: 2}
    for row in sorted(rows, key=lambda r: order[r["level"]]):
        parent = by_code.get(row["parent_code"]) if row["parent_code"] else None
        region = by_code.get(row["code"])
        if region is None:
            region = Region.objects.create(code=row["code"], name=row["name"],
                                           level=row["level"], parent=parent)
            by_code[region.code] = region
        elif (region.name, region.parent_id) != (row["name"], parent.pk if parent else None):
            region.name, region.parent = row["name"], parent
            region.save()
    return len(rows)


@transaction.atomic
def load_agencies() -> int:
    wanted = []
    for region in Region.objects.select_related("parent"):
        if region.level == RegionLevel.CITY:
            wanted.append(("上海市住房和城乡建设管理委员会", AgencyKind.CITY_COMMISSION, region))
        elif region.level == RegionLevel.DISTRICT:
            wanted.append((f"{region.name}建设和管理委员会", AgencyKind.DISTRICT_COMMISSION, region))
            wanted.append((f"{region.name}建设工程安全质量监督站", AgencyKind.SUPERVISION_STATION,
                           region))
        else:
            wanted.append((squad_name(region), AgencyKind.ENFORCEMENT_SQUAD, region))
    existing = set(Agency.objects.values_list("name", flat=True))
    Agency.objects.bulk_create([Agency(name=n, kind=k, region=r) for n, k, r in wanted
                                if n not in existing])
    return len(wanted)


@transaction.atomic
def load_posts() -> int:
    rows = json.loads(resources.files("smartsite.core").joinpath("fixtures", "posts.json")
                      .read_text("utf-8"))
    for row in rows:
        Post.objects.update_or_create(code=row["code"], defaults=row)
    return len(rows)


def load_all() -> dict[str, int]:
    """Every app's reference data, in the order the apps declare it (core.scenarios):
    {loader key: rows its fixture holds}."""
    from smartsite.core import scenarios

    return {key: loader() for key, loader in scenarios.reference_loaders()}


def district_shapes_geojson() -> str:
    return _data("shanghai_districts.geojson")
