"""Demo data for the embedded default: idempotent, so ``make demo`` can load it every time.

Later apps add their own loaders to ``LOADERS``; every role and hazard state will appear here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import transaction

# Meets every password rule (10+ characters, 3 character classes); shown in the README and banner.
DEMO_PASSWORD = "Anlian-2026"  # noqa: S105

# (username, full name, role shown to the person trying the demo)
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", "系统管理员", "系统管理员（可进入管理后台）"),
    ("aqb_office", "赵安委", "市安委办工作人员"),
    ("yjj_staff", "钱应急", "市应急管理局科员"),
    ("qy_principal", "孙主要", "企业主要负责人"),
    ("qy_safety", "李安全", "企业安全管理人员"),
]


@transaction.atomic
def load_users() -> int:
    """Create the demo logins (or reset their names and password); returns how many were new."""
    user_model = get_user_model()
    created = 0
    for username, full_name, _role in DEMO_LOGINS:
        user, was_created = user_model.objects.get_or_create(
            username=username, defaults={"full_name": full_name}
        )
        user.full_name = full_name
        user.is_staff = user.is_superuser = username == "admin"
        user.set_password(DEMO_PASSWORD)
        user.save()
        created += was_created
    return created


LOADERS: list[tuple[str, Callable[[], int]]] = [("users", load_users)]
