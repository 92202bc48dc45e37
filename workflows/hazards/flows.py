"""HazardFlow: the graph only. Every node callback is one line that calls a service."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow, lock

from . import services, views_tasks
from .models import Grade, Hazard, HazardProcess, HazardTask
from .permissions import closeout_perm, dept_perm, enterprise_perm, principal_perm
from .viewsets import ScopedFlowMixin


def _hazard(activation: Any) -> Hazard:
    return activation.process.hazard


class HazardFlow(ScopedFlowMixin, flow.Flow):
    """隐患闭环治理：登记 → 分派 → （重大：治理方案 → 审批）→ 整改 → 验收 → （重大：销号）."""

    process_class = HazardProcess
    task_class = HazardTask
    lock_impl = lock.select_for_update_lock
    process_title = _("Hazard")
    process_description = _("Closed-loop hazard governance")

    report = flow.StartHandle(this.start_report).Annotation(title=_("Report")).Next(this.route)

    route = flow.Function(this.route_hazard).Annotation(title=_("Route")).Next(this.triage)

    triage = (
        flow.View(views_tasks.TriageView.as_view())
        .Annotation(title=_("Triage"))
        .Permission(lambda act: dept_perm(_hazard(act).department_id))
        .Next(this.after_triage)
    )
    after_triage = (
        flow.Switch()
        .Annotation(title=_("Triage outcome"))
        .Case(this.triage, lambda act: act.process.data.get("triage") == "handover")
        .Case(this.plan, lambda act: _hazard(act).grade == Grade.MAJOR)
        .Default(this.rectify)
    )

    plan = (
        flow.View(views_tasks.PlanView.as_view())
        .Annotation(title=_("Remediation plan"))
        .Permission(lambda act: principal_perm(_hazard(act).enterprise_id))
        .Assign(lambda act: _hazard(act).enterprise.principal)
        .Next(this.approve_plan)
    )
    approve_plan = (
        flow.View(views_tasks.ApprovePlanView.as_view())
        .Annotation(title=_("Approve plan"))
        .Permission(lambda act: dept_perm(_hazard(act).department_id))
        .Next(this.after_plan)
    )
    after_plan = (
        flow.If(lambda act: bool(act.process.data.get("plan_approved")))
        .Annotation(title=_("Plan review outcome"))
        .Then(this.rectify)
        .Else(this.plan)
    )

    rectify = (
        flow.View(views_tasks.RectifyView.as_view())
        .Annotation(title=_("Rectify"))
        .Permission(lambda act: enterprise_perm(_hazard(act).enterprise_id))
        .Next(this.verify)
    )
    verify = (
        flow.View(views_tasks.VerifyView.as_view())
        .Annotation(title=_("Verify"))
        .Permission(lambda act: dept_perm(_hazard(act).department_id))
        .Next(this.after_verify)
    )
    after_verify = (
        flow.Switch()
        .Annotation(title=_("Verification outcome"))
        .Case(this.rectify, lambda act: not act.process.data.get("verified"))
        .Case(this.close_out, lambda act: _hazard(act).grade == Grade.MAJOR)
        .Default(this.end)
    )

    close_out = (
        flow.View(views_tasks.CloseOutView.as_view())
        .Annotation(title=_("Close out"))
        .Permission(lambda act: closeout_perm(_hazard(act).department_id))
        .Next(this.end)
    )

    end = flow.End().Annotation(title=_("End"))

    def start_report(self, activation: Any, hazard: Hazard) -> Any:
        """Link the new process and the hazard (the process row is saved first to get its id)."""
        activation.process.save()
        Hazard.objects.filter(pk=hazard.pk).update(process=activation.process)
        return activation.process

    def route_hazard(self, activation: Any) -> None:
        services.hazard_route(hazard=_hazard(activation))
