"""Who may act on which task, as permission strings viewflow's queues understand.

viewflow puts a department step into a queue by giving the task an ``owner_permission`` string and
lists, for a user, the tasks whose string is in ``user.get_all_permissions()``. ``QueueBackend``
derives those strings from memberships — no permission rows to maintain:

- ``hazards.dept_<id>``       staff, heads and committee staff of department <id> (triage, approve, verify)
- ``hazards.closeout_<id>``   heads of department <id>, and committee-office staff whose region contains it
- ``hazards.ent_<id>``        principal, deputy and safety managers of enterprise <id>, and its post holders
- ``hazards.principal_<id>``  principal and deputy of enterprise <id> (the remediation plan)
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied

from accounts.models import Department, DepartmentKind, Membership
from accounts.selectors import memberships_of, regions_below

PREFIX = "hazards."
CACHE_ATTR = "_hazard_queue_perms"
REGIONS_CACHE_ATTR = "_hazard_committee_regions"


def dept_perm(department_id: int | None) -> str:
    return f"{PREFIX}dept_{department_id}"


def closeout_perm(department_id: int | None) -> str:
    return f"{PREFIX}closeout_{department_id}"


def enterprise_perm(enterprise_id: int | None) -> str:
    return f"{PREFIX}ent_{enterprise_id}"


def principal_perm(enterprise_id: int | None) -> str:
    return f"{PREFIX}principal_{enterprise_id}"


def queue_permissions(user: Any) -> set[str]:
    """Every queue permission string of ``user`` (cached on the user object for the request)."""
    cached = getattr(user, CACHE_ATTR, None)
    if cached is not None:
        return cached
    perms: set[str] = set()
    if user.is_authenticated and user.is_active:
        from workflows.responsibility.models import Post

        for m in memberships_of(user):
            if m.department_id:
                perms.add(dept_perm(m.department_id))
                if m.role == Membership.Role.HEAD:
                    perms.add(closeout_perm(m.department_id))
            elif m.role in (Membership.Role.PRINCIPAL, Membership.Role.DEPUTY):
                perms.update({enterprise_perm(m.enterprise_id), principal_perm(m.enterprise_id)})
            elif m.role == Membership.Role.SAFETY_MANAGER:
                perms.add(enterprise_perm(m.enterprise_id))
        regions = committee_regions_of(user)
        if regions:
            perms.update(
                closeout_perm(pk)
                for pk in Department.objects.filter(region_id__in=regions).values_list(
                    "pk", flat=True
                )
            )
        perms.update(
            enterprise_perm(pk)
            for pk in Post.objects.filter(holder=user).values_list("enterprise_id", flat=True)
        )
    setattr(user, CACHE_ATTR, perms)
    return perms


def committee_regions_of(user: Any) -> set[int]:
    """Regions whose committee office the user staffs (any role in a department of kind
    committee_office), with every region below them; cached on the user object."""
    cached: set[int] | None = getattr(user, REGIONS_CACHE_ATTR, None)
    if cached is None:
        roots = {
            m.department_region_id
            for m in memberships_of(user)
            if m.department_kind == DepartmentKind.COMMITTEE_OFFICE
            and m.department_region_id is not None
        }
        cached = regions_below(roots) if roots else set()
        setattr(user, REGIONS_CACHE_ATTR, cached)
    return cached


QUEUE_PERMISSION = re.compile(rf"^{re.escape(PREFIX)}(?:dept|closeout|ent|principal)_\d+$")


class QueueBackend:
    """Authentication backend that only answers permission questions (never authenticates).

    It is the only authority on queue permission strings: a user who does not hold one is refused
    there (``PermissionDenied`` stops Django's backend chain), so no permission row in Django's
    tables can open a queue, and asking costs no query of those tables. Other permissions are left
    to the next backend.

    It has no ``get_user``: a backend with one may be picked to log a user in without a password
    (``Client.force_login``, ``login()`` with one backend named) and would then load nobody.
    """

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return queue_permissions(user_obj) if obj is None else set()

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if not QUEUE_PERMISSION.match(perm):
            return False
        if perm in queue_permissions(user_obj):
            return True
        raise PermissionDenied
