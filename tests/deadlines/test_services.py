"""Opening, closing and rescheduling a stage's clock."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.db import IntegrityError, transaction

from workflows.deadlines.models import Deadline
from workflows.deadlines.selectors import deadline_state, deadlines_for_subject, open_deadline
from workflows.deadlines.services import deadline_close, deadline_open, deadline_reschedule

from .conftest import SUBJECT, local

pytestmark = pytest.mark.django_db


def open_rectify(subject_id: int = 1, explicit_on: date | None = date(2026, 2, 13)) -> Deadline:
    return deadline_open(
        subject_type=SUBJECT,
        subject_id=subject_id,
        stage="rectify",
        grade="general",
        explicit_on=explicit_on,
    )


@time_machine.travel(local(2026, 2, 1, 10, 0), tick=False)
def test_opening_sets_due_moment_and_first_action():
    deadline = open_rectify()
    assert deadline.due_at == local(2026, 2, 13, 23, 59, 59)
    assert deadline.opened_at == local(2026, 2, 1, 10, 0)
    assert (deadline.step, deadline.next_action_at) == (0, local(2026, 2, 10, 9, 0))
    assert deadline.generation == 1
    assert deadline.policy.stage == "rectify"


@time_machine.travel(local(2026, 2, 11, 10, 0), tick=False)
def test_opening_late_skips_reminders_already_past():
    deadline = open_rectify()
    assert (deadline.step, deadline.next_action_at) == (1, local(2026, 2, 12, 9, 0))


@time_machine.travel(local(2026, 2, 20, 10, 0), tick=False)
def test_opening_an_overdue_stage_is_chased_by_the_next_sweep():
    deadline = open_rectify()
    assert (deadline.step, deadline.next_action_at) == (2, local(2026, 2, 13, 23, 59, 59))


@time_machine.travel(local(2026, 2, 1, 10, 0), tick=False)
def test_opening_twice_returns_the_open_row():
    first = open_rectify()
    again = open_rectify(explicit_on=date(2026, 5, 1))
    assert again.pk == first.pk
    assert again.due_at == first.due_at
    assert Deadline.objects.count() == 1


@time_machine.travel(local(2026, 2, 1, 10, 0), tick=False)
def test_the_database_refuses_a_second_open_row_for_a_stage():
    first = open_rectify()
    with pytest.raises(IntegrityError), transaction.atomic():
        Deadline.objects.create(
            subject_type=SUBJECT,
            subject_id=1,
            stage="rectify",
            grade="general",
            policy=first.policy,
            due_at=first.due_at,
        )


@time_machine.travel(local(2026, 2, 1, 10, 0), tick=False)
def test_opening_uses_the_start_moment_given():
    deadline = deadline_open(
        subject_type=SUBJECT,
        subject_id=1,
        stage="triage",
        grade="major",
        start_at=local(2026, 2, 12, 10, 0),
    )
    assert deadline.due_at == local(2026, 2, 24, 23, 59, 59)


def test_unknown_stage_or_grade_is_refused():
    with pytest.raises(ValueError, match="unknown stage"):
        deadline_open(subject_type=SUBJECT, subject_id=1, stage="lunch", grade="general")


@time_machine.travel(local(2026, 2, 1, 10, 0), tick=False)
def test_closing_stops_the_clock_and_a_reopened_stage_gets_the_next_generation():
    open_rectify()
    deadline_open(subject_type=SUBJECT, subject_id=1, stage="verify", grade="general")
    open_rectify(subject_id=2)
    assert (
        deadline_close(subject_type=SUBJECT, subject_id=1, stage="rectify", reason="submitted") == 1
    )
    closed = Deadline.objects.get(subject_id=1, stage="rectify")
    assert (closed.open, closed.closed_at, closed.next_action_at) == (
        False,
        local(2026, 2, 1, 10),
        None,
    )
    assert closed.close_reason == "submitted"
    assert open_deadline(subject_type=SUBJECT, subject_id=1, stage="verify") is not None
    # Verification failed: rectification again, a new row, the next generation.
    again = open_rectify(explicit_on=date(2026, 3, 13))
    assert again.pk != closed.pk
    assert again.generation == 2
    assert deadline_close(subject_type=SUBJECT, subject_id=1, reason="withdrawn") == 2
    assert not Deadline.objects.filter(subject_id=1, open=True).exists()
    assert Deadline.objects.filter(subject_id=2, open=True).count() == 1
    assert deadline_close(subject_type=SUBJECT, subject_id=1, reason="again") == 0
    assert [d.stage for d in deadlines_for_subject(subject_type=SUBJECT, subject_id=1)] == [
        "rectify",
        "verify",
        "rectify",
    ]


def test_rescheduling_bumps_the_generation_and_restarts_the_ladder():
    with time_machine.travel(local(2026, 2, 1, 10, 0), tick=False):
        deadline = open_rectify()
    with time_machine.travel(local(2026, 2, 12, 10, 0), tick=False):
        moved = deadline_reschedule(
            subject_type=SUBJECT, subject_id=1, stage="rectify", explicit_on=date(2026, 3, 31)
        )
    assert moved.pk == deadline.pk
    assert moved.generation == 2
    assert moved.due_at == local(2026, 3, 31, 23, 59, 59)
    assert (moved.step, moved.next_action_at) == (0, local(2026, 3, 28, 9, 0))
    moved.refresh_from_db()
    assert moved.generation == 2


def test_rescheduling_a_stage_without_a_clock_fails():
    with pytest.raises(Deadline.DoesNotExist):
        deadline_reschedule(
            subject_type=SUBJECT, subject_id=1, stage="rectify", explicit_on=date(2026, 3, 1)
        )


def test_badge_state_overdue_and_due_soon():
    with time_machine.travel(local(2026, 2, 1, 10, 0), tick=False):
        deadline = open_rectify()
    state = deadline_state(deadline, now=local(2026, 2, 1, 10))
    assert (state.overdue, state.due_soon) == (False, False)
    assert deadline_state(deadline, now=local(2026, 2, 11, 10)).due_soon
    late = deadline_state(deadline, now=local(2026, 2, 16, 8))
    assert (late.overdue, late.days_overdue) == (True, 3)
    deadline.open = False
    assert not deadline_state(deadline, now=local(2026, 2, 16, 8)).overdue


def test_counting_working_days_into_a_year_without_a_calendar_is_logged(monkeypatch):
    from workflows.deadlines import services

    warned: list[tuple] = []
    monkeypatch.setattr(services.logger, "warning", lambda *args: warned.append(args))
    with time_machine.travel(local(2026, 12, 28, 10, 0), tick=False):
        deadline = deadline_open(
            subject_type=SUBJECT, subject_id=1, stage="triage", grade="general"
        )
    # 29, 30, 31 Dec 2026 are working days; the ladder runs into 2027, which has no calendar yet.
    assert deadline.due_at == local(2026, 12, 31, 23, 59, 59)
    assert warned
    assert warned[0][-1] == [2027]
    warned.clear()
    with time_machine.travel(local(2026, 3, 2, 10, 0), tick=False):
        deadline_open(subject_type=SUBJECT, subject_id=2, stage="triage", grade="general")
    assert warned == []
