"""Who may change the duty map and who may read the admin reports.

These rules are decided by memberships, not by Django's per-model permission rows, so they hold
without anyone assigning permissions; superusers keep everything. Entering the Django admin at all
still needs ``is_staff``, which an administrator sets by hand (it is never set automatically).

``accounts/admin.py`` applies the same two membership rules (committee office, department head) but
may not import this module (``accounts`` knows no workflow); tests keep the two in agreement.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import Department, DepartmentKind, Membership


def _is_real_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def is_committee_office(user: Any) -> bool:
    """An active user with the role "committee" in a department of kind committee_office (安委办)."""
    if not _is_real_user(user):
        return False
    return Membership.objects.filter(
        user=user,
        role=Membership.Role.COMMITTEE,
        department__kind__code=DepartmentKind.COMMITTEE_OFFICE,
    ).exists()


def can_change_duty_map(user: Any) -> bool:
    """Superusers and committee office staff may change the duty map and the organisations.

    An inactive user may change nothing, superuser or not.
    """
    if not _is_real_user(user):
        return False
    return bool(user.is_superuser) or is_committee_office(user)


def departments_headed_by(user: Any) -> QuerySet[Department]:
    """Departments in which an active ``user`` holds the role "head" (empty for anyone else)."""
    if not _is_real_user(user):
        return Department.objects.none()
    return Department.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.HEAD
    ).distinct()


def is_department_head(user: Any) -> bool:
    """True when an active ``user`` heads at least one department."""
    return departments_headed_by(user).exists()


def can_view_admin_reports(user: Any) -> bool:
    """Superusers, committee office staff, and staff users (``is_staff``) of any department may read
    the coverage report, the duty history and the chain explanations."""
    if not _is_real_user(user):
        return False
    if user.is_superuser or is_committee_office(user):
        return True
    return (
        bool(user.is_staff)
        and Membership.objects.filter(user=user, department__isnull=False).exists()
    )
