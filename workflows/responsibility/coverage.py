"""The coverage report: where the duty map leaves nobody responsible, and where it names two leads.

Blind spots (补齐监管短板、堵塞监管漏洞) and overlaps are computed for one day from a fixed handful of
queries — regions, industries, lead duties, departments, enterprises, industry links — whatever the
number of enterprises; everything else is a dictionary lookup. Lead rows are found with the same rule
as chain resolution (``selectors.duties_for_industry``: the industry's own rows or, if it has none,
those of its nearest ancestor), applied in memory to the rows loaded once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Department, DepartmentKind, Enterprise, Membership, Region

from .models import Duty, EnterpriseIndustry, Industry, Level
from .selectors import GRADES, duties_valid_on, lead_overlaps, level_for

INDUSTRY_WITHOUT_LEAD = "industry_without_lead"
ENTERPRISE_WITHOUT_INDUSTRY = "enterprise_without_industry"
ENTERPRISE_LEAD_DEPARTMENT_MISSING = "enterprise_lead_department_missing"
ENTERPRISE_WITHOUT_PRINCIPAL = "enterprise_without_principal"
DEPARTMENT_WITHOUT_STAFF = "department_without_staff"
OVERLAP = "overlap"

#: Blind-spot types in report order, with the heading the admin page shows for each.
BLIND_SPOT_TYPES: dict[str, Promise] = {
    INDUSTRY_WITHOUT_LEAD: gettext_lazy("Industries without a lead department"),
    ENTERPRISE_LEAD_DEPARTMENT_MISSING: gettext_lazy(
        "Enterprises whose lead department does not exist"
    ),
    ENTERPRISE_WITHOUT_INDUSTRY: gettext_lazy("Enterprises without an industry"),
    ENTERPRISE_WITHOUT_PRINCIPAL: gettext_lazy("Enterprises without a principal"),
    DEPARTMENT_WITHOUT_STAFF: gettext_lazy("Departments without staff"),
}
OVERLAP_TITLE = gettext_lazy("Overlapping lead duties")

GRADE_LABELS: dict[str, Promise] = {
    "general": gettext_lazy("general hazards"),
    "major": gettext_lazy("major hazards"),
}

#: Flat columns of the CSV file (and of ``coverage_rows``), with their translatable headers.
COLUMNS: dict[str, Promise] = {
    "type": gettext_lazy("type"),
    "industry": gettext_lazy("industry"),
    "enterprise": gettext_lazy("enterprise"),
    "department": gettext_lazy("department"),
    "grade": gettext_lazy("grade"),
    "detail": gettext_lazy("detail"),
}


@dataclass(frozen=True)
class _IndustryNode:
    id: int
    code: str
    name: str
    parent_id: int | None


@dataclass(frozen=True)
class _RegionNode:
    name: str
    level: str
    parent_id: int | None


def coverage_report(*, on: date | None = None) -> dict[str, Any]:
    """Blind spots and lead overlaps of the duty map on ``on`` (default: today), as plain JSON data.

    Closed enterprises are left out (nobody supervises them any more); suspended ones still count.
    An industry that inherits a lead row from an ancestor is covered; an enterprise whose industry has
    no lead at all is reported once, under its industry, not once per enterprise.
    """
    on = on or timezone.localdate()
    industries = {
        pk: _IndustryNode(pk, code, name, parent_id)
        for pk, code, name, parent_id in Industry.objects.order_by(
            "sort_order", "code"
        ).values_list("pk", "code", "name", "parent_id")
    }
    lead_rows = list(
        duties_valid_on(on)
        .filter(role=Duty.Role.LEAD)
        .select_related("department_kind", "industry")
        .order_by("position", "pk")
    )
    leads = _leads_by_industry(industries, lead_rows)
    blind_spots = [
        *_industries_without_lead(industries, leads, on=on),
        *_enterprise_blind_spots(industries, leads),
        *_departments_without_staff(),
    ]
    order = list(BLIND_SPOT_TYPES)
    blind_spots.sort(key=lambda spot: order.index(spot["type"]))  # stable: keeps order in a type
    return {
        "on": on.isoformat(),
        "blind_spots": blind_spots,
        "overlaps": _overlaps(industries, lead_rows),
    }


def _ancestors(industries: dict[int, _IndustryNode], pk: int) -> list[_IndustryNode]:
    """The industry and those above it, nearest first (cycle-safe, like ``Industry.ancestors``)."""
    chain: list[_IndustryNode] = []
    seen: set[int] = set()
    node = industries.get(pk)
    while node is not None and node.id not in seen:
        seen.add(node.id)
        chain.append(node)
        node = industries.get(node.parent_id) if node.parent_id is not None else None
    return chain


def _leads_by_industry(
    industries: dict[int, _IndustryNode], lead_rows: Iterable[Duty]
) -> dict[int, list[Duty]]:
    """Every industry's applicable lead rows: its own or its nearest ancestor's (empty: none)."""
    own: dict[int, list[Duty]] = {}
    for duty in lead_rows:
        own.setdefault(duty.industry_id, []).append(duty)
    return {
        pk: next((own[a.id] for a in _ancestors(industries, pk) if a.id in own), [])
        for pk in industries
    }


def _industries_without_lead(
    industries: dict[int, _IndustryNode], leads: dict[int, list[Duty]], *, on: date
) -> list[dict[str, Any]]:
    spots = []
    for node in industries.values():
        if leads[node.id]:
            continue
        # A lead row always sets a level for both grades, so a missing lead misses both.
        for grade in GRADES:
            detail = _(
                "On %(on)s %(industry)s has no lead department for %(grade)s; "
                "the committee office acts as lead."
            ) % {"on": on.isoformat(), "industry": node.name, "grade": GRADE_LABELS[grade]}
            spots.append(
                {
                    "type": INDUSTRY_WITHOUT_LEAD,
                    "industry": node.code,
                    "grade": grade,
                    "detail": detail,
                }
            )
    return spots


def _enterprise_blind_spots(
    industries: dict[int, _IndustryNode], leads: dict[int, list[Duty]]
) -> list[dict[str, Any]]:
    regions = {
        pk: _RegionNode(name, level, parent_id)
        for pk, name, level, parent_id in Region.objects.values_list(
            "pk", "name", "level", "parent_id"
        )
    }
    departments = set(Department.objects.values_list("kind_id", "region_id"))
    links: dict[int, list[int]] = {}
    for enterprise_id, industry_id in (
        EnterpriseIndustry.objects.exclude(enterprise__status=Enterprise.Status.CLOSED)
        .order_by("enterprise_id", "position")
        .values_list("enterprise_id", "industry_id")
    ):
        links.setdefault(enterprise_id, []).append(industry_id)
    enterprises = (
        Enterprise.objects.exclude(status=Enterprise.Status.CLOSED)
        .order_by("uscc")
        .values_list(
            "pk", "uscc", "name", "region_id", "principal__username", "principal__is_active"
        )
    )
    spots = []
    for pk, uscc, name, region_id, principal, principal_active in enterprises.iterator(
        chunk_size=5000
    ):
        if principal is None or not principal_active:
            spots.append(_principal_spot(uscc, name, principal))
        if not links.get(pk):
            spots.append(
                {
                    "type": ENTERPRISE_WITHOUT_INDUSTRY,
                    "enterprise": uscc,
                    "detail": _(
                        "%(enterprise)s has no industry, so no lead department can be found."
                    )
                    % {"enterprise": name},
                }
            )
        county = _region_at(regions, region_id, Region.Level.COUNTY)
        city = _region_at(regions, region_id, Region.Level.CITY)
        for industry_id in links.get(pk, []):
            for grade in GRADES:
                missing = [
                    duty
                    for duty in leads[industry_id]
                    if not _department_exists(departments, duty, grade, county, city)
                ]
                if missing:
                    spots.append(
                        _missing_department_spot(
                            uscc=uscc,
                            name=name,
                            industry=industries[industry_id],
                            grade=grade,
                            duties=missing,
                            county=regions[county].name if county else None,
                            city=regions[city].name if city else None,
                        )
                    )
    return spots


def _region_at(regions: dict[int, _RegionNode], pk: int | None, level: str) -> int | None:
    """The id of the region at ``level`` on the way up from ``pk`` (itself included), or None."""
    seen: set[int] = set()
    while pk is not None and pk not in seen:
        seen.add(pk)
        node = regions[pk]
        if node.level == level:
            return pk
        pk = node.parent_id
    return None


def _department_exists(
    departments: set[tuple[int, int]], duty: Duty, grade: str, county: int | None, city: int | None
) -> bool:
    """As resolution does: a county-level duty falls back to the city's department."""
    kind = duty.department_kind_id
    if level_for(duty, grade) == Level.COUNTY and (kind, county) in departments:
        return True
    return (kind, city) in departments


def _principal_spot(uscc: str, name: str, principal: str | None) -> dict[str, Any]:
    if principal is None:
        detail = _("%(enterprise)s has no principal.") % {"enterprise": name}
    else:
        detail = _("The principal of %(enterprise)s (%(user)s) is inactive.") % {
            "enterprise": name,
            "user": principal,
        }
    return {"type": ENTERPRISE_WITHOUT_PRINCIPAL, "enterprise": uscc, "detail": detail}


def _missing_department_spot(
    *,
    uscc: str,
    name: str,
    industry: _IndustryNode,
    grade: str,
    duties: list[Duty],
    county: str | None,
    city: str | None,
) -> dict[str, Any]:
    values = {
        "enterprise": name,
        "industry": industry.name,
        "grade": GRADE_LABELS[grade],
        "kind": "、".join(dict.fromkeys(d.department_kind.name for d in duties)),
        "county": county or "—",
        "city": city or "—",
    }
    if any(level_for(d, grade) == Level.COUNTY for d in duties):
        detail = _(
            "%(enterprise)s (%(industry)s, %(grade)s): there is no %(kind)s department "
            "in %(county)s nor in %(city)s."
        )
    else:
        detail = _(
            "%(enterprise)s (%(industry)s, %(grade)s): there is no %(kind)s department in %(city)s."
        )
    return {
        "type": ENTERPRISE_LEAD_DEPARTMENT_MISSING,
        "industry": industry.code,
        "enterprise": uscc,
        "grade": grade,
        "detail": detail % values,
    }


def _departments_without_staff() -> list[dict[str, Any]]:
    staffed = Membership.objects.filter(department=OuterRef("pk"), user__is_active=True)
    rows = (
        Department.objects.annotate(staffed=Exists(staffed))
        .filter(staffed=False)
        .order_by("region__code", "kind__sort_order", "code")
        .values_list("code", "name")
    )
    return [
        {
            "type": DEPARTMENT_WITHOUT_STAFF,
            "department": code,
            "detail": _("%(department)s has no active staff.") % {"department": name},
        }
        for code, name in rows
    ]


def _overlaps(industries: dict[int, _IndustryNode], lead_rows: list[Duty]) -> list[dict[str, Any]]:
    order = {pk: i for i, pk in enumerate(industries)}
    overlaps = sorted(
        lead_overlaps(lead_rows),
        key=lambda o: (order.get(o.industry.pk, len(order)), o.level != Level.COUNTY),
    )
    found = []
    for overlap in overlaps:
        duties = sorted(overlap.duties, key=lambda d: d.pk)
        found.append(
            {
                "industry": overlap.industry.code,
                "level": overlap.level,
                "kinds": list(dict.fromkeys(d.department_kind.code for d in duties)),
                "duty_ids": [d.pk for d in duties],
            }
        )
    return found


def coverage_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """The report as flat rows (the CSV's columns): blind spots, then overlaps of type "overlap".

    Overlap rows say the level, kinds and duty ids in their detail sentence; names are looked up in
    two small queries only when there are overlaps.
    """
    rows = [
        {column: str(spot.get(column) or "") for column in COLUMNS}
        for spot in report["blind_spots"]
    ]
    if not report["overlaps"]:
        return rows
    industry_names = dict(Industry.objects.values_list("code", "name"))
    kind_names = dict(DepartmentKind.objects.values_list("code", "name"))
    for overlap in report["overlaps"]:
        detail = _(
            "Lead duties %(duty_ids)s of %(industry)s (%(kinds)s) are valid on the same day "
            "at %(level)s level."
        ) % {
            "duty_ids": ", ".join(str(pk) for pk in overlap["duty_ids"]),
            "industry": industry_names.get(overlap["industry"], overlap["industry"]),
            "kinds": "、".join(kind_names.get(k, k) for k in overlap["kinds"]),
            "level": Level(overlap["level"]).label,
        }
        rows.append(
            {
                "type": OVERLAP,
                "industry": overlap["industry"],
                "enterprise": "",
                "department": "",
                "grade": "",
                "detail": detail,
            }
        )
    return rows


def coverage_csv(report: dict[str, Any]) -> str:
    """The report as CSV text with a UTF-8 BOM, so that Excel opens the Chinese correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([str(label) for label in COLUMNS.values()])
    for row in coverage_rows(report):
        writer.writerow([row[column] for column in COLUMNS])
    return out.getvalue()
