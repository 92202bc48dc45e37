"""The execute pages of HazardFlow's human steps (mounted by viewflow under its task URLs).

viewflow has already locked the process, checked that the user owns the task and started it
(``request.activation``); each page parses its form and calls one service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views.generic import FormView

from . import forms, services
from .models import Hazard


class HazardStepView(FormView):
    """Base: show the hazard and a form; on success call ``perform`` and go to the next task."""

    template_name = "hazards/task.html"
    success_message = ""

    @property
    def hazard(self) -> Hazard:
        return self.request.activation.process.hazard  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            hazard=self.hazard,
            activation=self.request.activation,  # type: ignore[attr-defined]
            task=self.request.activation.task,  # type: ignore[attr-defined]
            flow_task=self.request.activation.flow_task,  # type: ignore[attr-defined]
        )
        return context

    def perform(self, form: Any) -> None:
        raise ImproperlyConfigured(f"{type(self).__name__} must define perform()")

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            self.perform(form)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
            return self.form_invalid(form)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You may not take this step."))
            return self.form_invalid(form)
        messages.success(
            self.request, _("Hazard %(code)s: step completed.") % {"code": self.hazard.code}
        )
        return HttpResponseRedirect(self.request.activation.get_success_url(self.request))  # type: ignore[attr-defined]

    @property
    def _act(self) -> Any:
        return self.request.activation  # type: ignore[attr-defined]


class TriageView(HazardStepView):
    form_class = forms.TriageForm

    def get_initial(self) -> dict[str, Any]:
        return {"grade": self.hazard.grade, "clause": self.hazard.clause_id, "action": "confirm"}

    def perform(self, form: Any) -> None:
        data = form.cleaned_data
        if data["action"] == "handover":
            services.hazard_handover(
                hazard=self.hazard,
                user=self.request.user,
                department=data["department"],
                reason=data["comment"],
                activation=self._act,
            )
        else:
            services.hazard_triage(
                hazard=self.hazard,
                user=self.request.user,
                grade=data["grade"],
                deadline_on=data["deadline_on"],
                clause=data["clause"],
                local_grade=data["local_grade"],
                comment=data["comment"],
                suspended=data["suspended"],
                suspension_scope=data["suspension_scope"],
                activation=self._act,
            )


class PlanView(HazardStepView):
    form_class = forms.PlanForm

    def perform(self, form: Any) -> None:
        services.plan_submit(
            hazard=self.hazard, user=self.request.user, activation=self._act, **form.cleaned_data
        )


class ApprovePlanView(HazardStepView):
    form_class = forms.ReviewForm

    def perform(self, form: Any) -> None:
        services.plan_review(
            hazard=self.hazard,
            user=self.request.user,
            approve=form.cleaned_data["approve"],
            comment=form.cleaned_data["comment"],
            activation=self._act,
        )


class RectifyView(HazardStepView):
    form_class = forms.RectifyForm

    def perform(self, form: Any) -> None:
        data = form.cleaned_data
        services.rectification_submit(
            hazard=self.hazard,
            user=self.request.user,
            work_done=data["work_done"],
            interim_measures=data["interim_measures"],
            cost=data["cost"],
            after_photos=data["after_photos"],
            activation=self._act,
        )


class VerifyView(HazardStepView):
    form_class = forms.VerifyForm

    def perform(self, form: Any) -> None:
        data = form.cleaned_data
        services.rectification_verify(
            hazard=self.hazard,
            user=self.request.user,
            passed=data["passed"],
            comment=data["comment"],
            report=data["report"],
            activation=self._act,
        )


class CloseOutView(HazardStepView):
    form_class = forms.CloseOutForm

    def perform(self, form: Any) -> None:
        services.hazard_close(
            hazard=self.hazard,
            user=self.request.user,
            comment=form.cleaned_data["comment"],
            activation=self._act,
        )
