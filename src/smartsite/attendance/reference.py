"""The attendance scenario's reference data (fixtures/*.json, each row with its citation and a
confidence mark): which registry posts are key posts and of which class, the rules'
parameters, and the loop policies of its order kinds. An administrator's edit survives
reloading (keep_edits; a key post already listed is left alone)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from smartsite.attendance.models import Consequence, KeyPost, Parameter
from smartsite.core.models import Post
from smartsite.core.reference import fixture_rows, load_by_code
from smartsite.workorders import reference as loops

PACKAGE = "smartsite.attendance"


@transaction.atomic
def load_key_posts() -> int:
    """Key posts by their registry post's code (core's posts load first)."""
    rows = fixture_rows(PACKAGE, "key_posts.json")
    for row in rows:
        if KeyPost.objects.filter(code=row["code"]).exists():
            continue
        post = Post.objects.filter(code=row["code"]).first()
        if post is None:
            raise ValidationError(f"关键岗位“{row['code']}”在岗位表中不存在")
        key_post = KeyPost(post=post, **row)
        key_post.full_clean()
        key_post.save()
    return len(rows)


def load_parameters() -> int:
    return load_by_code(Parameter, PACKAGE, "parameters.json", keep_edits=True)


def load_policies() -> int:
    return loops.load_policies(PACKAGE)


def load_consequences() -> int:
    return load_by_code(Consequence, PACKAGE, "sanctions.json", keep_edits=True)
