"""Who may change the duty map and who may read the admin reports.

These rules are decided by memberships, not by Django's per-model permission rows, so they hold
without anyone assigning permissions; superusers keep everything. Entering the Django admin at all
still needs ``is_staff``, which an administrator sets by hand (it is never set automatically).

The membership rules (committee office, department head, active users only) live in
``accounts/selectors.py``, shared with ``accounts/admin.py``; this module only combines them with the
superuser and staff flags.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts import selectors
from accounts.models import Department


def is_committee_office(user: Any) -> bool:
    """An active user with the role "committee" in a department of kind committee_office (安委办)."""
    return selectors.is_committee_office(user)


def can_change_duty_map(user: Any) -> bool:
    """Superusers and committee office staff may change the duty map and the organisations.

    An inactive user may change nothing, superuser or not.
    """
    if not selectors.is_active_user(user):
        return False
    return bool(user.is_superuser) or selectors.is_committee_office(user)


def departments_headed_by(user: Any) -> QuerySet[Department]:
    """Departments in which an active ``user`` holds the role "head" (empty for anyone else)."""
    return selectors.departments_headed_by(user)


def is_department_head(user: Any) -> bool:
    """True when an active ``user`` heads at least one department."""
    return selectors.departments_headed_by(user).exists()


def can_view_admin_reports(user: Any) -> bool:
    """Superusers, committee office staff, and staff users (``is_staff``) of any department may read
    the coverage report, the duty history and the chain explanations."""
    if not selectors.is_active_user(user):
        return False
    if user.is_superuser:
        return True
    roles = selectors.department_roles_of(user)
    return roles.committee_office or (bool(user.is_staff) and roles.department_member)
