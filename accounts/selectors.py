"""Membership reads shared by the admin console (``accounts/admin.py``) and the workflows'
permission rules (``workflows/responsibility/permissions.py``), so each rule is written once.

Rules that are not obvious:

- **Committee office** (安委办) means the role "committee" in a department whose kind is
  committee_office; the model allows "committee" in any department, but elsewhere it grants nothing.
- **Rights need an active, authenticated user**: an inactive or anonymous user has no department
  roles, and an inactive superuser is no superuser. The plain id lists (``department_ids_of``,
  ``enterprise_ids_of``) are membership facts, not rights, and ignore that flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from .models import Department, DepartmentKind, Membership


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


def department_roles_of(user: Any) -> DepartmentRoles:
    """The department roles of an active ``user`` in a single query (none for anyone else)."""
    if not is_active_user(user):
        return NO_DEPARTMENT_ROLES
    rows = list(
        Membership.objects.filter(user=user, department__isnull=False).values_list(
            "department_id", "role", "department__kind__code"
        )
    )
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
    return set(
        Membership.objects.filter(user=user, department__isnull=False).values_list(
            "department_id", flat=True
        )
    )


def enterprise_ids_of(user: Any) -> set[int]:
    """Ids of the enterprises ``user`` belongs to, in any role (active or not)."""
    return set(
        Membership.objects.filter(user=user, enterprise__isnull=False).values_list(
            "enterprise_id", flat=True
        )
    )
