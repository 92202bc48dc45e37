"""State changes of deadlines: open, close and reschedule a stage's clock, and the sweep.

The subject's app calls ``deadline_open``/``deadline_close``/``deadline_reschedule`` inside ITS
transaction, so a stage and its clock change together or not at all. The sweep runs its own short
transactions (one per batch) and writes notifications through ``notifications.services.notify_many`` in
the same transaction that advances the clock: a crash between the two is impossible, and a repeated
sweep finds either nothing due or keys that already exist.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .calendar import uncovered_years
from .models import Deadline, DeadlinePolicy, EscalationRung, Grade, Stage
from .policy import (
    DEADLINE_TZ,
    RUNG,
    WORKING_DAYS,
    Action,
    action_times,
    due_actions,
    due_at,
    first_pending_step,
    local_date,
)
from .registry import (
    CHANNEL_INAPP,
    CHANNELS,
    Message,
    Recipient,
    SubjectBatch,
    bind,
    handler_for,
    recipient_token,
)
from .selectors import deadlines_due, policies_of, policy_for

logger = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=5)
MAX_BATCHES = 1000
CLOSE_REASON_STALE = "stale"  # the subject said the stage no longer needs it


# --- Opening, closing, rescheduling -----------------------------------------------------------


def _open_row(*, subject_type: str, subject_id: int, stage: str) -> Deadline | None:
    return (
        Deadline.objects.select_for_update()
        .filter(subject_type=subject_type, subject_id=subject_id, stage=stage, open=True)
        .first()
    )


def _set_clock(deadline: Deadline, *, now: datetime) -> None:
    actions = action_times(deadline.policy, deadline.due_at)
    deadline.step = first_pending_step(actions, now)
    deadline.next_action_at = actions[deadline.step].at if deadline.step < len(actions) else None


def _warn_if_uncovered(deadline: Deadline, *, start: datetime) -> None:
    """Log when working days were counted over a year whose calendar has not been entered."""
    if deadline.policy.unit != WORKING_DAYS and not any(
        r.offset_unit == WORKING_DAYS for r in deadline.policy.rungs.all()
    ):
        return
    missing = uncovered_years(local_date(start), local_date(deadline.due_at) + timedelta(days=31))
    if missing:
        logger.warning(
            "deadline of %s:%s %s counts working days over %s without an official calendar "
            "(Monday-Friday fallback)",
            deadline.subject_type,
            deadline.subject_id,
            deadline.stage,
            missing,
        )


@transaction.atomic
def deadline_open(
    *,
    subject_type: str,
    subject_id: int,
    stage: str,
    grade: str,
    start_at: datetime | None = None,
    explicit_on: date | None = None,
) -> Deadline:
    """Start the clock of a subject's stage under the policy in force on the start day.

    Idempotent: when the stage already has an open deadline, that row is returned unchanged (use
    ``deadline_reschedule`` to move it). A stage opened again after it was closed (a failed
    verification sends the hazard back to rectification) gets a new row whose generation follows
    the last one. Reminders already in the past are skipped; a stage that starts overdue is chased
    by the next sweep.
    """
    if stage not in Stage.values or grade not in Grade.values:
        raise ValueError(f"unknown stage {stage!r} or grade {grade!r}")
    existing = _open_row(subject_type=subject_type, subject_id=subject_id, stage=stage)
    if existing is not None:
        return existing
    start = start_at or timezone.now()
    policy = policy_for(grade, stage, local_date(start))
    last = Deadline.objects.filter(
        subject_type=subject_type, subject_id=subject_id, stage=stage
    ).aggregate(last=Max("generation"))["last"]
    deadline = Deadline(
        subject_type=subject_type,
        subject_id=subject_id,
        stage=stage,
        grade=grade,
        policy=policy,
        generation=(last or 0) + 1,
        due_at=due_at(policy, start, explicit_on),
        opened_at=start,
    )
    _warn_if_uncovered(deadline, start=start)
    _set_clock(deadline, now=timezone.now())
    try:
        with transaction.atomic():
            deadline.save()
    except IntegrityError:
        # Another transaction opened the same stage between our read and our insert.
        row = _open_row(subject_type=subject_type, subject_id=subject_id, stage=stage)
        if row is None:
            raise
        return row
    return deadline


@transaction.atomic
def deadline_close(
    *, subject_type: str, subject_id: int, stage: str | None = None, reason: str
) -> int:
    """Stop the clocks of a subject: the open row of ``stage``, or every open row when ``stage`` is
    None. Returns how many were closed. Nothing more is sent for them, and messages already written
    but not yet delivered are dropped by the delivery re-check."""
    rows = Deadline.objects.filter(subject_type=subject_type, subject_id=subject_id, open=True)
    if stage is not None:
        rows = rows.filter(stage=stage)
    return rows.update(
        open=False, closed_at=timezone.now(), close_reason=reason[:200], next_action_at=None
    )


@transaction.atomic
def deadline_reschedule(
    *, subject_type: str, subject_id: int, stage: str, explicit_on: date
) -> Deadline:
    """Move a stage's due date to the end of ``explicit_on`` (an approved extension).

    The generation is bumped, so every notification key afterwards is new and nothing of the old
    generation is sent (delivery drops what was written for it). The ladder restarts at the first
    action still to come; ``Deadline.DoesNotExist`` when the stage has no open deadline.
    """
    deadline = (
        Deadline.objects.select_for_update(of=("self",))
        .select_related("policy")
        .get(subject_type=subject_type, subject_id=subject_id, stage=stage, open=True)
    )
    deadline.generation += 1
    deadline.due_at = due_at(deadline.policy, deadline.opened_at, explicit_on)
    _warn_if_uncovered(deadline, start=timezone.now())
    _set_clock(deadline, now=timezone.now())
    deadline.save(update_fields=["generation", "due_at", "step", "next_action_at"])
    return deadline


# --- Policies -------------------------------------------------------------------------------------


@transaction.atomic
def policy_new_version(*, policy: DeadlinePolicy, effective_from: date) -> DeadlinePolicy:
    """Copy ``policy`` and its ladder as a new version in force from ``effective_from``.

    Policies that deadlines use are never edited (running clocks keep their rules); a change is a
    new version. Refuses a date on or before the source's, or one that already has a version.
    """
    if effective_from <= policy.effective_from:
        raise ValidationError(
            _("A new version must take effect after %(date)s.")
            % {"date": policy.effective_from.isoformat()}
        )
    if DeadlinePolicy.objects.filter(
        grade=policy.grade, stage=policy.stage, effective_from=effective_from
    ).exists():
        raise ValidationError(
            _("%(policy)s already has a version effective from %(date)s.")
            % {"policy": policy.get_stage_display(), "date": effective_from.isoformat()}
        )
    copy = DeadlinePolicy.objects.create(
        grade=policy.grade,
        stage=policy.stage,
        effective_from=effective_from,
        duration=policy.duration,
        unit=policy.unit,
        reminder_offsets=policy.reminder_offsets,
        note=policy.note,
    )
    EscalationRung.objects.bulk_create(
        EscalationRung(
            policy=copy,
            step=rung.step,
            offset_value=rung.offset_value,
            offset_unit=rung.offset_unit,
            action=rung.action,
            roles=rung.roles,
            channels=rung.channels,
            digest=rung.digest,
        )
        for rung in policy.rungs.all()
    )
    return copy


# --- The sweep --------------------------------------------------------------------------------


@dataclass
class SweepResult:
    """What one sweep did. ``notifications`` counts notify() calls (one per recipient and action);
    ``outbox`` the rows notify() reported as new (in-app and outbox), 0 for a repeat."""

    claimed: int = 0
    fired: int = 0
    skipped: int = 0
    notifications: int = 0
    outbox: int = 0
    closed: int = 0
    failed: int = 0

    def add(self, other: SweepResult) -> None:
        for counter in fields(self):
            setattr(self, counter.name, getattr(self, counter.name) + getattr(other, counter.name))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class TickResult:
    sweep: SweepResult = field(default_factory=SweepResult)
    timers: int = 0


def _notify_many(requests: Sequence[dict[str, Any]]) -> int:
    """Write the batch's notifications (keyword dicts of ``notifications.services.notify``)."""
    # Imported when called: notifications is a lower layer, and its services may load after us.
    from workflows.notifications.services import NotificationRequest, notify_many

    if not requests:
        return 0
    return int(notify_many([NotificationRequest(**request) for request in requests]))


def _merge(recipients: Iterable[Recipient]) -> list[Recipient]:
    """One recipient per key token: a person named by two roles is told once."""
    merged: dict[str, Recipient] = {}
    for recipient in recipients:
        token = recipient_token(recipient)
        seen = merged.get(token)
        if seen is None:
            merged[token] = recipient
            continue
        channels = (
            ()
            if not seen.channels or not recipient.channels
            else tuple(dict.fromkeys(seen.channels + recipient.channels))
        )
        merged[token] = replace(
            seen,
            channels=channels,
            email=seen.email or recipient.email,
            mobile=seen.mobile or recipient.mobile,
            digest=seen.digest or recipient.digest,
        )
    return list(merged.values())


def _channels_for(action: Action, recipient: Recipient) -> list[str]:
    """The action's channels the recipient can receive; in-app is always written for a user."""
    reachable = set(recipient.channels or CHANNELS)
    channels = [c for c in action.channels if c in reachable and c in CHANNELS]
    if recipient.user_id is None:
        channels = [c for c in channels if c != CHANNEL_INAPP]
    elif CHANNEL_INAPP not in channels:
        channels.insert(0, CHANNEL_INAPP)
    if recipient.webhook_department_id is None:
        channels = [c for c in channels if c != "webhook"]
    return channels


@dataclass
class _RowPlan:
    """What the sweep will write for one claimed row: its new clock and its notifications."""

    deadline: Deadline
    closed: bool = False
    step: int = 0
    next_action_at: datetime | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)
    result: SweepResult = field(default_factory=SweepResult)


def _requests(
    deadline: Deadline,
    action: Action,
    recipients: Sequence[Recipient],
    message: Message,
    *,
    window: str,
) -> list[dict[str, Any]]:
    """The notify() arguments of one fired action, one per reachable recipient."""
    requests = []
    for recipient in recipients:
        channels = _channels_for(action, recipient)
        if not channels:
            # A department's webhook when the action does not go out by webhook (a user always
            # has the in-app channel): nothing to send to this recipient for this action.
            logger.debug("deadline %s step %s: nothing for %r", deadline.pk, action.step, recipient)
            continue
        token = recipient_token(recipient)
        digest = action.digest or recipient.digest
        requests.append(
            {
                "key": (
                    f"{deadline.subject_type}:{deadline.subject_id}:deadline:{deadline.pk}"
                    f":gen:{deadline.generation}:step:{action.step}:user:{token}"
                ),
                "user_id": recipient.user_id,
                "channels": channels,
                "title": message.title,
                "body": message.body,
                "link": message.link,
                "subject_type": deadline.subject_type,
                "subject_id": deadline.subject_id,
                "email": recipient.email,
                "mobile": recipient.mobile,
                "webhook_department_id": recipient.webhook_department_id,
                "digest_group": f"digest:{token}:{window}" if digest else "",
                "level": "critical" if action.kind == RUNG else "warning",
            }
        )
    return requests


def _plan(
    deadline: Deadline,
    *,
    view: SubjectBatch,
    now: datetime,
    window: str,
    ladders: dict[tuple[int, datetime], list[Action]],
) -> _RowPlan:
    """Decide what is due for one claimed row (see ``policy.due_actions``) without writing to the
    database: every question is asked before anything is recorded, so a row that fails leaves no
    trace. A row its subject no longer needs is closed rather than told to anyone."""
    if not view.still_needed(deadline):
        return _RowPlan(deadline, closed=True, result=SweepResult(closed=1))
    ladder = (deadline.policy_id, deadline.due_at)
    if ladder not in ladders:  # day-counted stages fall due at 23:59:59: rows share due moments
        ladders[ladder] = action_times(deadline.policy, deadline.due_at)
    actions = ladders[ladder]
    fire, skipped, next_step = due_actions(actions, deadline.step, now)
    plan = _RowPlan(
        deadline,
        step=next_step,
        next_action_at=actions[next_step].at if next_step < len(actions) else None,
        result=SweepResult(skipped=len(skipped), fired=len(fire)),
    )
    answers = [
        (action, view.describe(deadline, action), _merge(view.resolve(deadline, action.roles)))
        for action in fire
    ]
    for action, message, recipients in answers:
        view.record(deadline, action, recipients, message)
        plan.notifications.extend(_requests(deadline, action, recipients, message, window=window))
    plan.result.notifications = len(plan.notifications)
    return plan


def _write(plans: Sequence[_RowPlan], views: Iterable[SubjectBatch], *, now: datetime) -> int:
    """Write a batch's plans: the subjects' records, the notifications, the clocks. Returns the
    number of new notification rows."""
    for view in views:
        view.flush()
    outbox = _notify_many([request for plan in plans for request in plan.notifications])
    stale = [plan.deadline.pk for plan in plans if plan.closed]
    if stale:
        Deadline.objects.filter(pk__in=stale).update(
            open=False, closed_at=now, next_action_at=None, close_reason=CLOSE_REASON_STALE
        )
        logger.warning("deadlines %s were no longer needed and are closed", stale)
    _move_clocks([plan for plan in plans if not plan.closed])
    return outbox


def _move_clocks(plans: Sequence[_RowPlan]) -> None:
    """Set each row's ladder step and next action in one statement."""
    if not plans:
        return
    if connection.vendor != "postgresql":  # the embedded demo: Django's CASE … WHEN update
        Deadline.objects.bulk_update(
            [
                Deadline(pk=p.deadline.pk, step=p.step, next_action_at=p.next_action_at)
                for p in plans
            ],
            ["step", "next_action_at"],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE deadlines_deadline AS d SET step = v.step, next_action_at = v.next_action_at "
            "FROM unnest(%s::bigint[], %s::integer[], %s::timestamptz[]) "
            "AS v(id, step, next_action_at) WHERE d.id = v.id",
            [
                [p.deadline.pk for p in plans],
                [p.step for p in plans],
                [p.next_action_at for p in plans],
            ],
        )


def _sweep_rows(rows: Sequence[Deadline], *, window: str) -> tuple[SweepResult, list[int]]:
    """Plan and write ``rows`` (claimed, locked, all with the same ``db_now``); returns the result
    and the ids of rows that failed (to be retried later)."""
    result = SweepResult()
    failed: list[int] = []
    views: dict[str, SubjectBatch] = {}
    ladders: dict[tuple[int, datetime], list[Action]] = {}
    plans: list[_RowPlan] = []
    for deadline in rows:
        clock: datetime = deadline.db_now  # type: ignore[attr-defined]
        try:
            view = views.get(deadline.subject_type)
            if view is None:
                subject_rows = [row for row in rows if row.subject_type == deadline.subject_type]
                view = bind(handler_for(deadline.subject_type), subject_rows)
                views[deadline.subject_type] = view
            plans.append(_plan(deadline, view=view, now=clock, window=window, ladders=ladders))
        except Exception:
            # One broken subject must not stall the others: retry it later, say so loudly.
            logger.exception("deadline %s could not be swept; retrying later", deadline.pk)
            failed.append(deadline.pk)
    superseded = [plan.deadline.pk for plan in plans if plan.result.skipped]
    if superseded:
        logger.info(
            "%s deadline(s) fired only their latest due reminder; earlier ones were superseded "
            "and skipped (first: %s)",
            len(superseded),
            superseded[:20],
        )
    if plans:
        result.outbox = _write(plans, views.values(), now=plans[0].deadline.db_now)  # type: ignore[attr-defined]
    for plan in plans:
        result.add(plan.result)
    return result, failed


@transaction.atomic
def _sweep_batch(*, batch: int, now: datetime | None, window: str, result: SweepResult) -> str:
    """Claim one batch and sweep it with a constant number of queries per subject type. When the
    batch's writes fail, they are rolled back and the rows are swept one by one, each in its own
    savepoint, so a row the database refuses is retried later and the others go through."""
    rows = list(deadlines_due(batch=batch, now=now))
    result.claimed += len(rows)
    if not rows:
        return window
    policies_of(rows)
    clock: datetime = rows[0].db_now  # type: ignore[attr-defined]
    window = window or clock.astimezone(DEADLINE_TZ).strftime("%Y%m%d%H%M")
    try:
        with transaction.atomic():
            done, failed = _sweep_rows(rows, window=window)
    except Exception:
        logger.exception("a sweep batch of %s rows failed; sweeping its rows one by one", len(rows))
        done, failed = SweepResult(), []
        for deadline in rows:
            try:
                with transaction.atomic():
                    one, broken = _sweep_rows([deadline], window=window)
            except Exception:
                logger.exception("deadline %s could not be swept; retrying later", deadline.pk)
                failed.append(deadline.pk)
                continue
            done.add(one)
            failed.extend(broken)
    result.add(done)
    if failed:
        result.failed += len(failed)
        Deadline.objects.filter(pk__in=failed).update(next_action_at=clock + RETRY_AFTER)
    return window


def deadlines_sweep(*, batch: int = 500, now: datetime | None = None) -> SweepResult:
    """Fire every due reminder and rung, in batches of ``batch`` rows, each batch one transaction.

    Rows are claimed ``FOR UPDATE SKIP LOCKED``, so concurrent sweeps (two beats, a cron next to
    beat) split the work instead of doubling it, and "due" is the database's clock (``now``
    overrides it for tests). Each notification key names the deadline, generation, step and
    recipient; a repeat inserts nothing. Digest recipients of one sweep share the window (the
    sweep's first minute, local time). Not atomic as a whole: call it outside a transaction.
    """
    result = SweepResult()
    window = ""
    for _batch in range(MAX_BATCHES):
        claimed_before = result.claimed
        window = _sweep_batch(batch=batch, now=now, window=window, result=result)
        if result.claimed - claimed_before < batch:
            break
    return result


def _fire_viewflow_timers() -> int:
    try:
        from viewflow.workflow.timers import fire_due_timers
    except ImportError:  # pragma: no cover - viewflow without DB timers
        return 0
    return int(fire_due_timers())


def deadlines_tick(*, batch: int = 500) -> TickResult:
    """The every-minute tick: the deadline sweep, then viewflow's due ``flow.Timer`` tasks. A
    failing sweep does not keep the timers from firing (its error is raised afterwards)."""
    tick = TickResult()
    error: Exception | None = None
    try:
        tick.sweep = deadlines_sweep(batch=batch)
    except Exception as exc:
        logger.exception("deadline sweep failed")
        error = exc
    tick.timers = _fire_viewflow_timers()
    if error is not None:
        raise error
    return tick
