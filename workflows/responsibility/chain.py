"""Resolution of the responsibility chain (三管三必须): who answers for a hazard, in what order, and why.

The rule (issue 3 §2), in chain order:

1. enterprise: the holder of the responsible post (if one is given), then the principal;
2. lead: the lead duty rows of the industry — or of its nearest ancestor with lead rows — valid on
   the day; the grade picks the level; the department of the duty's kind in the enterprise's county
   (level county) or city (level city). A county-level duty whose kind has no county department falls
   back to the city's department (``rule.fallback``). Several lead rows (an overlap) are all listed;
3. cooperating: the same rule for cooperating rows, in duty-row order (position, id);
4. territorial: the township government of the enterprise's township, when there is one;
5. committee: the county committee office, then the city's.

When no lead department results — no lead row valid on the day, an enterprise without an industry,
or lead rows whose kind has no department in the county or the city — the chain is a **blind spot**:
the committee office acts as lead (the county's for general hazards, the city's for major ones; the
other level stands in if that office is missing), as a ``lead`` link without a rule whose basis says
why.

Decisions where the issue is silent (documented here because consumers rely on them):

- Every link names a real organisation: ``org_code`` is a department code or the enterprise's USCC,
  never empty. A cooperating duty whose kind has no department in the county or the city is left out
  of the chain (the coverage report lists it); a lead duty in that situation makes a blind spot.
- A department appears at most once: the committee section lists the county then the city office,
  skipping an office that already appears (as the acting lead of a blind spot or as a lead kind).
- Department links carry no person (``None``): who inside a department acts is decided by its
  queue; enterprise links carry the post holder's / principal's username, or ``None`` when vacant.
- ``basis`` is rendered in the active language when the chain is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Department, DepartmentKind, Enterprise, Region

from .models import Duty, EnterpriseIndustry, Industry, Level, Post
from .selectors import GRADES, duties_for_industry, level_for

ROLES = ("post", "principal", "lead", "cooperating", "territorial", "committee")

ROLE_LABELS: dict[str, Promise] = {
    "post": gettext_lazy("responsible post"),
    "principal": gettext_lazy("principal"),
    "lead": gettext_lazy("lead department"),
    "cooperating": gettext_lazy("cooperating department"),
    "territorial": gettext_lazy("territorial government"),
    "committee": gettext_lazy("committee office"),
}
GRADE_LABELS: dict[str, Promise] = {
    "general": gettext_lazy("general hazard"),
    "major": gettext_lazy("major hazard"),
}
LEVEL_LABELS: dict[str, Promise] = {
    Level.COUNTY: gettext_lazy("county level"),
    Level.CITY: gettext_lazy("city level"),
}


class ChainError(ValueError):
    """Bad input to ``resolve_chain``; the message is a translated sentence for the user."""


@dataclass(frozen=True)
class Rule:
    """The duty row a link came from, with its validity and whether the city stood in."""

    duty_id: int | None
    decision: str
    valid_from: date | None
    valid_to: date | None
    fallback: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "duty_id": self.duty_id,
            "decision": self.decision,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "fallback": self.fallback,
        }


@dataclass(frozen=True)
class Link:
    """One responsible party: its role, organisation, person (username) and why it is there."""

    role: str
    org_code: str
    org_name: str
    person: str | None
    basis: str
    rule: Rule | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "org_code": self.org_code,
            "org_name": self.org_name,
            "person": self.person,
            "basis": self.basis,
            "rule": self.rule.as_dict() if self.rule else None,
        }


@dataclass(frozen=True)
class Chain:
    """The resolved chain for one enterprise, industry, grade and day."""

    enterprise: Enterprise
    industry: Industry | None
    grade: str
    on: date
    blind_spot: bool
    links: tuple[Link, ...]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of issue 3 §2 (dates as ISO strings, ``valid_to`` None when open)."""
        return {
            "enterprise": {"uscc": self.enterprise.uscc, "name": self.enterprise.name},
            "industry": self.industry.code if self.industry else None,
            "grade": self.grade,
            "on": self.on.isoformat(),
            "blind_spot": self.blind_spot,
            "links": [link.as_dict() for link in self.links],
        }

    def as_text(self) -> str:
        """A header line, then one line per link: number, role, organisation, person, basis."""
        header = _(
            "Responsibility chain of %(enterprise)s (%(uscc)s), industry %(industry)s, "
            "%(grade)s, on %(on)s."
        ) % {
            "enterprise": self.enterprise.name,
            "uscc": self.enterprise.uscc,
            "industry": self.industry.name if self.industry else _("none"),
            "grade": GRADE_LABELS[self.grade],
            "on": self.on.isoformat(),
        }
        if self.blind_spot:
            header = _join([header, _("Blind spot: no lead department is responsible.")])
        lines = [header]
        for number, link in enumerate(self.links, start=1):
            lines.append(
                f"{number}. [{ROLE_LABELS[link.role]}] {link.org_name} ({link.org_code})"
                f" · {link.person or '—'} · {link.basis}"
            )
        return "\n".join(lines)


def _join(sentences: list[str]) -> str:
    """Sentences joined as the language writes them: a space after Latin text, none after 。"""
    text = ""
    for sentence in sentences:
        if text and text[-1].isascii():
            text += " "
        text += sentence
    return text


@dataclass(frozen=True)
class _Places:
    township: Region | None
    county: Region
    city: Region


def _places(enterprise: Enterprise) -> _Places:
    # One query for the enterprise's region and everything above it.
    region = Region.objects.select_related("parent__parent").get(pk=enterprise.region_id)
    county = region.at_level(Region.Level.COUNTY)
    city = region.at_level(Region.Level.CITY)
    if county is None or city is None:
        raise ChainError(
            _("%(enterprise)s is not located in a county of a city.")
            % {"enterprise": enterprise.name}
        )
    return _Places(township=region.at_level(Region.Level.TOWNSHIP), county=county, city=city)


def _departments(places: _Places) -> dict[tuple[str, int], Department]:
    """Every department of the township, county and city by (kind code, region id): one query."""
    regions = [r.pk for r in (places.township, places.county, places.city) if r is not None]
    rows = Department.objects.filter(region_id__in=regions).select_related("kind")
    return {(d.kind.code, d.region_id): d for d in rows}


def _primary_industry(enterprise: Enterprise) -> Industry | None:
    link = (
        EnterpriseIndustry.objects.filter(enterprise=enterprise)
        .select_related("industry__parent__parent")
        .order_by("position")
        .first()
    )
    return link.industry if link else None


def _validity(duty: Duty) -> str:
    if duty.valid_to is None:
        return _("valid from %(from)s, open-ended") % {"from": duty.valid_from.isoformat()}
    return _("valid %(from)s to %(to)s") % {
        "from": duty.valid_from.isoformat(),
        "to": duty.valid_to.isoformat(),
    }


def _decision(duty: Duty) -> str:
    return duty.decision or _("duty row %(id)d (no decision reference)") % {"id": duty.pk}


def _enterprise_links(enterprise: Enterprise, post: Post | None) -> list[Link]:
    links: list[Link] = []
    if post is not None:
        holder = post.holder
        template = (
            _(
                "Holder of post %(post)s (%(code)s) of %(enterprise)s: answers for the hazard "
                "under the post's written safety duties."
            )
            if holder is not None
            else _(
                "Post %(post)s (%(code)s) of %(enterprise)s has no holder; its written safety "
                "duties still apply."
            )
        )
        links.append(
            Link(
                role="post",
                org_code=enterprise.uscc,
                org_name=f"{enterprise.name} · {post.title}",
                person=holder.username if holder else None,
                basis=template
                % {"post": post.title, "code": post.code, "enterprise": enterprise.name},
                rule=None,
            )
        )
    principal = enterprise.principal
    template = (
        _(
            "Principal of %(enterprise)s: carries the enterprise's primary responsibility for "
            "work safety."
        )
        if principal is not None
        else _(
            "%(enterprise)s has no principal on record; the enterprise still carries primary "
            "responsibility for work safety."
        )
    )
    links.append(
        Link(
            role="principal",
            org_code=enterprise.uscc,
            org_name=enterprise.name,
            person=principal.username if principal else None,
            basis=template % {"enterprise": enterprise.name},
            rule=None,
        )
    )
    return links


def _department_for(
    kind_code: str, level: str, places: _Places, departments: dict[tuple[str, int], Department]
) -> tuple[Department | None, bool]:
    """The department of ``kind_code`` at ``level``; a missing county department falls back to the
    city's (second value True)."""
    if level == Level.COUNTY:
        found = departments.get((kind_code, places.county.pk))
        if found is not None:
            return found, False
        found = departments.get((kind_code, places.city.pk))
        return found, found is not None
    return departments.get((kind_code, places.city.pk)), False


def _duty_links(
    *,
    role: str,
    industry: Industry,
    found_on: Industry | None,
    rows: list[Duty],
    grade: str,
    places: _Places,
    departments: dict[tuple[str, int], Department],
) -> tuple[list[Link], list[Duty]]:
    """Links for the duty rows of one role, and the rows that found no department."""
    links: list[Link] = []
    unfilled: list[Duty] = []
    main = (
        _(
            "Lead department for %(industry)s under decision %(decision)s (%(validity)s); "
            "a %(grade)s is handled at %(level)s."
        )
        if role == Duty.Role.LEAD
        else _(
            "Cooperating department for %(industry)s under decision %(decision)s "
            "(%(validity)s); a %(grade)s is handled at %(level)s."
        )
    )
    for duty in rows:
        level = level_for(duty, grade)
        department, fallback = _department_for(
            duty.department_kind.code, level, places, departments
        )
        if department is None:
            unfilled.append(duty)
            continue
        sentences = [
            main
            % {
                "industry": industry.name,
                "decision": _decision(duty),
                "validity": _validity(duty),
                "grade": GRADE_LABELS[grade],
                "level": LEVEL_LABELS[level],
            }
        ]
        if found_on is not None and found_on.pk != industry.pk:
            sentences.append(
                _("%(industry)s has no such duty of its own; it is inherited from %(ancestor)s.")
                % {"industry": industry.name, "ancestor": found_on.name}
            )
        if fallback:
            sentences.append(_fallback_sentence(places, duty.department_kind))
        if role == Duty.Role.LEAD and len(rows) > 1:
            sentences.append(
                _("%(n)d lead duties apply on this day (an overlap); each is listed.")
                % {"n": len(rows)}
            )
        links.append(
            Link(
                role=role,
                org_code=department.code,
                org_name=department.name,
                person=None,
                basis=_join(sentences),
                rule=Rule(
                    duty_id=duty.pk,
                    decision=duty.decision,
                    valid_from=duty.valid_from,
                    valid_to=duty.valid_to,
                    fallback=fallback,
                ),
            )
        )
    return links, unfilled


def _fallback_sentence(places: _Places, kind: DepartmentKind) -> str:
    return _("%(county)s has no %(kind)s department, so the department of %(city)s stands in.") % {
        "county": places.county.name,
        "kind": kind.name,
        "city": places.city.name,
    }


def _acting_lead(
    *,
    enterprise: Enterprise,
    industry: Industry | None,
    unfilled: list[Duty],
    grade: str,
    on: date,
    places: _Places,
    departments: dict[tuple[str, int], Department],
) -> Link | None:
    """The committee office acting as lead of a blind spot: the county's for general hazards (the
    city's if the county has none), the city's for major ones (the county's if the city has none)."""
    office_kind = DepartmentKind.COMMITTEE_OFFICE
    county_office = departments.get((office_kind, places.county.pk))
    city_office = departments.get((office_kind, places.city.pk))
    preferred, other = (
        (county_office, city_office) if grade == "general" else (city_office, county_office)
    )
    office = preferred or other
    if office is None:
        return None
    params = {
        "industry": industry.name if industry else "",
        "enterprise": enterprise.name,
        "on": on.isoformat(),
        "grade": GRADE_LABELS[grade],
        "region": places.county.name if office is county_office else places.city.name,
    }
    if industry is None:
        reason = _(
            "%(enterprise)s has no industry on record: blind spot; the committee office of "
            "%(region)s acts as lead for this %(grade)s."
        )
    elif unfilled:
        params["kind"] = "、".join(d.department_kind.name for d in unfilled)
        params["decision"] = "、".join(_decision(d) for d in unfilled)
        params["county"] = places.county.name
        params["city"] = places.city.name
        reason = _(
            "The lead duty for %(industry)s (decision %(decision)s) names %(kind)s, but no such "
            "department exists in %(county)s or %(city)s: blind spot; the committee office of "
            "%(region)s acts as lead for this %(grade)s."
        )
    else:
        reason = _(
            "No lead duty for %(industry)s is valid on %(on)s: blind spot; the committee office "
            "of %(region)s acts as lead for this %(grade)s."
        )
    sentences = [reason % params]
    if preferred is None:
        missing, present = (
            (places.county, places.city) if grade == "general" else (places.city, places.county)
        )
        sentences.append(
            _("%(missing)s has no committee office, so the office of %(present)s acts.")
            % {"missing": missing.name, "present": present.name}
        )
    return Link(
        role="lead",
        org_code=office.code,
        org_name=office.name,
        person=None,
        basis=_join(sentences),
        rule=None,
    )


def _territorial_links(
    enterprise: Enterprise, places: _Places, departments: dict[tuple[str, int], Department]
) -> list[Link]:
    if places.township is None:
        return []
    government = departments.get((DepartmentKind.TOWNSHIP_GOV, places.township.pk))
    if government is None:
        return []
    return [
        Link(
            role="territorial",
            org_code=government.code,
            org_name=government.name,
            person=None,
            basis=_("Territorial responsibility: %(enterprise)s is located in %(township)s.")
            % {"enterprise": enterprise.name, "township": places.township.name},
            rule=None,
        )
    ]


def _committee_links(
    places: _Places, departments: dict[tuple[str, int], Department], listed: set[str]
) -> list[Link]:
    links: list[Link] = []
    for region in (places.county, places.city):
        office = departments.get((DepartmentKind.COMMITTEE_OFFICE, region.pk))
        if office is None or office.code in listed:
            continue
        links.append(
            Link(
                role="committee",
                org_code=office.code,
                org_name=office.name,
                person=None,
                basis=_(
                    "Work-safety committee office of %(region)s: coordinates the departments and "
                    "escalates."
                )
                % {"region": region.name},
                rule=None,
            )
        )
    return links


def resolve_chain(
    *,
    enterprise: Enterprise,
    industry: Industry | None = None,
    grade: str = "general",
    post: Post | None = None,
    on: date | None = None,
) -> Chain:
    """Resolve who answers for a hazard of ``grade`` in ``enterprise`` (industry: the primary one by
    default) on the day ``on`` (default: today in Asia/Shanghai), in chain order, each with its basis.

    Only duty rows valid on ``on`` count (``valid_to`` is the last valid day), so a past day explains
    the chain as it was then. Raises ``ChainError`` for an unknown grade or a post of another
    enterprise. Runs a small, fixed number of queries (one per industry ancestor tried per role).
    """
    if grade not in GRADES:
        raise ChainError(
            _("Unknown hazard grade %(grade)s: use general or major.") % {"grade": grade}
        )
    if post is not None and post.enterprise_id != enterprise.pk:
        raise ChainError(
            _("Post %(code)s does not belong to %(enterprise)s.")
            % {"code": post.code, "enterprise": enterprise.name}
        )
    on = on or timezone.localdate()
    if industry is None:
        industry = _primary_industry(enterprise)
    places = _places(enterprise)
    departments = _departments(places)

    links = _enterprise_links(enterprise, post)
    lead_links: list[Link] = []
    unfilled: list[Duty] = []
    cooperating_links: list[Link] = []
    if industry is not None:
        found_on, rows = duties_for_industry(industry, on=on, role=Duty.Role.LEAD)
        lead_links, unfilled = _duty_links(
            role=Duty.Role.LEAD,
            industry=industry,
            found_on=found_on,
            rows=rows,
            grade=grade,
            places=places,
            departments=departments,
        )
        found_on, rows = duties_for_industry(industry, on=on, role=Duty.Role.COOPERATING)
        cooperating_links, _skipped = _duty_links(
            role=Duty.Role.COOPERATING,
            industry=industry,
            found_on=found_on,
            rows=rows,
            grade=grade,
            places=places,
            departments=departments,
        )
    blind_spot = not lead_links
    if blind_spot:
        acting = _acting_lead(
            enterprise=enterprise,
            industry=industry,
            unfilled=unfilled,
            grade=grade,
            on=on,
            places=places,
            departments=departments,
        )
        lead_links = [acting] if acting else []
    links += lead_links + cooperating_links
    links += _territorial_links(enterprise, places, departments)
    links += _committee_links(places, departments, {link.org_code for link in links})
    return Chain(
        enterprise=enterprise,
        industry=industry,
        grade=grade,
        on=on,
        blind_spot=blind_spot,
        links=tuple(links),
    )
