"""Forms of the hazard pages (ledger filters, the report form, the small action forms).

They parse and validate what a person typed; the services decide and write. Every choice list is
limited to what the user may pick, so a forged id fails validation instead of reaching a service.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Enterprise, Region
from accounts.selectors import department_ids_of, memberships_of, regions_below
from accounts.uscc import normalize_uscc
from workflows.responsibility.models import Industry, Post

from .forms import MultipleFileField, MultipleFileInput
from .models import CriteriaClause, Grade, Hazard, LocalGrade, Source, Stage
from .permissions import committee_regions_of
from .selectors import overdue_q

# Sources an inspector, department or committee office may pick; self-check is the enterprise's.
INSPECTION_SOURCES = [
    (value, label) for value, label in Source.choices if value != Source.SELF_CHECK
]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def reportable_enterprises(*, user: Any) -> QuerySet[Enterprise]:
    """Enterprises ``user`` may report a hazard for.

    Enterprise members report for their own enterprises; department staff, heads and committee
    offices for every enterprise located in (or below) the regions of their departments.
    """
    if not user.is_authenticated or not user.is_active:
        return Enterprise.objects.none()
    if user.is_superuser:
        return Enterprise.objects.all()
    rows = memberships_of(user)
    own = {m.enterprise_id for m in rows if m.enterprise_id}
    regions = regions_below({m.department_region_id for m in rows if m.department_region_id})
    return Enterprise.objects.filter(Q(pk__in=own) | Q(region_id__in=regions)).distinct()


def is_inspector(user: Any) -> bool:
    """Department members (and superusers) report from inspections; others only self-check."""
    return bool(user.is_superuser) or bool(department_ids_of(user))


DEPARTMENT_ORDER = ("region__code", "kind__sort_order", "code")


class FastSelect(forms.Select):
    """A ``<select>`` whose options are written in Python. Django renders every ``<option>``
    through a template (≈ 0.15 ms each): a ledger filter of 400 departments cost 60 ms a page."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], flatatt(option["attrs"]), option["label"])
                for _group, choices, _index in widget["optgroups"]
                for option in choices
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), options
        )


class HazardFilterForm(forms.Form):
    """The ledger filters (GET). Invalid values are reported and ignored, never a server error.

    Given a ``user``, the department filter offers the departments of the user's scope (their
    own, and those of the regions their committee office covers; all for a superuser)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("Code, enterprise or title")}),
    )
    stage = forms.ChoiceField(
        label=_("Stage"),
        required=False,
        choices=[("", _("Any stage")), *Stage.choices],
        widget=FastSelect,
    )
    grade = forms.ChoiceField(
        label=_("Grade"),
        required=False,
        choices=[("", _("Any grade")), *Grade.choices],
        widget=FastSelect,
    )
    source = forms.ChoiceField(
        label=_("Source"),
        required=False,
        choices=[("", _("Any source")), *Source.choices],
        widget=FastSelect,
    )
    industry = forms.ModelChoiceField(
        label=_("Industry"),
        required=False,
        queryset=Industry.objects.order_by("sort_order", "code"),
        empty_label=_("Any industry"),
        widget=FastSelect,
    )
    county = forms.ModelChoiceField(
        label=_("County / district"),
        required=False,
        queryset=Region.objects.filter(level=Region.Level.COUNTY).order_by("code"),
        empty_label=_("Any county"),
        widget=FastSelect,
    )
    department = forms.ModelChoiceField(
        label=_("Supervising department"),
        required=False,
        queryset=Department.objects.order_by(*DEPARTMENT_ORDER),
        empty_label=_("Any department"),
        widget=FastSelect,
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    found_from = forms.DateField(label=_("Found from"), required=False, widget=DATE_INPUT)
    found_to = forms.DateField(label=_("Found until"), required=False, widget=DATE_INPUT)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user is not None and not user.is_superuser:
            field = self.fields["department"]
            assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
            field.queryset = Department.objects.order_by(*DEPARTMENT_ORDER).filter(
                Q(pk__in=department_ids_of(user)) | Q(region_id__in=committee_regions_of(user))
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("found_from"), data.get("found_to")
        if start and end and start > end:
            self.add_error("found_to", _("The end of the date range is before its start."))
        return data

    def apply(self, hazards: QuerySet[Hazard]) -> QuerySet[Hazard]:
        """``hazards`` narrowed by every filter that validated (the others are ignored)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        for name in ("stage", "grade", "source", "county", "department"):
            if data.get(name):
                hazards = hazards.filter(**{name: data[name]})
        if data.get("industry"):
            # An industry covers its sub-industries (工贸 includes 冶金, 有色 …).
            chosen = data["industry"]
            hazards = hazards.filter(
                Q(industry=chosen) | Q(industry__parent=chosen) | Q(industry__parent__parent=chosen)
            )
        if data.get("overdue"):
            # Any open stage clock past its due moment (not only the rectification deadline).
            hazards = hazards.filter(overdue_q())
        if data.get("found_from"):
            hazards = hazards.filter(found_at__gte=_start_of(data["found_from"]))
        if data.get("found_to"):
            hazards = hazards.filter(found_at__lt=_start_of(data["found_to"] + timedelta(days=1)))
        term = (data.get("q") or "").strip()
        if term:
            hazards = hazards.filter(
                Q(code__istartswith=term)
                | Q(title__icontains=term)
                | Q(enterprise__name__icontains=term)
                | Q(enterprise__uscc=normalize_uscc(term))
            )
        return hazards


def _start_of(day: Any) -> datetime:
    """Midnight of ``day`` in the site's time zone (Asia/Shanghai), as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


class EnterpriseChoiceForm(forms.Form):
    """Step one of reporting for someone who may report for several enterprises (GET)."""

    q = forms.CharField(
        label=_("Unified social credit code or name"), required=False, max_length=100
    )

    def __init__(self, *args: Any, enterprises: QuerySet[Enterprise], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enterprises = enterprises

    def matches(self, limit: int = 20) -> list[Enterprise]:
        """Enterprises in reach whose USCC is the term or whose name contains it."""
        if not self.is_valid():
            return []
        term = (self.cleaned_data.get("q") or "").strip()
        if not term:
            return []
        found = self.enterprises.filter(Q(uscc=normalize_uscc(term)) | Q(name__icontains=term))
        return list(found.select_related("region").order_by("name")[:limit])


class HazardReportForm(forms.Form):
    """登记: the hazard as the finder saw it. Enterprises report as self-check and propose a grade.

    Photos come first: on a phone the finder takes them standing in front of the hazard.
    """

    field_order = (
        "enterprise",
        "source",
        "before_photos",
        "title",
        "description",
        "location",
        "found_at",
        "grade",
        "local_grade",
        "clause",
        "industry",
        "post",
        "latitude",
        "longitude",
    )

    enterprise = forms.ModelChoiceField(
        label=_("Enterprise"), queryset=Enterprise.objects.none(), widget=forms.HiddenInput
    )
    source = forms.ChoiceField(label=_("Source"), choices=INSPECTION_SOURCES)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}))
    location = forms.CharField(label=_("Location"), max_length=300)
    latitude = forms.DecimalField(
        label=_("Latitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
    )
    longitude = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
    )
    found_at = forms.DateTimeField(
        label=_("Found at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    industry = forms.ModelChoiceField(
        label=_("Industry"),
        required=False,
        queryset=Industry.objects.order_by("sort_order", "code"),
        empty_label=_("The enterprise's primary industry"),
    )
    grade = forms.ChoiceField(
        label=_("Grade"), choices=Grade.choices, initial=Grade.GENERAL, widget=forms.RadioSelect
    )
    local_grade = forms.ModelChoiceField(
        label=_("Local grade"), required=False, queryset=LocalGrade.objects.all()
    )
    clause = forms.ModelChoiceField(
        label=_("Criteria clause"),
        required=False,
        queryset=CriteriaClause.objects.all(),
        help_text=_("For a major hazard: the clause of the major-hazard criteria it breaches."),
    )
    post = forms.ModelChoiceField(
        label=_("Responsible post"), required=False, queryset=Post.objects.none()
    )
    before_photos = MultipleFileField(
        label=_("Photos of the hazard"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
        help_text=_("Take or choose one or more photos (JPEG, PNG or WebP, at most 10 MB each)."),
    )

    def __init__(
        self,
        *args: Any,
        enterprises: QuerySet[Enterprise],
        enterprise: Enterprise,
        inspector: bool,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("enterprise", enterprise.pk)
        kwargs["initial"].setdefault(
            "found_at", timezone.localtime().replace(second=0, microsecond=0)
        )
        super().__init__(*args, **kwargs)
        self.inspector = inspector
        self.fields["enterprise"].queryset = enterprises  # type: ignore[attr-defined]
        self.fields["post"].queryset = Post.objects.filter(  # type: ignore[attr-defined]
            enterprise=enterprise
        ).order_by("code")
        if not inspector:
            del self.fields["source"]
            self.fields["grade"].label = _("Proposed grade")
            self.fields["grade"].help_text = _("The supervising department confirms the grade.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            self.add_error("longitude", _("Give both latitude and longitude, or neither."))
        if data.get("clause") is not None and data.get("grade") != Grade.MAJOR:
            self.add_error("clause", _("Only a major hazard cites a criteria clause."))
        post, enterprise = data.get("post"), data.get("enterprise")
        if post is not None and enterprise is not None and post.enterprise_id != enterprise.pk:
            self.add_error("post", _("The post belongs to another enterprise."))
        return data

    @property
    def source_value(self) -> str:
        return self.cleaned_data["source"] if self.inspector else Source.SELF_CHECK.value


class ExtensionRequestForm(forms.Form):
    requested_on = forms.DateField(label=_("New deadline requested"), widget=DATE_INPUT)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class ExtensionDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=_("Decision"),
        choices=(("1", _("Approve")), ("0", _("Reject"))),
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
    granted_on = forms.DateField(
        label=_("New deadline"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("Empty: the deadline requested."),
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("approve") is False and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Give the reason for the rejection."))
        return data


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the withdrawal"), widget=forms.Textarea(attrs={"rows": 3})
    )


class ListingForm(forms.Form):
    level = forms.ChoiceField(
        label=_("Listing level"),
        choices=(("county", _("county")), ("city", _("city"))),
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
