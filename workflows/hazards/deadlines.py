"""Hazards as a subject of the generic deadlines app: clocks per stage, and who is chased.

Every open stage of a hazard has one open ``Deadline`` row (subject type ``hazards.hazard``); a
pending extension request has one more (stage ``extension_decision``). Services call ``stage_clock``
inside their transactions; the sweep calls ``HazardDeadlineHandler`` to resolve the policy's chain
roles to people, to word the message and to add the reminder or escalation to the audit timeline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.status import STATUS

from accounts.models import Department, DepartmentKind, Membership
from project.sql import insert_rows
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


HAZARD_RELATED = ("enterprise__principal", "post__holder")
# What the sweep reads of a hazard (its chain for the territorial departments).
HAZARD_FIELDS = (
    "code",
    "title",
    "stage",
    "chain",
    "process_id",
    "enterprise__name",
    "enterprise__principal",
    "department_id",
    "county_id",
    "city_id",
    "post__holder",
)
OPEN_TASK_STATUSES = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)


class HazardDeadlineHandler:
    """Resolves a policy's chain roles for hazards, words their messages, records them.

    The sweep binds it to each claimed batch (``bind``): a ``HazardBatch`` loads the hazards, their
    open tasks and the memberships behind every role once for the whole batch. The row-by-row
    methods (the delivery re-check asks ``still_needed`` for one outbox row) bind a batch of one.
    """

    def bind(self, deadlines: Sequence[Any]) -> HazardBatch:
        return HazardBatch(deadlines)

    def still_needed(self, deadline: Any) -> bool:
        return self.bind([deadline]).still_needed(deadline)

    def resolve(self, deadline: Any, roles: Sequence[str]) -> list[Recipient]:
        return self.bind([deadline]).resolve(deadline, roles)

    def describe(self, deadline: Any, action: Any) -> Message:
        return self.bind([deadline]).describe(deadline, action)

    def record(
        self, deadline: Any, action: Any, recipients: Sequence[Recipient], message: Message
    ) -> None:
        batch = self.bind([deadline])
        batch.record(deadline, action, recipients, message)
        batch.flush()


class HazardBatch:
    """The hazards of one sweep batch and everyone their deadlines may chase, loaded in a constant
    number of queries: hazards with their enterprise, principal, department, regions and post (1),
    pending extensions (1, only when an extension clock is in the batch) and, at the first
    ``resolve``, open tasks and their owners (2), committee offices and territorial departments (2)
    and the memberships of every department and enterprise involved with their users (1).
    ``record`` buffers the audit events; ``flush`` writes them in one INSERT."""

    def __init__(self, deadlines: Sequence[Any]) -> None:
        ids = {d.subject_id for d in deadlines}
        self.hazards: dict[int, Hazard] = {
            h.pk: h
            for h in Hazard.objects.select_related(*HAZARD_RELATED)
            .only(*HAZARD_FIELDS)
            .filter(pk__in=ids)
        }
        deciding = {d.subject_id for d in deadlines if d.stage == "extension_decision"}
        self.pending_extensions: set[int] = (
            set(
                Extension.objects.filter(
                    hazard_id__in=deciding, status=Extension.Status.PENDING
                ).values_list("hazard_id", flat=True)
            )
            if deciding
            else set()
        )
        self.events: list[dict[str, Any]] = []  # audit event rows, written by flush()
        self.now = timezone.now()
        self._people: _People | None = None
        self._link = _hazard_links()
        self._labels: dict[tuple[str, str], str] = {}
        self._zone = timezone.get_current_timezone()
        # The message templates, translated once per batch (the active language).
        self._texts = {
            "reminder": _("Reminder: hazard %(code)s — %(stage)s due %(due)s"),
            "escalation": _("%(action)s: hazard %(code)s — %(stage)s overdue by %(days)d days"),
            "body": _("%(title)s (%(enterprise)s). Deadline: %(due)s."),
        }

    def _label(self, kind: str, code: str) -> str:
        """A stage or ladder-action label, translated once per batch (the active language)."""
        key = (kind, code)
        if key not in self._labels:
            self._labels[key] = (_stage_label if kind == "stage" else _action_label)(code)
        return self._labels[key]

    def _hazard(self, deadline: Any) -> Hazard | None:
        return self.hazards.get(deadline.subject_id)

    @property
    def people(self) -> _People:
        if self._people is None:
            self._people = _People(list(self.hazards.values()))
        return self._people

    def still_needed(self, deadline: Any) -> bool:
        hazard = self._hazard(deadline)
        if hazard is None or not deadline.open:
            return False
        if deadline.stage == "extension_decision":
            return hazard.pk in self.pending_extensions
        return CLOCKED.get(hazard.stage) == deadline.stage

    def resolve(self, deadline: Any, roles: Sequence[str]) -> list[Recipient]:
        hazard = self._hazard(deadline)
        if hazard is None:
            return []
        recipients: list[Recipient] = []
        for role in roles:
            for user, digest in self.people.of(hazard, role, deadline):
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
                department_id = self.people.department_for(hazard, role)
                if department_id is not None:
                    recipients.append(
                        Recipient(
                            user_id=None,
                            role=role,
                            channels=("webhook",),
                            webhook_department_id=department_id,
                        )
                    )
        return recipients

    def describe(self, deadline: Any, action: Any) -> Message:
        hazard = self._hazard(deadline)
        code = hazard.code if hazard else str(deadline.subject_id)
        title_text = hazard.title if hazard else ""
        due = deadline.due_at.astimezone(self._zone).strftime("%Y-%m-%d %H:%M")
        stage = self._label("stage", deadline.stage)
        if action.kind == "reminder":
            title = self._texts["reminder"] % {"code": code, "stage": stage, "due": due}
        else:
            days = deadline_state(deadline).days_overdue
            title = self._texts["escalation"] % {
                "action": self._label("action", action.action),
                "code": code,
                "stage": stage,
                "days": days,
            }
        body = self._texts["body"] % {
            "title": title_text,
            "enterprise": hazard.enterprise.name if hazard else "",
            "due": due,
        }
        return Message(title=title, body=body, link=self._link(deadline.subject_id))

    def record(
        self, deadline: Any, action: Any, recipients: Sequence[Recipient], message: Message
    ) -> None:
        hazard = self._hazard(deadline)
        if hazard is None:
            return
        self.events.append(
            {
                "hazard_id": hazard.pk,
                "action": "reminder" if action.kind == "reminder" else "escalation",
                "actor_id": None,
                "at": self.now,
                "from_stage": hazard.stage,
                "to_stage": hazard.stage,
                "comment": message.title,
                "basis": "",
                "data": {
                    "deadline": deadline.pk,
                    "generation": deadline.generation,
                    "step": action.step,
                    "ladder_action": action.action,
                    "roles": list(action.roles),
                    "recipients": sorted({r.user_id for r in recipients if r.user_id}),
                },
            }
        )

    def flush(self) -> None:
        events, self.events = self.events, []
        insert_rows(Event, events)


@dataclass(frozen=True)
class Person:
    """What the sweep needs of an active user: who, and where to reach them."""

    pk: int
    email: str
    mobile: str


class _People:
    """Everyone the chain roles of a batch's hazards can name, by department and by enterprise."""

    def __init__(self, hazards: Sequence[Hazard]) -> None:
        process_ids = [h.process_id for h in hazards if h.process_id]
        # (process, owner) pairs, newest task first: values, not Task instances (viewflow resolves
        # every row's flow_task reference when it builds one).
        self.open_task: dict[int, int | None] = {}
        for process_id, owner_id in (
            HazardTask.objects.filter(
                process_id__in=process_ids,
                flow_task_type="HUMAN",
                status__in=OPEN_TASK_STATUSES,
            )
            .order_by("-pk")
            .values_list("process_id", "owner_id")
        ):
            self.open_task.setdefault(process_id, owner_id)
        owner_ids = {owner for owner in self.open_task.values() if owner is not None}
        self.owners: dict[int, Any] = (
            get_user_model().objects.in_bulk(owner_ids) if owner_ids else {}
        )
        regions = {h.county_id for h in hazards} | {h.city_id for h in hazards}
        self.committee_office: dict[int, int] = {}
        for department_id, region_id in (
            Department.objects.filter(
                region_id__in=regions, kind__code=DepartmentKind.COMMITTEE_OFFICE
            )
            .order_by("pk")
            .values_list("pk", "region_id")
        ):
            self.committee_office.setdefault(region_id, department_id)
        codes = {code for h in hazards for code in _territorial_codes(h)}
        self.department_of_code: dict[str, int] = (
            dict(Department.objects.filter(code__in=codes).values_list("code", "pk"))
            if codes
            else {}
        )
        departments = (
            {h.department_id for h in hazards if h.department_id}
            | set(self.committee_office.values())
            | set(self.department_of_code.values())
        )
        enterprises = {h.enterprise_id for h in hazards}
        # Members as (role, person) values: no Membership/User instances for thousands of rows.
        self.by_department: dict[int, list[tuple[str, Person]]] = defaultdict(list)
        self.by_enterprise: dict[int, list[tuple[str, Person]]] = defaultdict(list)
        people: dict[int, Person] = {}
        for department_id, enterprise_id, role, user_id, email, mobile in (
            Membership.objects.filter(
                Q(department_id__in=departments) | Q(enterprise_id__in=enterprises),
                user__is_active=True,
            )
            .order_by("user__username", "role", "pk")
            .values_list(
                "department_id", "enterprise_id", "role", "user_id", "user__email", "user__mobile"
            )
        ):
            person = people.setdefault(user_id, Person(user_id, email, mobile))
            if department_id is not None:
                self.by_department[department_id].append((role, person))
            if enterprise_id is not None:
                self.by_enterprise[enterprise_id].append((role, person))

    def _department(self, department_id: int | None, *roles: str) -> list[Any]:
        if department_id is None:
            return []
        members = self.by_department.get(department_id, [])
        return [person for role, person in members if not roles or role in roles]

    def _enterprise(self, enterprise_id: int, *roles: str) -> list[Any]:
        members = self.by_enterprise.get(enterprise_id, [])
        return [person for role, person in members if role in roles]

    def department_for(self, hazard: Hazard, role: str) -> int | None:
        """The department whose webhook hears about ``role`` for ``hazard``."""
        if role in ("department_staff", "department_head"):
            return hazard.department_id
        region = hazard.county_id if role == "county_committee" else hazard.city_id
        return self.committee_office.get(region)

    def of(self, hazard: Hazard, role: str, deadline: Any) -> list[tuple[Any, bool]]:
        """The people behind ``role`` for ``hazard``, each with whether they get digests."""
        roles = Membership.Role
        if role == "assignee":
            return [(u, False) for u in self._assignees(hazard, deadline)]
        if role == "enterprise_principal":
            principal = hazard.enterprise.principal
            return [(principal, False)] if principal is not None and principal.is_active else []
        if role == "enterprise_safety":
            safety = self._enterprise(hazard.enterprise_id, roles.SAFETY_MANAGER)
            if hazard.post is not None and hazard.post.holder is not None:
                safety.append(hazard.post.holder)
            return [(u, False) for u in safety]
        if role == "department_staff":
            return [(u, False) for u in self._department(hazard.department_id, roles.STAFF)]
        if role == "department_head":
            return [(u, True) for u in self._department(hazard.department_id, roles.HEAD)]
        if role == "territorial":
            return [
                (u, True)
                for code in _territorial_codes(hazard)
                for u in self._department(self.department_of_code.get(code))
            ]
        if role in ("county_committee", "city_committee"):
            office = self.department_for(hazard, role)
            members = self._department(office, roles.COMMITTEE, roles.HEAD, roles.STAFF)
            return [(u, True) for u in members]
        return []

    def _assignees(self, hazard: Hazard, deadline: Any) -> list[Any]:
        """The owner of the open task, or everyone who could claim it from its queue."""
        roles = Membership.Role
        if deadline.stage == "extension_decision":
            return self._department(hazard.department_id)
        if not hazard.process_id or hazard.process_id not in self.open_task:
            return []
        owner_id = self.open_task[hazard.process_id]
        if owner_id is not None:
            owner = self.owners.get(owner_id)
            return [owner] if owner is not None else []
        if hazard.stage in (Stage.PLAN, Stage.RECTIFY):
            wanted = [roles.PRINCIPAL, roles.DEPUTY]
            if hazard.stage == Stage.RECTIFY:
                wanted.append(roles.SAFETY_MANAGER)
            return self._enterprise(hazard.enterprise_id, *wanted)
        return self._department(hazard.department_id, roles.STAFF, roles.HEAD)


def _territorial_codes(hazard: Hazard) -> list[str]:
    return [
        link["org_code"]
        for link in (hazard.chain or {}).get("links", [])
        if link.get("role") == "territorial"
    ]


def _hazard_links() -> Callable[[int], str]:
    """The detail path of a hazard by pk, resolved by ``reverse()`` once (per batch) instead of
    once per message: a sentinel pk is reversed and later replaced."""
    sentinel = "987654321987"
    try:
        path = reverse("hazards:detail", args=[int(sentinel)])
    except NoReverseMatch:
        return lambda pk: ""
    head, _sep, tail = path.partition(sentinel)
    return lambda pk: f"{head}{pk}{tail}"


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
