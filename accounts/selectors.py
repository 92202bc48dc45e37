"""Membership reads shared by the admin console (``accounts/admin.py``) and the workflows'
permission rules (``workflows/responsibility/permissions.py``), so each rule is written once.

Rules that are not obvious:

- **Committee office** (安委办) means the role "committee" in a department whose kind is
  committee_office; the model allows "committee" in any department, but elsewhere it grants nothing.
- **Rights need an active, authenticated user**: an inactive or anonymous user has no department
  roles, and an inactive superuser is no superuser. The plain id lists (``department_ids_of``,
  ``enterprise_ids_of``) are membership facts, not rights, and ignore that flag.
- **One read per request**: ``memberships_of`` reads a user's memberships in one query and keeps
  them on the user object (``request.user`` lives for one request); every rule here and in the
  workflows' scoping derives from it. Code that changes a user's memberships and then asks about
  the same user object calls ``forget_memberships``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from .models import Department, DepartmentKind, Membership, Region


def is_active_user(user: Any) -> bool:
    """True for an authenticated, active user: the only kind that holds any right."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


@dataclass(frozen=True)
class DepartmentRoles:
    """What a user's department memberships grant, read in one query."""

    committee_office: bool
    headed_department_ids: frozenset[int]
    department_ids: frozenset[int]

    @property
    def department_member(self) -> bool:
        return bool(self.department_ids)


NO_DEPARTMENT_ROLES = DepartmentRoles(
    committee_office=False, headed_department_ids=frozenset(), department_ids=frozenset()
)


@dataclass(frozen=True)
class MembershipRow:
    """One membership as the rules need it."""

    role: str
    department_id: int | None
    enterprise_id: int | None
    department_kind: str | None
    department_region_id: int | None


MEMBERSHIPS_CACHE = "_memberships_cache"


def memberships_of(user: Any) -> tuple[MembershipRow, ...]:
    """Every membership of ``user`` (one query, then cached on the user object); none for an
    anonymous user."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return ()
    cached: tuple[MembershipRow, ...] | None = getattr(user, MEMBERSHIPS_CACHE, None)
    if cached is None:
        cached = tuple(
            MembershipRow(*row)
            for row in Membership.objects.filter(user_id=user.pk)
            .order_by("pk")
            .values_list(
                "role",
                "department_id",
                "enterprise_id",
                "department__kind__code",
                "department__region_id",
            )
        )
        setattr(user, MEMBERSHIPS_CACHE, cached)
    return cached


def forget_memberships(user: Any) -> None:
    """Drop what ``memberships_of`` cached on ``user`` (after changing its memberships)."""
    if hasattr(user, MEMBERSHIPS_CACHE):
        delattr(user, MEMBERSHIPS_CACHE)


def department_roles_of(user: Any) -> DepartmentRoles:
    """The department roles of an active ``user`` (none for anyone else)."""
    if not is_active_user(user):
        return NO_DEPARTMENT_ROLES
    rows = [
        (m.department_id, m.role, m.department_kind)
        for m in memberships_of(user)
        if m.department_id is not None
    ]
    return DepartmentRoles(
        committee_office=any(
            role == Membership.Role.COMMITTEE and kind == DepartmentKind.COMMITTEE_OFFICE
            for _dept, role, kind in rows
        ),
        headed_department_ids=frozenset(
            dept for dept, role, _kind in rows if role == Membership.Role.HEAD
        ),
        department_ids=frozenset(dept for dept, _role, _kind in rows),
    )


def is_committee_office(user: Any) -> bool:
    """An active user with the role "committee" in a department of kind committee_office (安委办)."""
    return department_roles_of(user).committee_office


def departments_headed_by(user: Any) -> QuerySet[Department]:
    """Departments in which an active ``user`` holds the role "head" (empty for anyone else)."""
    if not is_active_user(user):
        return Department.objects.none()
    return Department.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.HEAD
    ).distinct()


def department_ids_of(user: Any) -> set[int]:
    """Ids of the departments ``user`` belongs to, in any role (active or not)."""
    return {m.department_id for m in memberships_of(user) if m.department_id is not None}


def enterprise_ids_of(user: Any) -> set[int]:
    """Ids of the enterprises ``user`` belongs to, in any role (active or not)."""
    return {m.enterprise_id for m in memberships_of(user) if m.enterprise_id is not None}


def regions_below(region_ids: set[int]) -> set[int]:
    """The given regions and every region under them (city → counties → townships), in one
    recursive query."""
    if not region_ids:
        return set()
    table = connection.ops.quote_name(Region._meta.db_table)
    marks = ", ".join(["%s"] * len(region_ids))
    # The table name comes from the model and is quoted; the ids are parameters.
    sql = (
        f"WITH RECURSIVE below(id) AS (SELECT id FROM {table} WHERE id IN ({marks}) "  # noqa: S608
        f"UNION SELECT r.id FROM {table} r JOIN below b ON r.parent_id = b.id) SELECT id FROM below"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, sorted(region_ids))
        return {row[0] for row in cursor.fetchall()}
