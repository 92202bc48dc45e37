"""Helpers shared by the notifications tests."""

from __future__ import annotations

from tests.factories import DepartmentFactory


def standalone_department():
    """A department that needs none of the seeded catalogues: the transactional tests (real
    workers) must not depend on data a flush between tests may have removed."""
    from accounts.models import DepartmentKind
    from tests.factories import county

    kind, _ = DepartmentKind.objects.get_or_create(
        code="emergency", defaults={"name": "应急管理", "sort_order": 10}
    )
    return DepartmentFactory(kind=kind, region=county())
