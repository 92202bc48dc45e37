"""Writing a checked plan in one transaction: parents before children, updates before inserts,
with bulk_create/bulk_update so the number of queries does not grow with the number of rows.

People are created with an unusable password (they set one through password reset).
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from accounts.models import Department, DepartmentKind, Enterprise, Membership, Region, User

from ..models import Duty, EnterpriseIndustry, Industry, Post
from .plan import CHUNK, ImportPlan


@transaction.atomic
def write(plan: ImportPlan) -> None:
    """Write the checked plan: parents before children, updates before inserts (a department
    moving away from a kind and region frees the slot for a new one)."""
    for level in ("city", "county", "township"):
        batch = [r for r in plan.new["regions"] if r.level == level]
        for region in batch:
            region.parent = _resolve(plan, ("regions", plan.region_parent.get(region.code)))
        Region.objects.bulk_create(batch)
    _apply(plan, "regions", Region)
    _apply(plan, "department_kinds", DepartmentKind)
    DepartmentKind.objects.bulk_create(plan.new["department_kinds"])
    _apply(plan, "departments", Department)
    for department, kind, region in plan.new["departments"]:
        department.kind, department.region = plan.kinds[kind], plan.regions[region]
    Department.objects.bulk_create([d for d, _k, _r in plan.new["departments"]])
    _write_industries(plan)
    _apply(plan, "duties", Duty)
    Duty.objects.bulk_create(plan.new["duties"])
    for user in plan.new["people"]:
        user.set_unusable_password()
    User.objects.bulk_create(plan.new["people"])
    _apply(plan, "people", User)
    _write_enterprises(plan)
    Membership.objects.bulk_create(
        Membership(
            user=plan.users[username],
            department=plan.departments[org] if kind == "department" else None,
            enterprise=plan.enterprises[org] if kind == "enterprise" else None,
            role=role,
        )
        for username, kind, org, role in plan.new_memberships
    )
    _write_posts(plan)


def _write_industries(plan: ImportPlan) -> None:
    Industry.objects.bulk_create([i for i, _p in plan.new["industries"]])
    for item, parent in plan.new["industries"]:
        item.parent = plan.industries[parent] if parent else None
    with_parent = [i for i, p in plan.new["industries"] if p]
    Industry.objects.bulk_update(with_parent, ["parent"], batch_size=CHUNK)
    _apply(plan, "industries", Industry)


def _write_enterprises(plan: ImportPlan) -> None:
    for enterprise, values in plan.new["enterprises"]:
        for name, value in values.items():
            setattr(enterprise, name, _resolve(plan, value))
    Enterprise.objects.bulk_create([e for e, _v in plan.new["enterprises"]])
    _apply(plan, "enterprises", Enterprise)
    for start in range(0, len(plan.replaced_links), CHUNK):
        chunk = plan.replaced_links[start : start + CHUNK]
        EnterpriseIndustry.objects.filter(enterprise_id__in=chunk).delete()
    EnterpriseIndustry.objects.bulk_create(
        EnterpriseIndustry(
            enterprise=plan.enterprises[uscc], industry=plan.industries[code], position=i
        )
        for uscc, codes in plan.new_links.items()
        for i, code in enumerate(codes)
    )


def _write_posts(plan: ImportPlan) -> None:
    for post, uscc, values in plan.new["posts"]:
        post.enterprise = plan.enterprises[uscc]
        post.holder = _resolve(plan, values.get("holder"))
    Post.objects.bulk_create([p for p, _u, _v in plan.new["posts"]])
    linked = []
    for post, _uscc, values in plan.new["posts"]:
        post.reports_to = _resolve(plan, values.get("reports_to"))
        if post.reports_to is not None:
            linked.append(post)
    Post.objects.bulk_update(linked, ["reports_to"], batch_size=CHUNK)
    _apply(plan, "posts", Post)


def _resolve(plan: ImportPlan, value: Any) -> Any:
    """A planned value: ("table", key) names a row of a merged table (None for no key)."""
    if isinstance(value, tuple):
        table, key = value
        return getattr(plan, table).get(key) if key else None
    return value


def _apply(plan: ImportPlan, sheet: str, model: type[models.Model]) -> None:
    """Write the planned updates of one sheet with a single bulk_update."""
    updates = plan.updates[sheet]
    names: set[str] = set()
    for update in updates:
        for name, value in update.values.items():
            setattr(update.instance, name, _resolve(plan, value))
            names.add(name)
    if updates:
        objs = [u.instance for u in updates]
        model._default_manager.bulk_update(objs, sorted(names), batch_size=CHUNK)
