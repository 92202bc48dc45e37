"""Reads of the deadlines app: the policy in force, the sweep's claim, a subject's clocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import DateTimeField, QuerySet, Value
from django.db.models.functions import Now
from django.utils import timezone

from .models import Deadline, DeadlinePolicy
from .policy import local_date
from .registry import UnknownSubjectType, handler_for

DUE_SOON = timedelta(days=3)


class PolicyMissing(DeadlinePolicy.DoesNotExist):
    """No policy for a (grade, stage) is in force on a date: the policy table must be completed."""


def policy_for(grade: str, stage: str, on: date) -> DeadlinePolicy:
    """The policy version for ``grade`` and ``stage`` in force on ``on``: the latest
    ``effective_from`` not after ``on``. Raises ``PolicyMissing`` when none is."""
    policy = (
        DeadlinePolicy.objects.filter(grade=grade, stage=stage, effective_from__lte=on)
        .order_by("-effective_from")
        .prefetch_related("rungs")
        .first()
    )
    if policy is None:
        raise PolicyMissing(f"no deadline policy for {grade}/{stage} on {on.isoformat()}")
    return policy


def deadlines_due(*, batch: int, now: datetime | None = None) -> QuerySet[Deadline]:
    """The sweep's claim: open rows whose next action is due, oldest first, at most ``batch``,
    locked ``FOR UPDATE SKIP LOCKED`` (rows another sweep holds are left to it).

    "Due" is decided by the database clock (``now()``), not by this process's clock, so a worker with
    a skewed clock neither fires early nor late; ``now`` overrides it (tests, backfills). The filter
    repeats the partial index's predicate so the planner can use ``deadlines_deadline_due``. The
    rows carry ``db_now``, the clock the filter used, but not their policies (a batch shares a handful:
    ``policies_of`` loads each once). Evaluate inside a transaction.
    """
    clock: Any = Now() if now is None else Value(now, output_field=DateTimeField())
    return (
        Deadline.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(open=True, next_action_at__isnull=False, next_action_at__lte=clock)
        .annotate(db_now=clock)
        .order_by("next_action_at")[:batch]
    )


def policies_of(deadlines: list[Deadline]) -> None:
    """Attach each row's policy, with its rungs, loading every distinct policy once (two queries
    whatever the number of rows)."""
    wanted = {deadline.policy_id for deadline in deadlines}
    policies = DeadlinePolicy.objects.prefetch_related("rungs").in_bulk(wanted)
    for deadline in deadlines:
        deadline.policy = policies[deadline.policy_id]


def open_deadline(*, subject_type: str, subject_id: int, stage: str) -> Deadline | None:
    """The open deadline of a subject's stage, or None."""
    return Deadline.objects.filter(
        subject_type=subject_type, subject_id=subject_id, stage=stage, open=True
    ).first()


def deadlines_for_subject(*, subject_type: str, subject_id: int) -> QuerySet[Deadline]:
    """Every deadline of a subject, open and closed, oldest first (the timeline and the portal)."""
    return Deadline.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by(
        "opened_at", "pk"
    )


def deadlines_overdue(*, now: datetime | None = None) -> QuerySet[Deadline]:
    """Open deadlines whose due moment has passed."""
    return Deadline.objects.filter(open=True, due_at__lt=now or timezone.now())


@dataclass(frozen=True)
class DeadlineState:
    """How a deadline stands for a badge: overdue (and by how many calendar days) or due soon."""

    overdue: bool
    due_soon: bool
    days_overdue: int


def deadline_state(deadline: Deadline, *, now: datetime | None = None) -> DeadlineState:
    """Overdue once the due moment has passed, by the local calendar days since the due date (at
    least 1); due soon within ``DUE_SOON`` before the due moment. A closed deadline is neither."""
    now = now or timezone.now()
    if not deadline.open:
        return DeadlineState(overdue=False, due_soon=False, days_overdue=0)
    if now > deadline.due_at:
        days = (local_date(now) - local_date(deadline.due_at)).days
        return DeadlineState(overdue=True, due_soon=False, days_overdue=max(days, 1))
    return DeadlineState(overdue=False, due_soon=deadline.due_at - now <= DUE_SOON, days_overdue=0)


def outbox_still_needed(outbox: Any) -> bool:
    """The delivery re-check for a notification written by the sweep (registered with
    ``notifications.hooks``): needed while its deadline is open, still at the generation in its key,
    and its subject's handler agrees. Messages that are not about a deadline are always needed."""
    fields = _key_fields(str(getattr(outbox, "key", "")))
    if "deadline" not in fields or "gen" not in fields:
        return True
    try:
        deadline_id, generation = int(fields["deadline"]), int(fields["gen"])
    except ValueError:
        return True
    deadline = Deadline.objects.filter(pk=deadline_id).select_related("policy").first()
    if deadline is None or not deadline.open or deadline.generation != generation:
        return False
    try:
        handler = handler_for(deadline.subject_type)
    except UnknownSubjectType:
        return True
    return bool(handler.still_needed(deadline))


def _key_fields(key: str) -> dict[str, str]:
    parts = key.split(":")
    return dict(zip(parts[0::2], parts[1::2], strict=False))
