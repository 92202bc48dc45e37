"""The coverage report in the admin console: blind spots and overlaps for a day, with downloads.

Mounted by ``DutyAdmin.get_urls`` (names ``admin:responsibility_duty_coverage`` and
``admin:responsibility_duty_coverage_download``) behind ``admin_site.admin_view``, which already sends
anyone who is not active staff to the admin login. These views add their own rule on top.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import Department, DepartmentKind, Enterprise

from .coverage import (
    BLIND_SPOT_TYPES,
    GRADE_LABELS,
    OVERLAP_TITLE,
    coverage_csv,
    coverage_report,
)
from .models import Industry, Level
from .permissions import can_view_admin_reports

#: Rows shown per group on the page; the downloads always hold the whole report.
MAX_SHOWN = 200

FORMATS = {"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8"}


def can_view_coverage(user: Any) -> bool:
    """Who may read the coverage report: superusers, committee office staff, and any active staff user
    with a membership in a department — department staff may see the blind spots; reading changes
    nothing. The rule is ``permissions.can_view_admin_reports``, shared with the other admin
    reports (it includes everyone ``can_change_duty_map`` lets change the duty map)."""
    return can_view_admin_reports(user)


def coverage_view(request: HttpRequest, *, admin_site: AdminSite) -> HttpResponse:
    """The report for ``?on=YYYY-MM-DD`` (default today) grouped by type, with counts and links.

    A bad date is reported as a message and today's report is shown instead.
    """
    _require_permission(request)
    on = _day_from(request)
    report = coverage_report(on=on)
    query = urlencode({"on": report["on"]})
    context = {
        **admin_site.each_context(request),
        "title": _("Coverage report"),
        "on": report["on"],
        "blind_spot_count": len(report["blind_spots"]),
        "groups": _groups(report["blind_spots"]),
        "overlaps_title": OVERLAP_TITLE,
        "overlaps": _overlap_rows(report["overlaps"]),
        "overlap_count": len(report["overlaps"]),
        "max_shown": MAX_SHOWN,
        "downloads": [
            (label, f"{url}?{query}")
            for fmt, label in (("json", _("Download JSON")), ("csv", _("Download CSV")))
            if (url := _reverse("admin:responsibility_duty_coverage_download", fmt=fmt))
        ],
        "duty_changelist_url": _reverse("admin:responsibility_duty_changelist"),
        "app_url": _reverse("admin:app_list", app_label="responsibility"),
    }
    return TemplateResponse(request, "admin/responsibility/coverage.html", context)


def coverage_download(request: HttpRequest, *, admin_site: AdminSite, fmt: str) -> HttpResponse:
    """The whole report as an attachment ``coverage-YYYY-MM-DD.json|csv`` (CSV with a UTF-8 BOM).

    A bad date sends the user back to the report page with a message instead of a file.
    """
    _require_permission(request)
    if fmt not in FORMATS:
        raise Http404(_("Unknown format."))
    raw = request.GET.get("on", "").strip()
    on = _parse_day(raw) if raw else timezone.localdate()
    if on is None:
        messages.error(request, _bad_date_message(raw))
        page = _reverse("admin:responsibility_duty_coverage") or _reverse("admin:index")
        return HttpResponseRedirect(page or "/")
    report = coverage_report(on=on)
    if fmt == "csv":
        content = coverage_csv(report)
    else:
        content = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    response = HttpResponse(content.encode("utf-8"), content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="coverage-{report["on"]}.{fmt}"'
    return response


def _require_permission(request: HttpRequest) -> None:
    if not can_view_coverage(request.user):
        raise PermissionDenied


def _day_from(request: HttpRequest) -> date:
    raw = request.GET.get("on", "").strip()
    if not raw:
        return timezone.localdate()
    on = _parse_day(raw)
    if on is None:
        messages.error(request, _bad_date_message(raw))
        return timezone.localdate()
    return on


def _parse_day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _bad_date_message(raw: str) -> str:
    return _("“%(value)s” is not a date; use YYYY-MM-DD. Showing today instead.") % {"value": raw}


def _reverse(name: str, **kwargs: Any) -> str | None:
    """The URL, or None when the page is not mounted (a model not registered in the admin)."""
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def _groups(spots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blind spots by type (every type, even empty ones), each with its count and its first rows
    decorated with names and admin links (a few lookups for the shown rows only)."""
    by_type: dict[str, list[dict[str, Any]]] = {t: [] for t in BLIND_SPOT_TYPES}
    for spot in spots:
        by_type.setdefault(spot["type"], []).append(spot)
    shown = [spot for rows in by_type.values() for spot in rows[:MAX_SHOWN]]
    links = _Links(shown)
    return [
        {
            "type": spot_type,
            "title": BLIND_SPOT_TYPES.get(spot_type, spot_type),
            "count": len(rows),
            "truncated": len(rows) > MAX_SHOWN,
            "rows": [
                {
                    "subjects": links.subjects(spot),
                    "grade": GRADE_LABELS.get(spot.get("grade", ""), ""),
                    "detail": spot["detail"],
                }
                for spot in rows[:MAX_SHOWN]
            ],
        }
        for spot_type, rows in by_type.items()
    ]


def _overlap_rows(overlaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    industries = {
        code: (pk, name) for pk, code, name in Industry.objects.values_list("pk", "code", "name")
    }
    kinds = dict(DepartmentKind.objects.values_list("code", "name"))
    rows = []
    for overlap in overlaps:
        pk, name = industries.get(overlap["industry"], (None, overlap["industry"]))
        rows.append(
            {
                "industry": {
                    "label": name,
                    "code": overlap["industry"],
                    "url": _change_url("responsibility", "industry", pk),
                },
                "level": Level(overlap["level"]).label,
                "kinds": "、".join(kinds.get(k, k) for k in overlap["kinds"]),
                "duties": [
                    {"label": f"#{duty_id}", "url": _change_url("responsibility", "duty", duty_id)}
                    for duty_id in overlap["duty_ids"]
                ],
            }
        )
    return rows


def _change_url(app_label: str, model_name: str, pk: int | None) -> str | None:
    if pk is None:
        return None
    try:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[pk])
    except NoReverseMatch:
        return None


class _Links:
    """Names and admin change links of the industries, enterprises and departments of some rows."""

    def __init__(self, spots: list[dict[str, Any]]) -> None:
        wanted = {
            key: {s[key] for s in spots if s.get(key)} for key in ("enterprise", "department")
        }
        self.industries = {
            code: (pk, name)
            for pk, code, name in Industry.objects.values_list("pk", "code", "name")
        }
        self.enterprises = {
            uscc: (pk, name)
            for pk, uscc, name in Enterprise.objects.filter(
                uscc__in=wanted["enterprise"]
            ).values_list("pk", "uscc", "name")
        }
        self.departments = {
            code: (pk, name)
            for pk, code, name in Department.objects.filter(
                code__in=wanted["department"]
            ).values_list("pk", "code", "name")
        }

    def subjects(self, spot: dict[str, Any]) -> list[dict[str, Any]]:
        subjects = []
        for key, table, app_label in (
            ("enterprise", self.enterprises, "accounts"),
            ("industry", self.industries, "responsibility"),
            ("department", self.departments, "accounts"),
        ):
            code = spot.get(key)
            if not code:
                continue
            pk, name = table.get(code, (None, code))
            subjects.append({"label": name, "code": code, "url": _change_url(app_label, key, pk)})
        return subjects
