"""Demo data for the embedded default: idempotent, so ``make demo`` can load it every time.

Later apps add their own loaders to ``LOADERS``; every role and hazard state will appear here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction

if TYPE_CHECKING:
    from accounts.models import User

# Meets every password rule (10+ characters, 3 character classes); shown in the README and banner.
DEMO_PASSWORD = "Anlian-2026"  # noqa: S105

# (username, full name, role shown to the person trying the demo). Memberships, mobiles and the
# admin-console flag of everyone but ``admin`` are set by ``workflows.responsibility.demo``.
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", "系统管理员", "系统管理员（可进入管理后台）"),
    ("aqb_office", "赵安委", "市安委办工作人员（可进入管理后台，可修改职责清单）"),
    ("yjj_staff", "钱应急", "市应急管理局科员"),
    ("qy_principal", "孙主要", "企业主要负责人（演示煤矿矿长）"),
    ("qy_safety", "李安全", "企业安全管理人员（演示煤矿安全管理部）"),
    ("qy_deputy", "周德胜", "企业分管负责人（演示煤矿分管安全副矿长）"),
    ("qy_worker", "吴小军", "企业员工（演示煤矿综采队队长）"),
    ("hg_principal", "郑国强", "企业主要负责人（演示化工厂总经理）"),
    ("hg_deputy", "王立新", "企业分管负责人（演示化工厂分管安全副总经理）"),
    ("hg_safety", "冯淑芬", "企业安全管理人员（演示化工厂安全管理部部长）"),
    ("hg_worker", "陈晓东", "企业员工（演示化工厂合成车间主任）"),
    ("yjj_head", "褚建国", "市应急管理局局长（可进入管理后台）"),
    ("zjj_staff", "卫晓燕", "市住房和城乡建设局科员"),
    ("zjj_head", "蒋国华", "市住房和城乡建设局局长（可进入管理后台）"),
    ("nyj_staff", "沈海涛", "市能源局科员"),
    ("nyj_head", "韩志刚", "市能源局局长（可进入管理后台）"),
    ("scj_staff", "杨丽", "市市场监督管理局科员"),
    ("scj_head", "朱明", "市市场监督管理局局长（可进入管理后台）"),
    ("hd_aqb", "秦红梅", "洪洞县安委办工作人员（可进入管理后台，可修改职责清单）"),
    ("hd_yjj_staff", "尤伟", "洪洞县应急管理局科员"),
    ("hd_yjj_head", "许建军", "洪洞县应急管理局局长（可进入管理后台）"),
    ("hd_zjj_staff", "何静", "洪洞县住房和城乡建设局科员"),
    ("hd_zjj_head", "吕帆", "洪洞县住房和城乡建设局局长（可进入管理后台）"),
    ("hd_nyj_staff", "施磊", "洪洞县能源局科员"),
    ("hd_nyj_head", "张勇", "洪洞县能源局局长（可进入管理后台）"),
    ("hd_scj_staff", "孔佳", "洪洞县市场监督管理局科员"),
    ("hd_scj_head", "曹斌", "洪洞县市场监督管理局局长（可进入管理后台）"),
    ("dcx_staff", "严晓东", "洪洞县堤村乡人民政府安全员（演示煤矿属地）"),
    ("gtz_staff", "华芳", "洪洞县甘亭镇人民政府安全员（演示化工厂属地）"),
]


def demo_password_apply(users: Iterable[User]) -> list[User]:
    """Give ``users`` the demo password in memory; returns those whose hash had to change.

    A user who already holds the password keeps the hash, so loading twice changes no row. The
    password is hashed once per call and shared: hashing it per user would take seconds for the
    hundreds of demo users, and the password is published anyway.
    """
    users = list(users)
    holds: dict[str, bool] = {}
    for encoded in {user.password for user in users if user.password}:
        holds[encoded] = check_password(DEMO_PASSWORD, encoded)
    changed = [user for user in users if not holds.get(user.password, False)]
    if changed:
        encoded = make_password(DEMO_PASSWORD)
        for user in changed:
            user.password = encoded
    return changed


@transaction.atomic
def load_users() -> int:
    """Create the demo logins (or reset their names and password); returns how many were new.

    Only ``admin`` is a superuser. The admin-console flag of the others follows their memberships
    and is set by the organisations loader, so it is left alone here.
    """
    user_model = get_user_model()
    existing = {u.username: u for u in user_model.objects.filter(username__in=_usernames())}
    new: list[User] = []
    changed: set[str] = set()
    for username, full_name, _role in DEMO_LOGINS:
        user = existing.get(username)
        if user is None:
            new.append(user_model(username=username, full_name=full_name))
            continue
        is_admin = username == "admin"
        wanted = {"full_name": full_name, "is_superuser": is_admin, "is_active": True}
        if is_admin:
            wanted["is_staff"] = True
        for field, value in wanted.items():
            if getattr(user, field) != value:
                setattr(user, field, value)
                changed.add(username)
    for user in new:
        user.is_staff = user.is_superuser = user.username == "admin"
    changed.update(u.username for u in demo_password_apply([*existing.values(), *new]))
    user_model.objects.bulk_create(new)
    for username in changed:
        if username in existing:
            existing[username].save()
    return len(new)


def _usernames() -> list[str]:
    return [username for username, _n, _r in DEMO_LOGINS]


def load_organisations() -> int:
    """Regions, departments, duty map, enterprises, posts and people (see responsibility.demo)."""
    # Imported here: ops is loaded by every process, the responsibility app only when demo data is.
    from workflows.responsibility.demo import load_organisations as load

    return load()


def load_hazards() -> int:
    """Hazards in every stage of the lifecycle, played through the services (see hazards.demo)."""
    # Imported here for the same reason as the organisations: the hazards app loads viewflow.
    from workflows.hazards.demo import load_hazards as load

    return load()


LOADERS: list[tuple[str, Callable[[], int]]] = [
    ("users", load_users),
    ("organisations", load_organisations),
    ("hazards", load_hazards),
]
