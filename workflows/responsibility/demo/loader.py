"""Writing the demo city: idempotent by natural keys, duty rows only ever added (``duty_create``)."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from accounts.models import Department, DepartmentKind, Enterprise, Membership, Region, User
from workflows.ops.demo import DEMO_LOGINS, demo_password_apply

from ..models import Duty, EnterpriseIndustry, Industry, Post
from ..services import duty_create
from .data import (
    ADMIN_CONSOLE_ROLES,
    CITY,
    COUNTIES,
    DEMO_POSTS,
    LOGIN_MEMBERSHIPS,
    POST_DUTIES,
    POSTED_INDUSTRIES,
    POSTS,
    TOWNSHIPS,
    EnterpriseSpec,
    demo_mobile,
    demo_person,
    department_rows,
    department_staff,
    duty_specs,
    enterprise_specs,
)


@transaction.atomic
def load_organisations() -> int:
    """Load the demo city; returns the number of rows created (0 when everything is already there).

    Existing rows found by natural key are brought back to the demo values only where they differ,
    so a second run writes nothing. Duty rows are created through ``duty_create`` (which refuses
    overlapping leads) and never edited.
    """
    created = _load_regions()
    created += _load_departments()
    created += _load_duties()
    enterprises = enterprise_specs()
    created += _load_people(enterprises)
    created += _load_enterprises(enterprises)
    created += _load_memberships(enterprises)
    created += _load_posts(enterprises)
    return created


def _sync(model: type[models.Model], key: tuple[str, ...], rows: list[dict[str, Any]]) -> int:
    """Create the rows whose ``key`` is missing (validated) and update changed fields of the others.

    Rows use attribute names (``parent_id``). Returns how many rows were created.
    """
    manager = model._default_manager
    first = key[0]
    existing = {
        tuple(getattr(obj, f) for f in key): obj
        for obj in manager.filter(**{f"{first}__in": {row[first] for row in rows}})
    }
    new, changed, fields = [], [], set()
    for row in rows:
        obj = existing.get(tuple(row[f] for f in key))
        if obj is None:
            obj = model(**row)
            obj.full_clean(validate_unique=False, validate_constraints=False)
            new.append(obj)
            continue
        diff = {f for f, value in row.items() if getattr(obj, f) != value}
        for f in diff:
            setattr(obj, f, row[f])
        if diff:
            changed.append(obj)
            fields |= diff
    manager.bulk_create(new)
    if changed:
        manager.bulk_update(changed, sorted(fields))
    return len(new)


def _ids(model: type[models.Model], field: str = "code") -> dict[str, int]:
    return dict(model._default_manager.values_list(field, "pk"))


def _load_regions() -> int:
    city_code, city_name = CITY
    created = _sync(
        Region,
        ("code",),
        [
            {
                "code": city_code,
                "name": city_name,
                "level": "city",
                "parent_id": None,
                "fictional": False,
            }
        ],
    )
    city_id = _ids(Region)[city_code]
    created += _sync(
        Region,
        ("code",),
        [
            {
                "code": code,
                "name": name,
                "level": "county",
                "parent_id": city_id,
                "fictional": False,
            }
            for code, name in COUNTIES
        ],
    )
    regions = _ids(Region)
    created += _sync(
        Region,
        ("code",),
        [
            {
                "code": code,
                "name": name,
                "level": "township",
                "parent_id": regions[county],
                "fictional": True,
            }
            for county, townships in TOWNSHIPS.items()
            for code, name in townships
        ],
    )
    return created


def _load_departments() -> int:
    kinds, regions = _ids(DepartmentKind), _ids(Region)
    return _sync(
        Department,
        ("code",),
        [
            {"code": code, "name": name, "kind_id": kinds[kind], "region_id": regions[region]}
            for code, name, kind, region in department_rows()
        ],
    )


def _load_duties() -> int:
    industries, kinds = _ids(Industry), _ids(DepartmentKind)
    existing = set(
        Duty.objects.values_list("industry_id", "department_kind_id", "role", "valid_from")
    )
    created = 0
    for spec in duty_specs():
        key = (industries[spec.industry], kinds[spec.kind], spec.role, spec.valid_from)
        if key in existing:
            continue
        duty_create(
            industry=Industry.objects.get(pk=key[0]),
            department_kind=DepartmentKind.objects.get(pk=key[1]),
            role=spec.role,
            general_level=spec.levels[0],
            major_level=spec.levels[1],
            valid_from=spec.valid_from,
            valid_to=spec.valid_to,
            decision=spec.decision,
            position=spec.position,
        )
        created += 1
    return created


def _load_people(enterprises: list[EnterpriseSpec]) -> int:
    """Documented logins, enterprise principals and one staff member for every department that
    has no documented member (so the coverage report does not drown in unstaffed departments)."""
    admin_console = {
        username
        for username, memberships in LOGIN_MEMBERSHIPS.items()
        if any(role in ADMIN_CONSOLE_ROLES for _org, role in memberships)
    }
    rows: dict[str, dict[str, Any]] = {}
    for number, (username, full_name, _role) in enumerate(DEMO_LOGINS, start=900):
        if username == "admin":
            continue
        rows[username] = {
            "username": username,
            "full_name": full_name,
            "mobile": demo_mobile(number),
            "is_staff": username in admin_console,
        }
    for serial, spec in enumerate(enterprises, start=1):
        if spec.principal and spec.principal not in rows:
            # Generated principals are the person of the enterprise's serial (enterprise_specs).
            username, full_name, mobile = demo_person(serial)
            rows[username] = {"username": username, "full_name": full_name, "mobile": mobile}
    for username, full_name, mobile in department_staff().values():
        rows[username] = {"username": username, "full_name": full_name, "mobile": mobile}
    for username, row in rows.items():
        # Fictional addresses: the demo's e-mail backend writes messages to files under var/mail.
        row["email"] = f"{username}@demo.safechain.local"
    existing = {u.username: u for u in User.objects.filter(username__in=rows)}
    new = [User(**row) for name, row in rows.items() if name not in existing]
    demo_password_apply(new)
    for user in new:
        user.full_clean(validate_unique=False, validate_constraints=False)
    User.objects.bulk_create(new)
    # Existing users keep their password (load_users resets the documented logins' passwords).
    _sync(User, ("username",), [row for name, row in rows.items() if name in existing])
    return len(new)


def _load_enterprises(enterprises: list[EnterpriseSpec]) -> int:
    regions = _ids(Region)
    users = dict(
        User.objects.filter(
            username__in=[s.principal for s in enterprises if s.principal]
        ).values_list("username", "pk")
    )
    created = _sync(
        Enterprise,
        ("uscc",),
        [
            {
                "uscc": spec.uscc,
                "name": spec.name,
                "region_id": regions[spec.region],
                "address": spec.address,
                "status": spec.status,
                "principal_id": users[spec.principal] if spec.principal else None,
            }
            for spec in enterprises
        ],
    )
    ids = _ids(Enterprise, "uscc")
    industries = _ids(Industry)
    taken = set(EnterpriseIndustry.objects.values_list("enterprise_id", "industry_id"))
    positions = set(EnterpriseIndustry.objects.values_list("enterprise_id", "position"))
    links = []
    for spec in enterprises:
        enterprise = ids[spec.uscc]
        for position, code in enumerate(spec.industries):
            # Links changed by hand since are respected: only a free slot is filled.
            if (enterprise, industries[code]) in taken or (enterprise, position) in positions:
                continue
            links.append(
                EnterpriseIndustry(
                    enterprise_id=enterprise, industry_id=industries[code], position=position
                )
            )
    EnterpriseIndustry.objects.bulk_create(links)
    return created + len(links)


def _load_memberships(enterprises: list[EnterpriseSpec]) -> int:
    departments, enterprise_ids = _ids(Department), _ids(Enterprise, "uscc")
    wanted: list[tuple[str, str, str]] = [
        (username, org, role)
        for username, memberships in LOGIN_MEMBERSHIPS.items()
        for org, role in memberships
    ]
    wanted += [
        (spec.principal, spec.uscc, "principal")
        for spec in enterprises
        if spec.principal and spec.principal not in LOGIN_MEMBERSHIPS
    ]
    wanted += [(person[0], code, "staff") for code, person in department_staff().items()]
    users = dict(
        User.objects.filter(username__in={w[0] for w in wanted}).values_list("username", "pk")
    )
    existing: set[tuple[int, int | None, int | None, str]] = set(
        Membership.objects.filter(user_id__in=users.values()).values_list(
            "user_id", "department_id", "enterprise_id", "role"
        )
    )
    new = []
    for username, org, role in wanted:
        department, enterprise = departments.get(org), enterprise_ids.get(org)
        key = (users[username], department, None if department else enterprise, role)
        if key not in existing:
            existing.add(key)
            new.append(
                Membership(user_id=key[0], department_id=key[1], enterprise_id=key[2], role=role)
            )
    for membership in new:
        membership.full_clean(validate_unique=False, validate_constraints=False)
    Membership.objects.bulk_create(new)
    return len(new)


def _load_posts(enterprises: list[EnterpriseSpec]) -> int:
    posted: dict[str, dict[str, tuple[str, str | None]]] = {
        uscc: dict(posts) for uscc, posts in DEMO_POSTS.items()
    }
    for industry in POSTED_INDUSTRIES:
        spec = next(s for s in enterprises[2:] if s.industries[0] == industry)
        posted[spec.uscc] = {"principal": ("主要负责人", spec.principal)}
    enterprise_ids = _ids(Enterprise, "uscc")
    users = _ids(User, "username")
    rows = []
    for uscc, own in posted.items():
        for code, title, _reports_to in POSTS:
            own_title, holder = own.get(code, (title, None))
            rows.append(
                {
                    "enterprise_id": enterprise_ids[uscc],
                    "code": code,
                    "title": own_title,
                    "holder_id": users[holder] if holder else None,
                    "duties": POST_DUTIES[code],
                }
            )
    created = _sync(Post, ("enterprise_id", "code"), rows)
    # Second pass: every post exists now, so "reports to" can point at its superior.
    ids = {
        (p.enterprise_id, p.code): p.pk
        for p in Post.objects.filter(enterprise_id__in=[enterprise_ids[u] for u in posted])
    }
    _sync(
        Post,
        ("enterprise_id", "code"),
        [
            {
                "enterprise_id": enterprise_ids[uscc],
                "code": code,
                "reports_to_id": ids[(enterprise_ids[uscc], boss)] if boss else None,
            }
            for uscc in posted
            for code, _title, boss in POSTS
        ],
    )
    return created
