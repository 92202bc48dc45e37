"""Deadline arithmetic: due moments and the ordered actions (reminders, ladder rungs) of a policy.

All in Asia/Shanghai, whatever the server's zone: Chinese legal deadlines are local dates.

- A due *date* (an explicit date, or a count of calendar or working days) means the END of that day,
  23:59:59 local time; a count of hours is an exact moment.
- Day offsets of reminders and rungs move the due *date* by that many calendar or working days and
  fire at ``ACTION_HOUR`` (09:00) local time on the day reached, so nobody is reminded at midnight; an
  offset of 0 is the due moment itself (the "at due" chase). Hour offsets are exact.
- Actions are ordered by time (a reminder before a rung at the same moment, rungs by their number);
  ``Action.step`` is the index in that order, which ``Deadline.step`` points into.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings

from .calendar import add_working_days
from .registry import CHANNEL_INAPP, ROLE_ASSIGNEE

if TYPE_CHECKING:
    from .models import DeadlinePolicy

DEADLINE_TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)

REMINDER = "reminder"
RUNG = "rung"
DEFAULT_REMINDER_ROLES: tuple[str, ...] = (ROLE_ASSIGNEE,)
DEFAULT_REMINDER_CHANNELS: tuple[str, ...] = (CHANNEL_INAPP, "email")

CALENDAR_DAYS = "calendar_days"
WORKING_DAYS = "working_days"
HOURS = "hours"
EXPLICIT = "explicit"


@dataclass(frozen=True)
class Action:
    """One thing the sweep does for a deadline: a reminder before due or a rung after it."""

    step: int
    kind: str  # REMINDER or RUNG
    at: datetime
    action: str  # "reminder", or the rung's action (chase, supervision_letter, …)
    roles: tuple[str, ...]
    channels: tuple[str, ...]
    digest: bool = False
    rung: int | None = None  # the rung's number on the policy


def action_hour() -> int:
    """The local hour at which day-offset actions fire (``DEADLINES_ACTION_HOUR``, default 9)."""
    return int(getattr(settings, "DEADLINES_ACTION_HOUR", 9))


def local_date(moment: datetime) -> date:
    """The date of ``moment`` in Asia/Shanghai."""
    return moment.astimezone(DEADLINE_TZ).date()


def end_of_day(day: date) -> datetime:
    """23:59:59 of ``day`` in Asia/Shanghai (the moment a day-counted deadline falls due)."""
    return datetime.combine(day, END_OF_DAY, tzinfo=DEADLINE_TZ)


def due_at(policy: DeadlinePolicy, start: datetime, explicit_on: date | None = None) -> datetime:
    """The due moment of a stage under ``policy`` that starts at ``start``.

    An ``explicit_on`` date always wins (end of that day); the unit ``explicit`` without one falls back
    to ``duration`` calendar days. Working days are counted from the day after the start day.
    """
    if explicit_on is not None:
        return end_of_day(explicit_on)
    if policy.unit == HOURS:
        return start + timedelta(hours=policy.duration)
    day = local_date(start)
    if policy.unit == WORKING_DAYS:
        return end_of_day(add_working_days(day, policy.duration))
    return end_of_day(day + timedelta(days=policy.duration))


def offset_moment(due: datetime, value: int, unit: str, *, after: bool) -> datetime:
    """The moment ``value`` ``unit`` before (``after=False``) or after the due moment ``due``."""
    sign = 1 if after else -1
    if unit == HOURS:
        return due + timedelta(hours=sign * value)
    if value == 0:
        return due
    day = local_date(due)
    if unit == WORKING_DAYS:
        target = add_working_days(day, sign * value)
    else:
        target = day + timedelta(days=sign * value)
    return datetime.combine(target, time(action_hour()), tzinfo=DEADLINE_TZ)


def _reminder(entry: dict[str, Any], due: datetime) -> tuple[datetime, int, Action]:
    at = offset_moment(due, int(entry["value"]), str(entry["unit"]), after=False)
    return (
        at,
        0,
        Action(
            step=-1,
            kind=REMINDER,
            at=at,
            action=REMINDER,
            roles=tuple(entry.get("roles") or DEFAULT_REMINDER_ROLES),
            channels=tuple(entry.get("channels") or DEFAULT_REMINDER_CHANNELS),
        ),
    )


def action_times(policy: DeadlinePolicy, due: datetime) -> list[Action]:
    """Every action of ``policy`` for a deadline due at ``due``, in firing order, numbered 0…n-1."""
    timed: list[tuple[datetime, int, int, Action]] = []
    for index, entry in enumerate(policy.reminder_offsets or []):
        at, order, action = _reminder(entry, due)
        timed.append((at, order, index, action))
    for rung in policy.rungs.all():
        at = offset_moment(due, rung.offset_value, rung.offset_unit, after=True)
        action = Action(
            step=-1,
            kind=RUNG,
            at=at,
            action=rung.action,
            roles=tuple(rung.roles),
            channels=tuple(rung.channels),
            digest=rung.digest,
            rung=rung.step,
        )
        timed.append((at, 1, rung.step, action))
    timed.sort(key=lambda item: (item[0], item[1], item[2]))
    return [
        Action(
            step=step,
            kind=a.kind,
            at=a.at,
            action=a.action,
            roles=a.roles,
            channels=a.channels,
            digest=a.digest,
            rung=a.rung,
        )
        for step, (_at, _order, _ref, a) in enumerate(timed)
    ]


def first_pending_step(actions: list[Action], now: datetime) -> int:
    """Where a freshly (re)started clock begins: reminders already in the past are moot and skipped,
    but a rung is never skipped — a stage that starts already overdue is chased at once."""
    for action in actions:
        if action.kind == RUNG or action.at >= now:
            return action.step
    return len(actions)


def due_actions(
    actions: list[Action], step: int, now: datetime
) -> tuple[list[Action], list[Action], int]:
    """What a sweep at ``now`` does from ``step``: (actions to fire, actions skipped, next step).

    Every rung that has come due fires, once, in order — an escalation that was missed while the
    system was down still reaches its level. Of reminders only the latest due one fires, and none
    once a later action is due: "due in 3 days" is false once it is due tomorrow or overdue.
    """
    due = [a for a in actions[step:] if a.at <= now]
    fire: list[Action] = []
    skipped: list[Action] = []
    for index, action in enumerate(due):
        if action.kind == RUNG or index == len(due) - 1:
            fire.append(action)
        else:
            skipped.append(action)
    return fire, skipped, step + len(due)
