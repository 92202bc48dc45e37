"""State changes of deadlines: open, close and reschedule a stage's clock, and the sweep.

The subject's app calls ``deadline_open``/``deadline_close``/``deadline_reschedule`` inside ITS
transaction, so a stage and its clock change together or not at all. The sweep runs its own short
transactions (one per batch) and writes notifications through ``notifications.services.notify`` in
the same transaction that advances the clock: a crash between the two is impossible, and a repeated
sweep finds either nothing due or keys that already exist.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
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
from .registry import CHANNEL_INAPP, CHANNELS, Recipient, handler_for, recipient_token
from .selectors import deadlines_due, policy_for

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
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class TickResult:
    sweep: SweepResult = field(default_factory=SweepResult)
    timers: int = 0


def _notify(**kwargs: Any) -> int:
    # Imported when called: notifications is a lower layer, and its services may load after us.
    from workflows.notifications.services import notify

    return int(notify(**kwargs))


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


def _fire(deadline: Deadline, action: Action, *, handler: Any, window: str) -> SweepResult:
    done = SweepResult(fired=1)
    message = handler.describe(deadline, action)
    recipients = _merge(handler.resolve(deadline, action.roles))
    record = getattr(handler, "record", None)
    if record is not None:
        record(deadline, action, recipients, message)
    for recipient in recipients:
        channels = _channels_for(action, recipient)
        if not channels:
            logger.warning(
                "deadline %s step %s: %r cannot be reached", deadline.pk, action.step, recipient
            )
            continue
        token = recipient_token(recipient)
        key = (
            f"{deadline.subject_type}:{deadline.subject_id}:deadline:{deadline.pk}"
            f":gen:{deadline.generation}:step:{action.step}:user:{token}"
        )
        digest = action.digest or recipient.digest
        done.notifications += 1
        done.outbox += _notify(
            key=key,
            user_id=recipient.user_id,
            channels=channels,
            title=message.title,
            body=message.body,
            link=message.link,
            subject_type=deadline.subject_type,
            subject_id=deadline.subject_id,
            email=recipient.email,
            mobile=recipient.mobile,
            webhook_department_id=recipient.webhook_department_id,
            digest_group=f"digest:{token}:{window}" if digest else "",
            level="critical" if action.kind == RUNG else "warning",
        )
    return done


def _advance(deadline: Deadline, *, now: datetime, window: str) -> SweepResult:
    """Fire what is due for one claimed row and move its clock on (see ``policy.due_actions``)."""
    handler = handler_for(deadline.subject_type)
    if not handler.still_needed(deadline):
        # The subject's app should have closed it; close it now rather than tell anyone.
        deadline.open, deadline.closed_at, deadline.next_action_at = False, now, None
        deadline.close_reason = CLOSE_REASON_STALE
        deadline.save(update_fields=["open", "closed_at", "next_action_at", "close_reason"])
        logger.warning("deadline %s was no longer needed and is closed", deadline.pk)
        return SweepResult(closed=1)
    actions = action_times(deadline.policy, deadline.due_at)
    fire, skipped, next_step = due_actions(actions, deadline.step, now)
    done = SweepResult(skipped=len(skipped))
    for action in fire:
        done.add(_fire(deadline, action, handler=handler, window=window))
    if skipped:
        logger.info(
            "deadline %s: reminders %s superseded and skipped",
            deadline.pk,
            [a.step for a in skipped],
        )
    deadline.step = next_step
    deadline.next_action_at = actions[next_step].at if next_step < len(actions) else None
    deadline.save(update_fields=["step", "next_action_at"])
    return done


@transaction.atomic
def _sweep_batch(*, batch: int, now: datetime | None, window: str, result: SweepResult) -> str:
    rows = list(deadlines_due(batch=batch, now=now).prefetch_related("policy__rungs"))
    result.claimed += len(rows)
    for deadline in rows:
        clock: datetime = deadline.db_now  # type: ignore[attr-defined]
        window = window or clock.astimezone(DEADLINE_TZ).strftime("%Y%m%d%H%M")
        try:
            with transaction.atomic():
                result.add(_advance(deadline, now=clock, window=window))
        except Exception:
            # One broken subject must not stall the others: retry it later, say so loudly.
            logger.exception("deadline %s could not be swept; retrying later", deadline.pk)
            result.failed += 1
            Deadline.objects.filter(pk=deadline.pk).update(next_action_at=clock + RETRY_AFTER)
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
