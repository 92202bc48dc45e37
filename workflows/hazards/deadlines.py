"""Hazards as a subject of the generic deadlines app: clocks per stage, and who is chased.

Every open stage of a hazard has one open ``Deadline`` row (subject type ``hazards.hazard``); a
pending extension request has one more (stage ``extension_decision``). Services call ``stage_clock``
inside their transactions; the sweep calls ``HazardDeadlineHandler`` to resolve the policy's chain
roles to people, to word the message and to add the reminder or escalation to the audit timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.status import STATUS

from accounts.models import Department, DepartmentKind, Membership
from workflows.deadlines.registry import Message, Recipient
from workflows.deadlines.selectors import deadline_state
from workflows.deadlines.services import deadline_close, deadline_open, deadline_reschedule

from .models import Event, Extension, Hazard, HazardTask, Stage

SUBJECT = "hazards.hazard"
# Hazard stages that run on a deadline clock (closed and withdrawn do not).
CLOCKED: dict[str, str] = {
    Stage.TRIAGE.value: "triage",
    Stage.PLAN.value: "plan",
    Stage.PLAN_APPROVAL.value: "plan_approval",
    Stage.RECTIFY.value: "rectify",
    Stage.VERIFY.value: "verify",
    Stage.CLOSE_OUT.value: "close_out",
}
DEPARTMENT_ROLES = {
    "department_staff",
    "department_head",
    "territorial",
    "county_committee",
    "city_committee",
}


def stage_clock(*, hazard: Hazard, previous: str, restart: bool = False) -> None:
    """Close the clock of the stage left and start the one of the stage entered.

    ``restart`` starts a new generation for the same stage (a handover restarts triage in another
    department). The rectification clock runs to the hazard's own deadline when one is set.
    """
    if previous == hazard.stage and not restart:
        return
    if previous in CLOCKED:
        deadline_close(
            subject_type=SUBJECT,
            subject_id=hazard.pk,
            stage=CLOCKED[previous],
            reason=f"left {previous}",
        )
    if hazard.stage in CLOCKED:
        explicit = hazard.deadline_on if hazard.stage == Stage.RECTIFY else None
        deadline_open(
            subject_type=SUBJECT,
            subject_id=hazard.pk,
            stage=CLOCKED[hazard.stage],
            grade=hazard.grade,
            explicit_on=explicit,
        )
    else:
        deadline_close(subject_type=SUBJECT, subject_id=hazard.pk, reason=hazard.stage)


def extension_clock(*, hazard: Hazard, opened: bool, granted_on: date | None = None) -> None:
    """A request starts the department's decision clock; the decision stops it. An approved
    extension moves the rectification clock (a new generation: nothing of the old one is sent)."""
    if opened:
        deadline_open(
            subject_type=SUBJECT,
            subject_id=hazard.pk,
            stage="extension_decision",
            grade=hazard.grade,
        )
        return
    deadline_close(
        subject_type=SUBJECT, subject_id=hazard.pk, stage="extension_decision", reason="decided"
    )
    if granted_on is not None:
        deadline_reschedule(
            subject_type=SUBJECT, subject_id=hazard.pk, stage="rectify", explicit_on=granted_on
        )


def _users(memberships: Any) -> list[Any]:
    return [m.user for m in memberships.select_related("user") if m.user.is_active]


class HazardDeadlineHandler:
    """Resolves a policy's chain roles for one hazard, words its messages, records them."""

    def _hazard(self, deadline: Any) -> Hazard | None:
        return (
            Hazard.objects.select_related("enterprise__principal", "department", "county", "city")
            .filter(pk=deadline.subject_id)
            .first()
        )

    def still_needed(self, deadline: Any) -> bool:
        hazard = self._hazard(deadline)
        if hazard is None or not deadline.open:
            return False
        if deadline.stage == "extension_decision":
            return hazard.extensions.filter(status=Extension.Status.PENDING).exists()
        return CLOCKED.get(hazard.stage) == deadline.stage

    def resolve(self, deadline: Any, roles: Sequence[str]) -> list[Recipient]:
        hazard = self._hazard(deadline)
        if hazard is None:
            return []
        recipients: list[Recipient] = []
        for role in roles:
            for user, digest in self._people(hazard, role, deadline):
                recipients.append(
                    Recipient(
                        user_id=user.pk,
                        role=role,
                        channels=(),
                        email=user.email,
                        mobile=user.mobile,
                        digest=digest,
                    )
                )
            if role in DEPARTMENT_ROLES and role != "territorial" and hazard.department_id:
                department = self._department_for(hazard, role)
                if department is not None:
                    recipients.append(
                        Recipient(
                            user_id=None,
                            role=role,
                            channels=("webhook",),
                            webhook_department_id=department.pk,
                        )
                    )
        return recipients

    def _department_for(self, hazard: Hazard, role: str) -> Department | None:
        if role in ("department_staff", "department_head"):
            return hazard.department
        region = hazard.county if role == "county_committee" else hazard.city
        return Department.objects.filter(
            region=region, kind__code=DepartmentKind.COMMITTEE_OFFICE
        ).first()

    def _people(self, hazard: Hazard, role: str, deadline: Any) -> list[tuple[Any, bool]]:
        members = Membership.objects
        if role == "assignee":
            return [(u, False) for u in self._assignees(hazard, deadline)]
        if role == "enterprise_principal":
            principal = hazard.enterprise.principal
            return [(principal, False)] if principal is not None and principal.is_active else []
        if role == "enterprise_safety":
            safety = _users(
                members.filter(enterprise=hazard.enterprise, role=Membership.Role.SAFETY_MANAGER)
            )
            if hazard.post is not None and hazard.post.holder is not None:
                safety.append(hazard.post.holder)
            return [(u, False) for u in safety]
        if role == "department_staff":
            return [
                (u, False)
                for u in _users(
                    members.filter(department=hazard.department, role=Membership.Role.STAFF)
                )
            ]
        if role == "department_head":
            return [
                (u, True)
                for u in _users(
                    members.filter(department=hazard.department, role=Membership.Role.HEAD)
                )
            ]
        if role == "territorial":
            codes = [
                link["org_code"]
                for link in hazard.chain.get("links", [])
                if link["role"] == "territorial"
            ]
            return [(u, True) for u in _users(members.filter(department__code__in=codes))]
        if role in ("county_committee", "city_committee"):
            region = hazard.county if role == "county_committee" else hazard.city
            return [
                (u, True)
                for u in _users(
                    members.filter(
                        department__region=region,
                        department__kind__code=DepartmentKind.COMMITTEE_OFFICE,
                        role__in=[
                            Membership.Role.COMMITTEE,
                            Membership.Role.HEAD,
                            Membership.Role.STAFF,
                        ],
                    )
                )
            ]
        return []

    def _assignees(self, hazard: Hazard, deadline: Any) -> list[Any]:
        """The owner of the open task, or everyone who could claim it from its queue."""
        if deadline.stage == "extension_decision":
            return _users(Membership.objects.filter(department=hazard.department))
        task = (
            HazardTask.objects.filter(
                process_id=hazard.process_id,
                flow_task_type="HUMAN",
                status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED],
            )
            .select_related("owner")
            .order_by("-pk")
            .first()
        )
        if task is None:
            return []
        if task.owner is not None:
            return [task.owner]
        if hazard.stage in (Stage.PLAN, Stage.RECTIFY):
            roles = [Membership.Role.PRINCIPAL, Membership.Role.DEPUTY]
            if hazard.stage == Stage.RECTIFY:
                roles.append(Membership.Role.SAFETY_MANAGER)
            return _users(Membership.objects.filter(enterprise=hazard.enterprise, role__in=roles))
        return _users(
            Membership.objects.filter(
                Q(role=Membership.Role.STAFF) | Q(role=Membership.Role.HEAD),
                department=hazard.department,
            )
        )

    def describe(self, deadline: Any, action: Any) -> Message:
        hazard = self._hazard(deadline)
        code = hazard.code if hazard else str(deadline.subject_id)
        title_text = hazard.title if hazard else ""
        due = timezone.localtime(deadline.due_at).strftime("%Y-%m-%d %H:%M")
        stage = _stage_label(deadline.stage)
        if action.kind == "reminder":
            title = _("Reminder: hazard %(code)s — %(stage)s due %(due)s") % {
                "code": code,
                "stage": stage,
                "due": due,
            }
        else:
            days = deadline_state(deadline).days_overdue
            title = _("%(action)s: hazard %(code)s — %(stage)s overdue by %(days)d days") % {
                "action": _action_label(action.action),
                "code": code,
                "stage": stage,
                "days": days,
            }
        body = _("%(title)s (%(enterprise)s). Deadline: %(due)s.") % {
            "title": title_text,
            "enterprise": hazard.enterprise.name if hazard else "",
            "due": due,
        }
        return Message(title=title, body=body, link=_hazard_link(deadline.subject_id))

    def record(
        self, deadline: Any, action: Any, recipients: Sequence[Recipient], message: Message
    ) -> None:
        hazard = Hazard.objects.filter(pk=deadline.subject_id).only("pk", "stage").first()
        if hazard is None:
            return
        Event.objects.create(
            hazard=hazard,
            action="reminder" if action.kind == "reminder" else "escalation",
            actor=None,
            from_stage=hazard.stage,
            to_stage=hazard.stage,
            comment=message.title,
            data={
                "deadline": deadline.pk,
                "generation": deadline.generation,
                "step": action.step,
                "ladder_action": action.action,
                "roles": list(action.roles),
                "recipients": sorted({r.user_id for r in recipients if r.user_id}),
            },
        )


def _hazard_link(pk: int) -> str:
    try:
        return reverse("hazards:detail", args=[pk])
    except NoReverseMatch:
        return ""


def _stage_label(stage: str) -> str:
    labels = {
        "triage": _("triage"),
        "plan": _("remediation plan"),
        "plan_approval": _("plan approval"),
        "rectify": _("rectification"),
        "extension_decision": _("extension decision"),
        "verify": _("verification"),
        "close_out": _("close-out"),
    }
    return labels.get(stage, stage)


def _action_label(action: str) -> str:
    labels = {
        "chase": _("Chase"),
        "supervision_letter": _("Supervision letter"),
        "circular": _("Circular of criticism"),
        "admonition": _("Admonition talk"),
        "listing": _("Listing for supervision"),
    }
    return labels.get(action, action)
