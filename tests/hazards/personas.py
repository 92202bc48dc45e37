"""A small city with every persona of the hazard lifecycle (STYLE.md: one personas fixture).

临汾市 (141000) → 尧都区 (141002) → 解放路街道 (141002001); 曲沃县 (141021) is another county.
Enterprise A (a chemical plant in 尧都区) and enterprise B (another tenant) — nobody of A sees B.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import Department, Enterprise, Membership, Region
from tests.factories import (
    DepartmentFactory,
    DutyFactory,
    EnterpriseFactory,
    UserFactory,
    city,
    county,
    ensure_seeded,
    kind,
    link_industries,
    township,
)


def photo(name: str = "photo.jpg", color: str = "red") -> SimpleUploadedFile:
    """A real small JPEG, as a phone would upload it."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@dataclass
class World:
    city: Region
    county: Region
    other_county: Region
    township: Region
    emergency: Department  # county emergency bureau: lead for hazchem (general)
    city_emergency: Department  # lead for hazchem (major)
    market: Department  # cooperating
    county_committee: Department
    city_committee: Department
    township_gov: Department
    other_emergency: Department  # another county's bureau (another tenant)
    enterprise: Enterprise
    other_enterprise: Enterprise
    inspector: Any
    head: Any
    colleague: Any
    market_staff: Any
    city_staff: Any
    city_head: Any
    committee: Any
    principal: Any
    safety_manager: Any
    employee_b: Any
    principal_b: Any
    other_staff: Any
    outsider: Any


def member(
    user: Any,
    *,
    department: Department | None = None,
    enterprise: Enterprise | None = None,
    role: str,
) -> Any:
    Membership.objects.create(user=user, department=department, enterprise=enterprise, role=role)
    return user


def build_world() -> World:
    ensure_seeded()
    c = city()
    yd = county(parent=c)
    qw = county(code="141021", name="曲沃县", parent=c)
    jfl = township(parent=yd)
    dept = lambda region, code: DepartmentFactory(region=region, kind=kind(code))  # noqa: E731
    emergency = dept(yd, "emergency")
    city_emergency = dept(c, "emergency")
    market = dept(yd, "market")
    dept(c, "market")
    county_committee = dept(yd, "committee_office")
    city_committee = dept(c, "committee_office")
    township_gov = dept(jfl, "township_gov")
    other_emergency = dept(qw, "emergency")
    dept(qw, "committee_office")
    DutyFactory(
        industry=_industry("hazchem"),
        department_kind=kind("emergency"),
        role="lead",
        general_level="county",
        major_level="city",
        valid_from=date(2024, 1, 1),
    )
    DutyFactory(
        industry=_industry("hazchem"),
        department_kind=kind("market"),
        role="cooperating",
        general_level="county",
        major_level="county",
        valid_from=date(2024, 1, 1),
    )
    principal = UserFactory(username="principal_a", full_name="甲厂长")
    enterprise = EnterpriseFactory(name="尧都区某甲化工有限公司", region=jfl, principal=principal)
    link_industries(enterprise, "hazchem")
    principal_b = UserFactory(username="principal_b", full_name="乙厂长")
    other_enterprise = EnterpriseFactory(
        name="曲沃县某乙化工有限公司", region=qw, principal=principal_b
    )
    link_industries(other_enterprise, "hazchem")
    u = UserFactory
    world = World(
        city=c,
        county=yd,
        other_county=qw,
        township=jfl,
        emergency=emergency,
        city_emergency=city_emergency,
        market=market,
        county_committee=county_committee,
        city_committee=city_committee,
        township_gov=township_gov,
        other_emergency=other_emergency,
        enterprise=enterprise,
        other_enterprise=other_enterprise,
        inspector=member(
            u(username="inspector", full_name="检查员"), department=emergency, role="staff"
        ),
        head=member(u(username="head", full_name="局长"), department=emergency, role="head"),
        colleague=member(
            u(username="colleague", full_name="同事"), department=emergency, role="staff"
        ),
        market_staff=member(
            u(username="market_staff", full_name="市场监管员"), department=market, role="staff"
        ),
        city_staff=member(
            u(username="city_staff", full_name="市局科员"), department=city_emergency, role="staff"
        ),
        city_head=member(
            u(username="city_head", full_name="市局局长"), department=city_emergency, role="head"
        ),
        committee=member(
            u(username="committee", full_name="安委办"),
            department=county_committee,
            role="committee",
        ),
        principal=member(principal, enterprise=enterprise, role="principal"),
        safety_manager=member(
            u(username="safety_a", full_name="甲安全员"),
            enterprise=enterprise,
            role="safety_manager",
        ),
        employee_b=member(
            u(username="employee_b", full_name="乙员工"),
            enterprise=other_enterprise,
            role="employee",
        ),
        principal_b=member(principal_b, enterprise=other_enterprise, role="principal"),
        other_staff=member(
            u(username="other_staff", full_name="曲沃科员"),
            department=other_emergency,
            role="staff",
        ),
        outsider=u(username="outsider", full_name="路人"),
    )
    return world


def _industry(code: str) -> Any:
    from tests.factories import industry

    return industry(code)
