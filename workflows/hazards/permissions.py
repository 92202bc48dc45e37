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

from typing import Any

from accounts.models import Department, DepartmentKind, Membership, Region

PREFIX = "hazards."
CACHE_ATTR = "_hazard_queue_perms"


def dept_perm(department_id: int | None) -> str:
    return f"{PREFIX}dept_{department_id}"


def closeout_perm(department_id: int | None) -> str:
    return f"{PREFIX}closeout_{department_id}"


def enterprise_perm(enterprise_id: int | None) -> str:
    return f"{PREFIX}ent_{enterprise_id}"


def principal_perm(enterprise_id: int | None) -> str:
    return f"{PREFIX}principal_{enterprise_id}"


def _regions_below(region_ids: set[int]) -> set[int]:
    """The given regions and every region under them (city → counties → townships)."""
    found = set(region_ids)
    frontier = set(region_ids)
    while frontier:
        frontier = (
            set(Region.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - found
        )
        found |= frontier
    return found


def queue_permissions(user: Any) -> set[str]:
    """Every queue permission string of ``user`` (cached on the user object for the request)."""
    cached = getattr(user, CACHE_ATTR, None)
    if cached is not None:
        return cached
    perms: set[str] = set()
    if user.is_authenticated and user.is_active:
        from workflows.responsibility.models import Post

        memberships = list(
            Membership.objects.filter(user=user).values_list(
                "role",
                "department_id",
                "enterprise_id",
                "department__kind__code",
                "department__region_id",
            )
        )
        committee_regions: set[int] = set()
        for role, department_id, enterprise_id, kind_code, region_id in memberships:
            if department_id:
                perms.add(dept_perm(department_id))
                if role == Membership.Role.HEAD:
                    perms.add(closeout_perm(department_id))
                if kind_code == DepartmentKind.COMMITTEE_OFFICE:
                    committee_regions.add(region_id)
            elif role in (Membership.Role.PRINCIPAL, Membership.Role.DEPUTY):
                perms.update({enterprise_perm(enterprise_id), principal_perm(enterprise_id)})
            elif role == Membership.Role.SAFETY_MANAGER:
                perms.add(enterprise_perm(enterprise_id))
        if committee_regions:
            regions = _regions_below(committee_regions)
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
    """Regions whose committee office the user staffs, with every region below them."""
    roots = set(
        Membership.objects.filter(
            user=user, department__kind__code=DepartmentKind.COMMITTEE_OFFICE
        ).values_list("department__region_id", flat=True)
    )
    return _regions_below(roots) if roots else set()


class QueueBackend:
    """Authentication backend that only answers permission questions (never authenticates)."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: int) -> None:
        return None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return queue_permissions(user_obj) if obj is None else set()

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return perm.startswith(PREFIX) and perm in queue_permissions(user_obj)
