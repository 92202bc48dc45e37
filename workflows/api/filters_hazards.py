"""The ledger's filters and keyset pagination for the API — the web ledger's own code, fed from JSON-ish
query parameters.

The query parameters are parsed strictly (an unknown stage, a bad date or a forged cursor is a 400 with
the field's error, not silently ignored as on the web page); the filtering itself is
``forms_pages.HazardFilterForm.apply`` and the paging ``hazards.pagination.keyset_page``, so the API
and the web ledger cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from workflows.hazards.forms_pages import HazardFilterForm
from workflows.hazards.models import Grade, Hazard, Source, Stage
from workflows.hazards.pagination import (
    Cursor,
    InvalidCursor,
    KeysetPage,
    decode_cursor,
    keyset_page,
)

from .serializers_hazards import HazardFilterSerializer

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
CURSOR_PARAM = "cursor"


def form_errors(errors: ErrorDict) -> dict[str, list[str]]:
    """A Django form's errors as the API's ``{field: [messages]}`` (form-wide → non_field_errors)."""
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if name == "__all__" else name): [str(m) for m in msgs]
        for name, msgs in errors.items()
    }


@dataclass(frozen=True)
class LedgerQuery:
    """The parsed query of one ledger request: the bound web filter form, where to start, how many."""

    form: HazardFilterForm
    cursor: Cursor | None
    page_size: int

    def apply(self, hazards: QuerySet[Hazard]) -> QuerySet[Hazard]:
        return self.form.apply(hazards)


def ledger_query(params: Any) -> LedgerQuery:
    """Parse the ledger's query parameters or raise a DRF ``ValidationError`` with field errors.

    Codes become the ids the web form expects; the web form then checks what only it knows (a date
    range whose end is before its start). ``page_size`` above 100 is capped at 100.
    """
    # A plain dict, not the QueryDict: an empty value is then an error, as the schema says, instead
    # of being skipped the way DRF treats empty form fields.
    parsed = HazardFilterSerializer(data={key: params.get(key) for key in params})
    parsed.is_valid(raise_exception=True)
    data = parsed.validated_data
    form_data: dict[str, Any] = {}
    for name in ("q", "stage", "grade", "source"):
        if data.get(name):
            form_data[name] = data[name]
    for name in ("industry", "county", "department"):
        if data.get(name) is not None:
            form_data[name] = data[name].pk
    if data.get("overdue"):
        form_data["overdue"] = "on"
    for name in ("found_from", "found_to"):
        if data.get(name) is not None:
            form_data[name] = data[name].isoformat()
    form = HazardFilterForm(form_data)
    if not form.is_valid():
        raise serializers.ValidationError(form_errors(form.errors))
    cursor = None
    if data.get("cursor"):
        try:
            cursor = decode_cursor(data["cursor"])
        except InvalidCursor as exc:
            raise serializers.ValidationError(
                {CURSOR_PARAM: [_("This cursor is invalid; start again from the first page.")]}
            ) from exc
    page_size = min(data.get("page_size") or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    return LedgerQuery(form=form, cursor=cursor, page_size=page_size)


def hazard_page(hazards: QuerySet[Hazard], query: LedgerQuery) -> KeysetPage[Hazard]:
    """One page of the filtered ledger, newest first (one index range scan; no COUNT, no OFFSET)."""
    return keyset_page(query.apply(hazards), cursor=query.cursor, per_page=query.page_size)


def page_links(request: Any, page: KeysetPage[Any]) -> dict[str, str | None]:
    """Absolute ``next``/``previous`` URLs: the same query with the neighbour's cursor."""
    url = request.build_absolute_uri()
    return {
        "next": replace_query_param(url, CURSOR_PARAM, page.next_cursor)
        if page.next_cursor
        else None,
        "previous": replace_query_param(url, CURSOR_PARAM, page.previous_cursor)
        if page.previous_cursor
        else None,
    }


def first_page_url(request: Any) -> str:
    return str(remove_query_param(request.build_absolute_uri(), CURSOR_PARAM))


# The OpenAPI description of the query parameters (developer documentation, in English).
LEDGER_PARAMETERS = [
    OpenApiParameter(
        "q", OpenApiTypes.STR, description="Code prefix, title, enterprise name or USCC."
    ),
    OpenApiParameter("stage", OpenApiTypes.STR, enum=Stage.values),
    OpenApiParameter("grade", OpenApiTypes.STR, enum=Grade.values),
    OpenApiParameter("source", OpenApiTypes.STR, enum=Source.values),
    OpenApiParameter(
        "industry", OpenApiTypes.STR, description="Industry code (covers sub-industries)."
    ),
    OpenApiParameter(
        "county", OpenApiTypes.STR, description="Division code of the county or district."
    ),
    OpenApiParameter(
        "department", OpenApiTypes.STR, description="Code of the supervising department."
    ),
    OpenApiParameter(
        "overdue", OpenApiTypes.BOOL, description="Only open hazards past their deadline."
    ),
    OpenApiParameter("found_from", OpenApiTypes.DATE, description="Found on or after this day."),
    OpenApiParameter("found_to", OpenApiTypes.DATE, description="Found on or before this day."),
    OpenApiParameter(
        CURSOR_PARAM, OpenApiTypes.STR, description="Opaque cursor of a next/previous link."
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1},
        description=f"Rows per page: default {DEFAULT_PAGE_SIZE}; values above {MAX_PAGE_SIZE} are capped.",
    ),
]
