"""Forms of the hazard steps: parse and validate input; the services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Department

from .models import CriteriaClause, Grade, LocalGrade


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (photos from a phone)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class TriageForm(forms.Form):
    ACTIONS = (
        ("confirm", _("Confirm and assign")),
        ("handover", _("Hand over to another department")),
    )

    action = forms.ChoiceField(
        label=_("Decision"), choices=ACTIONS, initial="confirm", widget=forms.RadioSelect
    )
    grade = forms.ChoiceField(label=_("Grade"), choices=Grade.choices)
    clause = forms.ModelChoiceField(
        label=_("Criteria clause"), queryset=CriteriaClause.objects.all(), required=False
    )
    local_grade = forms.ModelChoiceField(
        label=_("Local grade"), queryset=LocalGrade.objects.all(), required=False
    )
    deadline_on = forms.DateField(
        label=_("Rectification deadline"),
        required=False,
        help_text=_("Empty: the policy default for the grade."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    suspended = forms.BooleanField(label=_("Order suspension (责令停产停业)"), required=False)
    suspension_scope = forms.CharField(label=_("Suspension scope"), max_length=300, required=False)
    department = forms.ModelChoiceField(
        label=_("Hand over to"),
        queryset=Department.objects.select_related("region"),
        required=False,
    )
    comment = forms.CharField(
        label=_("Comment or handover reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "handover":
            if not data.get("department"):
                self.add_error("department", _("Choose the department to hand over to."))
            if not (data.get("comment") or "").strip():
                self.add_error("comment", _("Give the reason for the handover."))
        return data


class PlanForm(forms.Form):
    goal = forms.CharField(label=_("Goal and tasks"), widget=forms.Textarea(attrs={"rows": 3}))
    measures = forms.CharField(label=_("Measures"), widget=forms.Textarea(attrs={"rows": 3}))
    funds = forms.DecimalField(
        label=_("Funds (yuan)"), min_value=0, max_digits=14, decimal_places=2
    )
    materials = forms.CharField(
        label=_("Materials"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    responsible_org = forms.CharField(label=_("Responsible organisation"), max_length=200)
    responsible_people = forms.CharField(label=_("Responsible people"), max_length=300)
    deadline_on = forms.DateField(
        label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"})
    )
    safety_measures = forms.CharField(
        label=_("Safety measures during remediation"), widget=forms.Textarea(attrs={"rows": 3})
    )
    contingency = forms.CharField(
        label=_("Contingency plan"), widget=forms.Textarea(attrs={"rows": 3})
    )


class ReviewForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=_("Decision"),
        choices=(("1", _("Approve")), ("0", _("Return with reasons"))),
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class RectifyForm(forms.Form):
    interim_measures = forms.CharField(
        label=_("Interim measures"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    work_done = forms.CharField(label=_("Work done"), widget=forms.Textarea(attrs={"rows": 4}))
    cost = forms.DecimalField(
        label=_("Cost (yuan)"), min_value=0, max_digits=14, decimal_places=2, initial=0
    )
    after_photos = MultipleFileField(label=_("Photos after rectification"), required=False)


class VerifyForm(forms.Form):
    passed = forms.TypedChoiceField(
        label=_("Result"),
        choices=(("1", _("Passed")), ("0", _("Failed: back to rectification"))),
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    report = forms.FileField(label=_("Verification report"), required=False)


class CloseOutForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
