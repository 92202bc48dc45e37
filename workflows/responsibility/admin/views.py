"""The duty map's own admin pages, mounted by ``DutyAdmin.get_urls``: explain a chain, the duty
history of an industry, and "replace from a date" (``duty_replace``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import DepartmentKind, Enterprise, User
from accounts.uscc import normalize_uscc

from ..models import Duty, Industry, Level, Post
from ..permissions import can_change_duty_map, can_view_admin_reports
from ..selectors import duties_for_industry
from ..services import duty_replace

GRADE_CHOICES = (("general", _("general hazard")), ("major", _("major hazard")))


def duty_state(duty: Duty, today: date) -> str:
    """ "valid", "expired" or "future" for ``today`` (``valid_to`` is the last valid day)."""
    if duty.valid_from > today:
        return "future"
    if duty.valid_to is not None and duty.valid_to < today:
        return "expired"
    return "valid"


DUTY_STATE_LABELS = {
    "valid": _("valid today"),
    "expired": _("expired"),
    "future": _("starts later"),
}


class DutyReplaceForm(forms.Form):
    """A committee decision changes a duty from a day on: the fields of the new row."""

    changed_on = forms.DateField(
        label=_("changed on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("First day of the new row; the current row ends the day before."),
    )
    department_kind = forms.ModelChoiceField(
        queryset=DepartmentKind.objects.all(), label=_("department kind")
    )
    role = forms.ChoiceField(choices=Duty.Role.choices, label=_("role"))
    general_level = forms.ChoiceField(choices=Level.choices, label=_("level for general hazards"))
    major_level = forms.ChoiceField(choices=Level.choices, label=_("level for major hazards"))
    position = forms.IntegerField(min_value=0, label=_("order"))
    decision = forms.CharField(max_length=100, label=_("decision reference"))

    def __init__(self, *args: Any, duty: Duty, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "changed_on": timezone.localdate(),
                "department_kind": duty.department_kind_id,
                "role": duty.role,
                "general_level": duty.general_level,
                "major_level": duty.major_level,
                "position": duty.position,
            },
        )
        super().__init__(*args, **kwargs)
        self.duty = duty

    def clean_changed_on(self) -> date:
        changed_on: date = self.cleaned_data["changed_on"]
        if changed_on <= self.duty.valid_from:
            raise ValidationError(
                _("The change must start after the row's first day (%(day)s)."),
                params={"day": self.duty.valid_from.isoformat()},
            )
        if self.duty.valid_to is not None and changed_on > self.duty.valid_to + timedelta(days=1):
            raise ValidationError(
                _("This row already ended on %(day)s; add a new duty row instead."),
                params={"day": self.duty.valid_to.isoformat()},
            )
        return changed_on


def _page(
    model_admin: admin.ModelAdmin[Duty], request: HttpRequest, template: str, **context: Any
) -> TemplateResponse:
    return TemplateResponse(
        request,
        template,
        {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, **context},
    )


def explain_view(request: HttpRequest, *, model_admin: admin.ModelAdmin[Duty]) -> HttpResponse:
    """Explain the chain of an enterprise for an industry, grade, day and post.

    Bad input is shown as form errors; ``?format=json`` answers the chain's JSON."""
    if not can_view_admin_reports(request.user):
        raise PermissionDenied
    from ..chain import ROLE_LABELS, ChainError, resolve_chain

    form = ExplainForm(request.GET or None, admin_site=model_admin.admin_site)
    chain = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            chain = resolve_chain(
                enterprise=data["enterprise"],
                industry=data.get("industry"),
                grade=data["grade"],
                post=data.get("post_obj"),
                on=data["on"],
            )
        except ChainError as exc:
            form.add_error(None, str(exc))
    if chain is not None and request.GET.get("format") == "json":
        return JsonResponse(chain.as_dict(), json_dumps_params={"ensure_ascii": False})
    rows = []
    if chain is not None:
        people = {
            u.username: u
            for u in User.objects.filter(
                username__in=[link.person for link in chain.links if link.person]
            )
        }
        rows = [
            {
                "link": link,
                "role_label": ROLE_LABELS.get(link.role, link.role),
                "person": people.get(link.person) if link.person else None,
            }
            for link in chain.links
        ]
        # Show the picked enterprise in the autocomplete even when the URL named it by USCC.
        shown = request.GET.copy()
        shown["enterprise"] = str(chain.enterprise.pk)
        shown["on"] = chain.on.isoformat()
        shown["grade"] = chain.grade
        form = ExplainForm(shown, admin_site=model_admin.admin_site)
        form.is_valid()
    return _page(
        model_admin,
        request,
        "admin/responsibility/explain.html",
        title=gettext("Explain the responsibility chain"),
        form=form,
        chain=chain,
        rows=rows,
        grade_label=dict(GRADE_CHOICES).get(chain.grade, "") if chain else "",
        json_query=urlencode({**request.GET.dict(), "format": "json"}),
    )


def duty_history_view(
    request: HttpRequest, code: str, *, model_admin: admin.ModelAdmin[Duty]
) -> HttpResponse:
    """Every duty row of the industry and its ancestors by first day, marking the rows valid
    today and those that decide today's chain (the nearest industry with rows wins)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    industry = get_object_or_404(Industry, code=code)
    lineage = industry.ancestors()
    today = timezone.localdate()
    in_effect: set[int] = set()
    for role in Duty.Role.values:
        _found_on, effective = duties_for_industry(industry, on=today, role=role)
        in_effect.update(d.pk for d in effective)
    duties = (
        Duty.objects.filter(industry__in=lineage)
        .select_related("industry", "department_kind", "created_by")
        .order_by("valid_from", "industry__code", "role", "position", "pk")
    )
    rows = [
        {
            "duty": duty,
            "state": duty_state(duty, today),
            "state_label": DUTY_STATE_LABELS[duty_state(duty, today)],
            "inherited": duty.industry_id != industry.pk,
            "in_effect": duty.pk in in_effect,
        }
        for duty in duties
    ]
    return _page(
        model_admin,
        request,
        "admin/responsibility/duty_history.html",
        title=gettext("Duty history of %(industry)s") % {"industry": industry.name},
        industry=industry,
        lineage=lineage,
        rows=rows,
        today=today,
    )


def replace_view(
    request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin[Duty]
) -> HttpResponse:
    """Replace a duty row from a day on (``duty_replace``): the old row ends the day before."""
    if not can_change_duty_map(request.user):
        raise PermissionDenied
    duty = model_admin.get_object(request, object_id)
    if duty is None:
        raise Http404
    form = DutyReplaceForm(request.POST or None, duty=duty)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            new = duty_replace(
                duty=duty,
                changed_on=data["changed_on"],
                created_by=request.user,  # type: ignore[arg-type]
                decision=data["decision"],
                department_kind=data["department_kind"],
                role=data["role"],
                general_level=data["general_level"],
                major_level=data["major_level"],
                position=data["position"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            model_admin.log_change(request, duty, [{"changed": {"fields": ["valid_to"]}}])
            model_admin.log_addition(request, new, [{"added": {}}])
            model_admin.message_user(
                request,
                gettext("Duty replaced from %(day)s.") % {"day": data["changed_on"].isoformat()},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:responsibility_duty_change", args=[new.pk]))
    return _page(
        model_admin,
        request,
        "admin/responsibility/duty_replace.html",
        title=gettext("Replace a duty from a date"),
        form=form,
        duty=duty,
        original=duty,
    )


# --- Explain form --------------------------------------------------------------------------------


class EnterpriseSelect(AutocompleteSelect):
    """The enterprise autocomplete; ignores values that are not ids (a USCC or garbage typed into
    the URL) instead of handing them to an integer lookup."""

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        value = [v for v in value if str(v).isdigit() and len(str(v)) < 18]
        return super().optgroups(name, value, attr)


class EnterpriseField(forms.ModelChoiceField):
    """An enterprise by id (from the autocomplete) or by its 18-character USCC (from a link)."""

    def to_python(self, value: Any) -> Enterprise | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if len(text) < 18 and text.isdigit():
            return super().to_python(text)
        found = Enterprise.objects.filter(uscc=normalize_uscc(text)).first()
        if found is None:
            raise ValidationError(
                _("No enterprise has the unified social credit code %(code)s."),
                code="invalid_choice",
                params={"code": text},
            )
        return found


class ExplainForm(forms.Form):
    enterprise = EnterpriseField(queryset=Enterprise.objects.all(), label=_("enterprise"))
    industry = forms.ModelChoiceField(
        queryset=Industry.objects.all(),
        to_field_name="code",
        required=False,
        label=_("industry"),
        empty_label=_("the enterprise's primary industry"),
    )
    grade = forms.ChoiceField(
        choices=GRADE_CHOICES, initial="general", required=False, label=_("grade")
    )
    on = forms.DateField(
        required=False,
        label=_("on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: today."),
    )
    post = forms.CharField(
        required=False,
        max_length=40,
        label=_("post code"),
        help_text=_("Optional: the post inside the enterprise that answers first."),
    )

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["enterprise"]
        field.widget = EnterpriseSelect(Post._meta.get_field("enterprise"), admin_site)
        field.widget.choices = field.choices  # type: ignore[attr-defined]
        field.widget.is_required = True
        self.fields["on"].initial = timezone.localdate()
        self.fields["industry"].label_from_instance = lambda i: f"{i.code} · {i.name}"  # type: ignore[attr-defined]

    def clean_grade(self) -> str:
        return str(self.cleaned_data.get("grade") or "general")

    def clean_on(self) -> date:
        on: date | None = self.cleaned_data.get("on")
        return on or timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        enterprise, code = data.get("enterprise"), data.get("post")
        data["post_obj"] = None
        if enterprise is not None and code:
            post = Post.objects.filter(enterprise=enterprise, code=code).first()
            if post is None:
                self.add_error(
                    "post",
                    _("%(enterprise)s has no post with the code %(code)s.")
                    % {"enterprise": enterprise.name, "code": code},
                )
            data["post_obj"] = post
        return data
