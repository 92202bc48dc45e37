"""Every state change of a hazard. Web views, the API and tests all come through here.

Each transition runs under the process lock (``HazardFlow.lock`` = SELECT … FOR UPDATE), checks the
acting user's right to the step itself (viewflow's programmatic transitions do not), completes the
viewflow task, appends an audit event and re-derives the denormalised stage — in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.status import PROCESS, STATUS

from accounts.models import Department, DepartmentKind, Enterprise, Membership
from accounts.selectors import department_ids_of, enterprise_ids_of
from workflows.deadlines.services import deadline_close
from workflows.responsibility.chain import resolve_chain
from workflows.responsibility.models import Industry, Post

from .deadlines import SUBJECT, extension_clock
from .models import (
    Attachment,
    CopyNotice,
    CriteriaClause,
    Event,
    Extension,
    Grade,
    Hazard,
    HazardSequence,
    HazardTask,
    LocalGrade,
    Plan,
    Rectification,
    Source,
    Stage,
)
from .permissions import queue_permissions

# Which stage an open task of each node means (the denormalised Hazard.stage).
NODE_STAGE = {
    "triage": Stage.TRIAGE,
    "plan": Stage.PLAN,
    "approve_plan": Stage.PLAN_APPROVAL,
    "rectify": Stage.RECTIFY,
    "verify": Stage.VERIFY,
    "close_out": Stage.CLOSE_OUT,
}
# Sources an enterprise may use for its own reports; the rest are for inspectors and systems.
ENTERPRISE_SOURCES = {Source.SELF_CHECK}
NO_PHOTO_SOURCES = {Source.TIP_OFF, Source.MONITORING}
# A new hazard's relations: objects the report loaded itself, not values to look up again.
REPORT_RELATIONS = [
    "city",
    "county",
    "enterprise",
    "industry",
    "post",
    "found_by",
    "clause",
    "local_grade",
    "process",
    "department",
]
# A finding time before this is a typing error (or a hostile client), not a backlog hazard.
EARLIEST_FOUND_AT = datetime(2000, 1, 1, tzinfo=UTC)


class HazardStateError(ValidationError):
    """The hazard is not in a stage where this step can happen (e.g. a double submit)."""


# --- helpers ---------------------------------------------------------------------------------


def _event(
    *,
    hazard: Hazard,
    action: str,
    actor: Any,
    from_stage: str,
    comment: str = "",
    basis: str = "",
    data: dict[str, Any] | None = None,
) -> Event:
    return Event.objects.create(
        hazard=hazard,
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        from_stage=from_stage,
        to_stage=hazard.stage,
        comment=comment,
        basis=basis,
        data=data or {},
    )


def _sync_stage(hazard: Hazard, *, restart: bool = False) -> None:
    """Derive ``stage`` from the process (the open human task, or closed when it finished) and
    move the deadline clocks with it, in the caller's transaction."""
    from .deadlines import stage_clock

    previous = Hazard.objects.filter(pk=hazard.pk).values_list("stage", flat=True).first() or ""
    open_task = (
        HazardTask.objects.filter(
            process_id=hazard.process_id,
            flow_task_type="HUMAN",
            status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED],
        )
        .order_by("-pk")
        .first()
    )
    if open_task is not None:
        hazard.stage = NODE_STAGE[open_task.flow_task.name]
    elif hazard.withdrawn_at is not None:
        hazard.stage = Stage.WITHDRAWN
    else:
        hazard.stage = Stage.CLOSED
    hazard.save(update_fields=["stage", "updated_at"])
    stage_clock(hazard=hazard, previous=previous, restart=restart)


def _next_code(*, city_id: int, city_code: str, year: int) -> tuple[int, str]:
    """Next sequential code per city and year, e.g. 141000-2026-000042: one ``UPDATE … RETURNING``
    on the counter row, which stays locked until the report commits (the row is created on a
    city's first report of the year)."""
    last = _bump(city_id=city_id, year=year)
    if last is None:
        HazardSequence.objects.get_or_create(city_id=city_id, year=year)
        last = _bump(city_id=city_id, year=year)
    if last is None:  # pragma: no cover - the row was created just above
        raise RuntimeError(f"no hazard code counter for city {city_id} in {year}")
    return last, f"{city_code}-{year}-{last:06d}"


def _bump(*, city_id: int, year: int) -> int | None:
    """Add one to the counter of (city, year) and return the new value; None when it has none."""
    counter = HazardSequence.objects.filter(city_id=city_id, year=year)
    if connection.vendor != "postgresql":  # the embedded demo: lock, add, read back
        if counter.select_for_update().first() is None:
            return None
        counter.update(last=F("last") + 1)
        return int(counter.values_list("last", flat=True).get())
    table = connection.ops.quote_name(HazardSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last = last + 1 WHERE city_id = %s AND year = %s RETURNING last",  # noqa: S608
            [city_id, year],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def default_deadline(*, grade: str, start: date) -> date:
    """The policy default rectification deadline (days per grade in settings)."""
    days = settings.HAZARD_DEFAULT_DEADLINE_DAYS[grade]
    return start + timedelta(days=days)


@contextmanager
def _task_step(
    *, hazard: Hazard, node_name: str, user: Any, activation: Any = None
) -> Iterator[Any]:
    """Run one human step: lock the process, check the user's right, start, yield, complete.

    ``activation`` is given when viewflow's own task view already locked and started the task.
    """
    from .flows import HazardFlow
    from .selectors import active_task

    node = getattr(HazardFlow, node_name)
    if activation is not None:
        if activation.task.flow_task != node:
            raise HazardStateError(_("This task is not the %(step)s step.") % {"step": node_name})
        yield activation
        activation.execute()
        return
    task = active_task(hazard=hazard, node_name=node_name)
    if task is None:
        raise HazardStateError(
            _("Hazard %(code)s has no open %(step)s step; someone may have completed it already.")
            % {"code": hazard.code, "step": node_name}
        )
    with HazardFlow.lock(task.process_id), transaction.atomic():
        task.refresh_from_db()
        if task.status not in (STATUS.NEW, STATUS.ASSIGNED):
            raise HazardStateError(
                _("This step of hazard %(code)s was completed by someone else.")
                % {"code": hazard.code}
            )
        activation = node.activation_class(task)
        if task.status == STATUS.NEW:
            if not node.can_assign(user, task):
                raise PermissionDenied(_("You may not take this step."))
            activation.assign(user)
        if not node.can_execute(user, task):
            raise PermissionDenied(_("This task is assigned to someone else."))
        activation.start(None)
        yield activation
        activation.execute()


def _hazard_locked(hazard: Hazard) -> Hazard:
    return Hazard.objects.select_for_update().get(pk=hazard.pk)


# --- report and route ----------------------------------------------------------------------


@transaction.atomic
def hazard_report(
    *,
    reporter: Any,
    enterprise: Enterprise,
    title: str,
    description: str,
    location: str,
    source: str,
    grade: str = Grade.GENERAL,
    found_at: datetime | None = None,
    industry: Industry | None = None,
    post: Post | None = None,
    clause: CriteriaClause | None = None,
    local_grade: LocalGrade | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    finder_name: str = "",
    before_photos: Sequence[UploadedFile] = (),
    photo_required: bool = True,
) -> Hazard:
    """Register a hazard, start its process and route it to the lead department's triage queue.

    Enterprise users report only for their own enterprise and only as self-check; inspectors (department
    staff) and committee offices report from inspections. A before-photo is required except for
    tip-offs, monitoring alerts and API reports (``photo_required=False``). The source is fixed here
    and no later step changes it.
    """
    from .deadlines import stage_clock
    from .evidence import attachment_store
    from .flows import HazardFlow

    errors: dict[str, list[str]] = {}
    if reporter is not None and not reporter.is_superuser:
        own = enterprise.pk in enterprise_ids_of(reporter)
        inspector = bool(department_ids_of(reporter))
        if not own and not inspector:
            raise PermissionDenied(_("You may not report hazards for this enterprise."))
        if own and not inspector and source not in ENTERPRISE_SOURCES:
            errors.setdefault("source", []).append(
                _("An enterprise reports its own hazards as self-check.")
            )
    if source not in Source.values:
        errors.setdefault("source", []).append(_("Unknown source."))
    if grade not in Grade.values:
        errors.setdefault("grade", []).append(_("Unknown grade."))
    if industry is None:
        link = enterprise.industry_links.select_related("industry").order_by("position").first()
        industry = link.industry if link else None
    if industry is None:
        errors.setdefault("industry", []).append(_("Choose the industry of the hazard."))
    if post is not None and post.enterprise_id != enterprise.pk:
        errors.setdefault("post", []).append(_("The post belongs to another enterprise."))
    found_at = found_at or timezone.now()
    if found_at > timezone.now() + timedelta(minutes=5):
        errors.setdefault("found_at", []).append(_("The hazard cannot be found in the future."))
    elif found_at < EARLIEST_FOUND_AT:
        errors.setdefault("found_at", []).append(_("The hazard cannot be found before 2000."))
    if photo_required and source not in NO_PHOTO_SOURCES and not before_photos:
        errors.setdefault("before_photos", []).append(_("Add at least one photo of the hazard."))
    if local_grade is not None and local_grade.statutory_grade != grade:
        errors.setdefault("local_grade", []).append(
            _("The local grade maps to a different statutory grade.")
        )
    if errors:
        raise ValidationError(errors)

    county = enterprise.region.at_level("county")
    city = enterprise.region.at_level("city")
    if county is None or city is None:
        raise ValidationError(_("The enterprise is not located in a county of a city."))
    year = timezone.localdate().year
    sequence, code = _next_code(city_id=city.pk, city_code=city.code, year=year)
    hazard = Hazard(
        code=code,
        city=city,
        county=county,
        year=year,
        sequence=sequence,
        enterprise=enterprise,
        industry=industry,
        post=post,
        title=title,
        description=description,
        location=location,
        latitude=latitude,
        longitude=longitude,
        found_at=found_at,
        found_by=reporter if reporter is not None else None,
        finder_name=finder_name,
        source=source,
        grade=grade,
        clause=clause,
        local_grade=local_grade,
        stage=Stage.TRIAGE,
    )
    # Field values only: the relations were loaded above, the code comes from the locked counter,
    # and the database enforces the unique and check constraints (full_clean would ask it 13
    # questions first, one of them per relation).
    hazard.clean_fields(exclude=REPORT_RELATIONS)
    hazard.clean()
    hazard.save()
    for photo in before_photos:
        attachment_store(
            hazard=hazard, kind=Attachment.Kind.BEFORE_PHOTO, upload=photo, user=reporter
        )
    _event(
        hazard=hazard,
        action="report",
        actor=reporter,
        from_stage="",
        data={"source": source, "grade": grade, "photos": len(before_photos)},
    )
    HazardFlow.report.run(hazard=hazard)
    hazard.refresh_from_db()
    stage_clock(hazard=hazard, previous="")
    return hazard


def hazard_route(*, hazard: Hazard) -> Hazard:
    """Resolve the responsibility chain (snapshot) and give the hazard to the lead department.

    A blind spot goes to the acting committee office, which the chain names as lead.
    """
    chain = resolve_chain(
        enterprise=hazard.enterprise, industry=hazard.industry, grade=hazard.grade, post=hazard.post
    )
    snapshot = chain.as_dict()
    codes = [
        link["org_code"]
        for link in snapshot["links"]
        if link["role"] in ("lead", "cooperating", "territorial", "committee")
    ]
    departments = {d.code: d for d in Department.objects.filter(code__in=codes)}
    lead_code = next(
        (link["org_code"] for link in snapshot["links"] if link["role"] == "lead"), None
    )
    lead = departments.get(lead_code) if lead_code else None
    if lead is None:
        # No lead and no committee office on record: the city committee office is the last resort.
        lead = Department.objects.filter(
            region=hazard.city, kind__code=DepartmentKind.COMMITTEE_OFFICE
        ).first()
    if lead is None:
        raise ValidationError(
            _(
                "Nobody can be found to triage this hazard: the city has no committee office on record."
            )
        )
    hazard.chain = snapshot
    hazard.department = lead
    hazard.save(update_fields=["chain", "department", "updated_at"])
    hazard.departments.add(*[d for code, d in departments.items() if code in codes])
    _event(
        hazard=hazard,
        action="route",
        actor=None,
        from_stage=hazard.stage,
        comment=_("Routed to %(department)s.") % {"department": lead.name},
        basis=next((link["basis"] for link in snapshot["links"] if link["role"] == "lead"), ""),
        data={"department": lead.code, "blind_spot": snapshot["blind_spot"]},
    )
    return hazard


# --- department steps ----------------------------------------------------------------------


def _cooperating(hazard: Hazard) -> list[Department]:
    codes = [
        link["org_code"] for link in hazard.chain.get("links", []) if link["role"] == "cooperating"
    ]
    return list(Department.objects.filter(code__in=codes))


@transaction.atomic
def hazard_triage(
    *,
    hazard: Hazard,
    user: Any,
    grade: str,
    deadline_on: date | None = None,
    clause: CriteriaClause | None = None,
    local_grade: LocalGrade | None = None,
    comment: str = "",
    suspended: bool = False,
    suspension_scope: str = "",
    activation: Any = None,
) -> Hazard:
    """Confirm or change the grade and clause and set the rectification deadline (or the default).

    The department may order suspension (责令停产停业) of a scope while the hazard is rectified.
    Cooperating departments get a copy notice. A major hazard goes to the enterprise's plan next.
    """
    errors: dict[str, list[str]] = {}
    if grade not in Grade.values:
        errors.setdefault("grade", []).append(_("Unknown grade."))
    today = timezone.localdate()
    if deadline_on is not None and deadline_on < today:
        errors.setdefault("deadline_on", []).append(_("The deadline cannot be in the past."))
    if clause is not None and grade != Grade.MAJOR:
        errors.setdefault("clause", []).append(_("Only a major hazard cites a criteria clause."))
    if local_grade is not None and local_grade.statutory_grade != grade:
        errors.setdefault("local_grade", []).append(
            _("The local grade maps to a different statutory grade.")
        )
    if suspended and not suspension_scope.strip():
        errors.setdefault("suspension_scope", []).append(
            _("Say what is suspended (the whole enterprise, a workshop, a mine face …).")
        )
    if errors:
        raise ValidationError(errors)
    with (
        transaction.atomic(),
        _task_step(hazard=hazard, node_name="triage", user=user, activation=activation) as act,
    ):
        hazard = _hazard_locked(hazard)
        before = hazard.stage
        changed_grade = hazard.grade != grade
        old_grade = hazard.grade
        hazard.grade = grade
        hazard.clause = clause
        hazard.local_grade = local_grade
        hazard.deadline_on = deadline_on or default_deadline(grade=grade, start=today)
        hazard.suspended = suspended
        hazard.suspension_scope = suspension_scope.strip() if suspended else ""
        hazard.save(
            update_fields=[
                "grade",
                "clause",
                "local_grade",
                "deadline_on",
                "suspended",
                "suspension_scope",
                "updated_at",
            ]
        )
        act.process.data = {**act.process.data, "triage": "confirmed"}
        act.process.save(update_fields=["data"])
        for department in _cooperating(hazard):
            CopyNotice.objects.create(
                hazard=hazard,
                department=department,
                reason=_("Triaged by %(d)s.") % {"d": hazard.department},
            )
    _sync_stage(hazard)
    _event(
        hazard=hazard,
        action="triage",
        actor=user,
        from_stage=before,
        comment=comment,
        data={
            "grade": grade,
            "grade_changed_from": old_grade if changed_grade else None,
            "deadline_on": hazard.deadline_on.isoformat(),
            "clause": clause.pk if clause else None,
            "suspended": suspended,
            "suspension_scope": hazard.suspension_scope,
        },
    )
    return hazard


@transaction.atomic
def hazard_handover(
    *, hazard: Hazard, user: Any, department: Department, reason: str, activation: Any = None
) -> Hazard:
    """Hand the hazard over (移交) to another department with a reason; it lands in that queue.

    The handover is recorded and the chain's cooperating departments get a copy notice (抄告).
    """
    if not reason.strip():
        raise ValidationError({"reason": [_("Give the reason for the handover.")]})
    if department.pk == hazard.department_id:
        raise ValidationError({"department": [_("The hazard is already with this department.")]})
    if department.kind.code == DepartmentKind.TOWNSHIP_GOV:
        raise ValidationError(
            {"department": [_("Hazards are handed over to departments, not township governments.")]}
        )
    with (
        transaction.atomic(),
        _task_step(hazard=hazard, node_name="triage", user=user, activation=activation) as act,
    ):
        hazard = _hazard_locked(hazard)
        previous = hazard.department
        hazard.department = department
        hazard.save(update_fields=["department", "updated_at"])
        hazard.departments.add(department)
        act.process.data = {**act.process.data, "triage": "handover"}
        act.process.save(update_fields=["data"])
        notified = {department.pk}
        for cooperating in _cooperating(hazard):
            if cooperating.pk not in notified:
                notified.add(cooperating.pk)
                CopyNotice.objects.create(
                    hazard=hazard,
                    department=cooperating,
                    reason=_("Handed over from %(from)s to %(to)s: %(reason)s")
                    % {"from": previous, "to": department, "reason": reason},
                )
    _sync_stage(hazard, restart=True)
    _event(
        hazard=hazard,
        action="handover",
        actor=user,
        from_stage=Stage.TRIAGE,
        comment=reason,
        data={"from": previous.code if previous else None, "to": department.code},
    )
    return hazard


@transaction.atomic
def plan_submit(
    *,
    hazard: Hazard,
    user: Any,
    goal: str,
    measures: str,
    funds: Decimal,
    responsible_org: str,
    responsible_people: str,
    deadline_on: date,
    safety_measures: str,
    contingency: str,
    materials: str = "",
    activation: Any = None,
) -> Plan:
    """The principal submits the remediation plan with the five commitments (五落实)."""
    if deadline_on < timezone.localdate():
        raise ValidationError({"deadline_on": [_("The deadline cannot be in the past.")]})
    if funds < 0:
        raise ValidationError({"funds": [_("Funds cannot be negative.")]})
    with (
        transaction.atomic(),
        _task_step(hazard=hazard, node_name="plan", user=user, activation=activation),
    ):
        hazard = _hazard_locked(hazard)
        version = hazard.plans.count() + 1
        plan = Plan(
            hazard=hazard,
            version=version,
            goal=goal,
            measures=measures,
            funds=funds,
            materials=materials,
            responsible_org=responsible_org,
            responsible_people=responsible_people,
            deadline_on=deadline_on,
            safety_measures=safety_measures,
            contingency=contingency,
            submitted_by=user,
        )
        plan.full_clean()
        plan.save()
    _sync_stage(hazard)
    _event(
        hazard=hazard,
        action="plan_submit",
        actor=user,
        from_stage=Stage.PLAN,
        data={"version": version},
    )
    return plan


@transaction.atomic
def plan_review(
    *, hazard: Hazard, user: Any, approve: bool, comment: str = "", activation: Any = None
) -> Plan:
    """The department approves the plan (its deadline becomes the hazard's) or returns it with reasons."""
    if not approve and not comment.strip():
        raise ValidationError({"comment": [_("Give the reasons for returning the plan.")]})
    with (
        transaction.atomic(),
        _task_step(
            hazard=hazard, node_name="approve_plan", user=user, activation=activation
        ) as act,
    ):
        hazard = _hazard_locked(hazard)
        plan = hazard.plans.get(status=Plan.Status.SUBMITTED)
        plan.status = Plan.Status.APPROVED if approve else Plan.Status.RETURNED
        plan.reviewed_by = user
        plan.reviewed_at = timezone.now()
        plan.review_comment = comment
        plan.save()
        if approve:
            hazard.deadline_on = plan.deadline_on
            hazard.save(update_fields=["deadline_on", "updated_at"])
        act.process.data = {**act.process.data, "plan_approved": approve}
        act.process.save(update_fields=["data"])
    _sync_stage(hazard)
    _event(
        hazard=hazard,
        action="plan_approve" if approve else "plan_return",
        actor=user,
        from_stage=Stage.PLAN_APPROVAL,
        comment=comment,
        data={"version": plan.version},
    )
    return plan


# --- enterprise steps ----------------------------------------------------------------------


@transaction.atomic
def rectification_submit(
    *,
    hazard: Hazard,
    user: Any,
    work_done: str,
    interim_measures: str = "",
    cost: Decimal = Decimal(0),
    after_photos: Sequence[UploadedFile] = (),
    existing_photos: Sequence[Attachment] = (),
    activation: Any = None,
) -> Rectification:
    """The enterprise reports the rectification done, with after-photos (at least one)."""
    from .evidence import attachment_store

    if not after_photos and not existing_photos:
        raise ValidationError({"after_photos": [_("Add at least one photo after rectification.")]})
    if cost < 0:
        raise ValidationError({"cost": [_("The cost cannot be negative.")]})
    with (
        transaction.atomic(),
        _task_step(hazard=hazard, node_name="rectify", user=user, activation=activation),
    ):
        hazard = _hazard_locked(hazard)
        attempt = hazard.rectifications.count() + 1
        rectification = Rectification.objects.create(
            hazard=hazard,
            attempt=attempt,
            interim_measures=interim_measures,
            work_done=work_done,
            cost=cost,
            submitted_by=user,
        )
        stored = [
            attachment_store(hazard=hazard, kind=Attachment.Kind.AFTER_PHOTO, upload=p, user=user)
            for p in after_photos
        ]
        rectification.after_photos.add(*stored, *existing_photos)
    _sync_stage(hazard)
    _event(
        hazard=hazard,
        action="rectify",
        actor=user,
        from_stage=Stage.RECTIFY,
        comment=work_done,
        data={"attempt": attempt, "cost": str(cost), "photos": len(stored) + len(existing_photos)},
    )
    return rectification


@transaction.atomic
def extension_request(*, hazard: Hazard, user: Any, requested_on: date, reason: str) -> Extension:
    """The enterprise asks for a later deadline while rectifying; the rectify task stays open."""
    hazard = _hazard_locked(hazard)
    if hazard.stage != Stage.RECTIFY:
        raise HazardStateError(_("An extension can only be requested while rectifying."))
    if hazard.pk and not (user.is_superuser or hazard.enterprise_id in enterprise_ids_of(user)):
        raise PermissionDenied(_("Only the enterprise can request an extension."))
    if not reason.strip():
        raise ValidationError({"reason": [_("Give the reason for the extension.")]})
    if hazard.deadline_on and requested_on <= hazard.deadline_on:
        raise ValidationError(
            {"requested_on": [_("The requested deadline must be later than the current one.")]}
        )
    if hazard.extensions.filter(status=Extension.Status.PENDING).exists():
        raise HazardStateError(_("An extension request is already waiting for a decision."))
    extension = Extension.objects.create(
        hazard=hazard,
        reason=reason,
        requested_on=requested_on,
        previous_deadline_on=hazard.deadline_on,
        requested_by=user,
    )
    extension_clock(hazard=hazard, opened=True)
    _event(
        hazard=hazard,
        action="extension_request",
        actor=user,
        from_stage=hazard.stage,
        comment=reason,
        data={"requested_on": requested_on.isoformat()},
    )
    return extension


@transaction.atomic
def extension_decide(
    *,
    extension: Extension,
    user: Any,
    approve: bool,
    reason: str = "",
    granted_on: date | None = None,
) -> Extension:
    """The department approves (with a new date, by default the requested one) or rejects with reasons."""
    extension = Extension.objects.select_for_update().select_related("hazard").get(pk=extension.pk)
    hazard = _hazard_locked(extension.hazard)
    if extension.status != Extension.Status.PENDING:
        raise HazardStateError(_("This extension request has already been decided."))
    if not (user.is_superuser or hazard.department_id in department_ids_of(user)):
        raise PermissionDenied(_("Only the supervising department decides extensions."))
    if not approve and not reason.strip():
        raise ValidationError({"reason": [_("Give the reason for the rejection.")]})
    if approve:
        granted_on = granted_on or extension.requested_on
        if hazard.deadline_on and granted_on <= hazard.deadline_on:
            raise ValidationError(
                {"granted_on": [_("The new deadline must be later than the current one.")]}
            )
        hazard.deadline_on = granted_on
        hazard.save(update_fields=["deadline_on", "updated_at"])
    extension.status = Extension.Status.APPROVED if approve else Extension.Status.REJECTED
    extension.decided_by = user
    extension.decided_at = timezone.now()
    extension.decision_reason = reason
    extension.granted_on = granted_on if approve else None
    extension.save()
    extension_clock(hazard=hazard, opened=False, granted_on=extension.granted_on)
    _event(
        hazard=hazard,
        action="extension_approve" if approve else "extension_reject",
        actor=user,
        from_stage=hazard.stage,
        comment=reason,
        data={"granted_on": granted_on.isoformat() if approve and granted_on else None},
    )
    return extension


# --- verification, close-out, withdrawal ------------------------------------------------------


@transaction.atomic
def rectification_verify(
    *,
    hazard: Hazard,
    user: Any,
    passed: bool,
    comment: str = "",
    report: UploadedFile | None = None,
    activation: Any = None,
) -> Rectification:
    """The department re-checks (复查). The verifier may not be the reporter (谁验收谁负责).

    Failing sends the hazard back to rectification; the failed attempt is kept.
    """
    from .evidence import attachment_store

    if hazard.found_by_id is not None and hazard.found_by_id == user.pk:
        raise PermissionDenied(_("The person who reported a hazard may not verify it."))
    if not passed and not comment.strip():
        raise ValidationError({"comment": [_("Give the reasons why verification failed.")]})
    with (
        transaction.atomic(),
        _task_step(hazard=hazard, node_name="verify", user=user, activation=activation) as act,
    ):
        hazard = _hazard_locked(hazard)
        rectification = (
            hazard.rectifications.filter(result=Rectification.Result.PENDING)
            .order_by("-attempt")
            .first()
        )
        if rectification is None:
            raise HazardStateError(_("There is no rectification to verify."))
        rectification.result = (
            Rectification.Result.PASSED if passed else Rectification.Result.FAILED
        )
        rectification.verified_by = user
        rectification.verified_at = timezone.now()
        rectification.verification_comment = comment
        rectification.save()
        hazard.verify_attempts += 1
        fields = ["verify_attempts", "updated_at"]
        if passed and not hazard.is_major:
            hazard.closed_at = timezone.now()
            hazard.closed_by = user
            fields += ["closed_at", "closed_by"]
        hazard.save(update_fields=fields)
        if report is not None:
            attachment_store(
                hazard=hazard, kind=Attachment.Kind.VERIFICATION_REPORT, upload=report, user=user
            )
        act.process.data = {**act.process.data, "verified": passed}
        act.process.save(update_fields=["data"])
    _sync_stage(hazard)
    _event(
        hazard=hazard,
        action="verify_pass" if passed else "verify_fail",
        actor=user,
        from_stage=Stage.VERIFY,
        comment=comment,
        data={"attempt": rectification.attempt},
    )
    return rectification


@transaction.atomic
def hazard_close(*, hazard: Hazard, user: Any, comment: str = "", activation: Any = None) -> Hazard:
    """Close out a verified major hazard (销号); a listed hazard is delisted (摘牌) at the same time."""
    with (
        transaction.atomic(),
        _task_step(hazard=hazard, node_name="close_out", user=user, activation=activation),
    ):
        hazard = _hazard_locked(hazard)
        hazard.closed_at = timezone.now()
        hazard.closed_by = user
        fields = ["closed_at", "closed_by", "updated_at"]
        if hazard.listed_on and not hazard.delisted_on:
            hazard.delisted_on = timezone.localdate()
            fields.append("delisted_on")
        hazard.save(update_fields=fields)
    _sync_stage(hazard)
    _event(hazard=hazard, action="close", actor=user, from_stage=Stage.CLOSE_OUT, comment=comment)
    return hazard


@transaction.atomic
def hazard_list(*, hazard: Hazard, user: Any, level: str, comment: str = "") -> Hazard:
    """List an open major hazard for supervision (挂牌督办) by a committee office or department head."""
    hazard = _hazard_locked(hazard)
    if not hazard.is_major or not hazard.is_open:
        raise HazardStateError(_("Only an open major hazard can be listed."))
    if hazard.listed_on and not hazard.delisted_on:
        raise HazardStateError(_("The hazard is already listed."))
    if level not in ("county", "city"):
        raise ValidationError({"level": [_("Choose county or city level.")]})
    unit = (
        Department.objects.filter(
            memberships__user=user,
            memberships__role__in=[Membership.Role.HEAD, Membership.Role.COMMITTEE],
        )
        .order_by("pk")
        .first()
    )
    if unit is None and not user.is_superuser:
        raise PermissionDenied(_("Only a committee office or a department head can list a hazard."))
    hazard.listed_level = level
    hazard.listed_by = unit
    hazard.listed_on = timezone.localdate()
    hazard.delisted_on = None
    hazard.save(
        update_fields=["listed_level", "listed_by", "listed_on", "delisted_on", "updated_at"]
    )
    _event(
        hazard=hazard,
        action="list",
        actor=user,
        from_stage=hazard.stage,
        comment=comment,
        data={"level": level},
    )
    return hazard


@transaction.atomic
def hazard_withdraw(*, hazard: Hazard, user: Any, reason: str) -> Hazard:
    """Withdraw an invalid report (撤销) at any open stage: the department says why; the process ends."""
    from .flows import HazardFlow

    if not reason.strip():
        raise ValidationError({"reason": [_("Give the reason for the withdrawal.")]})
    if not (user.is_superuser or hazard.department_id in department_ids_of(user)):
        raise PermissionDenied(_("Only the supervising department can withdraw a hazard."))
    with HazardFlow.lock(hazard.process_id):
        hazard = _hazard_locked(hazard)
        if not hazard.is_open:
            raise HazardStateError(_("Hazard %(code)s is no longer open.") % {"code": hazard.code})
        before = hazard.stage
        for task in HazardTask.objects.filter(
            process_id=hazard.process_id, status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED]
        ):
            task.status = STATUS.CANCELED
            task.finished = timezone.now()
            task.save(update_fields=["status", "finished"])
        process = hazard.process
        if process is None:
            raise HazardStateError(_("Hazard %(code)s has no process.") % {"code": hazard.code})
        process.status = PROCESS.CANCELED
        process.finished = timezone.now()
        process.save(update_fields=["status", "finished"])
        hazard.withdrawn_at = timezone.now()
        hazard.withdrawn_by = user
        hazard.withdrawal_reason = reason
        hazard.stage = Stage.WITHDRAWN
        hazard.save(
            update_fields=[
                "withdrawn_at",
                "withdrawn_by",
                "withdrawal_reason",
                "stage",
                "updated_at",
            ]
        )
        deadline_close(subject_type=SUBJECT, subject_id=hazard.pk, reason="withdrawn")
        hazard.extensions.filter(status=Extension.Status.PENDING).update(
            status=Extension.Status.REJECTED,
            decision_reason=reason,
            decided_by=user,
            decided_at=timezone.now(),
        )
    _event(hazard=hazard, action="withdraw", actor=user, from_stage=before, comment=reason)
    return hazard


# --- queue actions ---------------------------------------------------------------------------


def task_claim(*, task: HazardTask, user: Any) -> HazardTask:
    """Take a task from a queue into one's inbox (exactly one claimant wins)."""
    with task.activation() as activation:
        if task.status != STATUS.NEW:
            raise HazardStateError(_("Someone else has already taken this task."))
        if not task.flow_task.can_assign(user, task):
            raise PermissionDenied(_("You may not take this task."))
        activation.assign(user)
    return task


def task_release(*, task: HazardTask, user: Any) -> HazardTask:
    """Put a claimed task back into its queue (the owner, or a flow manager)."""
    with task.activation() as activation:
        if task.status != STATUS.ASSIGNED:
            raise HazardStateError(_("This task is not claimed."))
        if not task.flow_task.can_unassign(user, task):
            raise PermissionDenied(_("You may not release this task."))
        activation.unassign()
    return task


def task_assign(*, task: HazardTask, assignee: Any, by: Any) -> HazardTask:
    """A department head gives a queued task of their department to a named staff member."""
    with task.activation() as activation:
        if task.status != STATUS.NEW:
            raise HazardStateError(_("Someone else has already taken this task."))
        permission = task.owner_permission or ""
        head_of = {
            p.replace("closeout_", "dept_") for p in queue_permissions(by) if "closeout_" in p
        }
        if not (by.is_superuser or permission in head_of):
            raise PermissionDenied(_("Only the head of the department can assign this task."))
        if not task.flow_task.can_assign(assignee, task):
            raise ValidationError({"assignee": [_("This person does not work in the department.")]})
        activation.assign(assignee)
    return task


# --- evidence outside a step -------------------------------------------------------------------

# Who may add which kind of evidence outside a step.
ENTERPRISE_KINDS = frozenset(
    {
        Attachment.Kind.BEFORE_PHOTO,
        Attachment.Kind.AFTER_PHOTO,
        Attachment.Kind.PLAN,
        Attachment.Kind.OTHER,
    }
)
DEPARTMENT_KINDS = frozenset(
    {Attachment.Kind.BEFORE_PHOTO, Attachment.Kind.VERIFICATION_REPORT, Attachment.Kind.OTHER}
)
REPORTER_KINDS = frozenset({Attachment.Kind.BEFORE_PHOTO, Attachment.Kind.OTHER})


@transaction.atomic
def attachment_add(*, hazard: Hazard, user: Any, kind: str, upload: UploadedFile) -> Attachment:
    """Add evidence to an open hazard outside a step, and record it on the timeline.

    The enterprise (those who rectify it) adds photos, plan documents and others; the supervising
    department before-photos, verification reports and others; the reporter before-photos and
    others. After-photos only while rectifying.
    """
    from .evidence import attachment_store
    from .permissions import dept_perm, enterprise_perm

    if not user.is_superuser:
        perms = queue_permissions(user)
        allowed: set[str] = set()
        if enterprise_perm(hazard.enterprise_id) in perms:
            allowed |= ENTERPRISE_KINDS
        if hazard.department_id and dept_perm(hazard.department_id) in perms:
            allowed |= DEPARTMENT_KINDS
        if hazard.found_by_id == user.pk:
            allowed |= REPORTER_KINDS
        if kind not in allowed:
            raise PermissionDenied(_("You may not add this kind of evidence to this hazard."))
    hazard = _hazard_locked(hazard)
    if not hazard.is_open:
        raise HazardStateError(_("Evidence cannot be added to a closed or withdrawn hazard."))
    if kind == Attachment.Kind.AFTER_PHOTO and hazard.stage != Stage.RECTIFY:
        raise HazardStateError(_("After-photos can only be added while rectifying."))
    attachment = attachment_store(hazard=hazard, kind=kind, upload=upload, user=user)
    _event(
        hazard=hazard,
        action="evidence",
        actor=user,
        from_stage=hazard.stage,
        data={"attachment": attachment.pk, "kind": kind, "name": attachment.original_name},
    )
    return attachment
