"""Reads of the duty map shared by chain resolution, the coverage report and the importer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import combinations

from django.db.models import Q, QuerySet

from .models import Duty, Industry

GRADES = ("general", "major")


def level_for(duty: Duty, grade: str) -> str:
    """The government level (county|city) at which ``duty`` applies to hazards of ``grade``."""
    return duty.major_level if grade == "major" else duty.general_level


def duties_valid_on(on: date) -> QuerySet[Duty]:
    """Duty rows whose validity includes the day ``on`` (valid_to is the last valid day)."""
    return Duty.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on), valid_from__lte=on)


def duties_for_industry(
    industry: Industry, *, on: date, role: str
) -> tuple[Industry | None, list[Duty]]:
    """Rows of ``role`` valid on ``on`` for the industry or, if it has none, its nearest ancestor.

    Returns the industry the rows were found on (None when no ancestor has any) and the rows in
    chain order (position, then id).
    """
    valid = duties_valid_on(on).filter(role=role).select_related("department_kind", "industry")
    for candidate in industry.ancestors():
        rows = list(valid.filter(industry=candidate).order_by("position", "pk"))
        if rows:
            return candidate, rows
    return None, []


def _intervals_overlap(a: Duty, b: Duty) -> bool:
    a_end = a.valid_to or date.max
    b_end = b.valid_to or date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


@dataclass(frozen=True)
class LeadOverlap:
    """Two or more lead rows of one industry valid on a common day at the same level."""

    industry: Industry
    level: str
    duties: tuple[Duty, ...]


def lead_overlaps(duties: Iterable[Duty]) -> list[LeadOverlap]:
    """Pairs of lead rows of the same industry whose validity intersects and that put the lead at
    the same level for some grade — the chain would have two leads there. Pure: works on unsaved
    rows too (the importer checks a workbook before writing anything)."""
    by_industry: dict[object, list[Duty]] = {}
    for duty in duties:
        if duty.role == Duty.Role.LEAD:
            by_industry.setdefault(duty.industry_id or duty.industry.code, []).append(duty)
    # Unsaved rows are unhashable: collect by object identity.
    found: dict[tuple[object, str], dict[int, Duty]] = {}
    for rows in by_industry.values():
        for a, b in combinations(rows, 2):
            if not _intervals_overlap(a, b):
                continue
            for grade in GRADES:
                level = level_for(a, grade)
                if level == level_for(b, grade):
                    group = found.setdefault((a.industry_id or a.industry.code, level), {})
                    group.update({id(a): a, id(b): b})
    return [
        LeadOverlap(
            industry=next(iter(rows.values())).industry,
            level=level,
            duties=tuple(sorted(rows.values(), key=lambda d: (d.valid_from, d.pk or 0))),
        )
        for (_key, level), rows in found.items()
    ]
