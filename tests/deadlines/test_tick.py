"""The every-minute tick (Celery task and management command) and the calendar system check."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from workflows.deadlines import services
from workflows.deadlines.checks import check_calendar_coverage
from workflows.deadlines.services import deadline_open, deadlines_tick
from workflows.deadlines.tasks import sweep_deadlines

from .conftest import SUBJECT, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def timers(monkeypatch):
    fired: list[int] = []

    def fire_due_timers() -> int:
        fired.append(1)
        return 2

    monkeypatch.setattr("viewflow.workflow.timers.fire_due_timers", fire_due_timers)
    return fired


def overdue_deadline(subject_id: int = 1):
    return deadline_open(
        subject_type=SUBJECT,
        subject_id=subject_id,
        stage="rectify",
        grade="general",
        explicit_on=timezone.localdate() - timedelta(days=1),
    )


def test_the_task_sweeps_and_fires_viewflow_timers(handler, notify, timers):
    overdue_deadline()
    result = sweep_deadlines()
    assert result["claimed"] == 1
    assert result["fired"] == 1
    assert result["timers"] == 2
    assert timers == [1]
    assert len(notify.calls) == 2
    assert sweep_deadlines()["claimed"] == 0


def test_the_real_viewflow_timer_dispatcher_runs_in_the_tick(handler, notify):
    assert deadlines_tick().timers == 0


def test_a_failing_sweep_still_fires_the_timers_then_raises(timers, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "deadlines_sweep", broken)
    with pytest.raises(RuntimeError, match="database gone"):
        deadlines_tick()
    assert timers == [1]


def test_the_command_sweeps_once(handler, notify, timers):
    overdue_deadline()
    overdue_deadline(2)
    call_command("sweep_deadlines", "--batch", "1")
    assert len(notify.calls) == 4
    assert timers == [1]
    call_command("sweep_deadlines")
    assert len(notify.calls) == 4


def test_the_command_loops_until_interrupted(handler, notify, timers, monkeypatch):
    def interrupt(seconds: float) -> None:
        assert 0 <= seconds <= 60
        raise KeyboardInterrupt

    monkeypatch.setattr(
        "workflows.deadlines.management.commands.sweep_deadlines.time.sleep", interrupt
    )
    call_command("sweep_deadlines", "--loop")
    assert timers == [1]


def test_the_command_refuses_a_batch_below_one():
    with pytest.raises(CommandError):
        call_command("sweep_deadlines", "--batch", "0")


@pytest.mark.parametrize(
    ("today", "missing"),
    [(local(2025, 6, 1), []), (local(2026, 6, 1), [2027]), (local(2027, 3, 1), [2027, 2028])],
)
def test_the_system_check_names_the_years_without_a_calendar(today, missing):
    with time_machine.travel(today, tick=False):
        messages = check_calendar_coverage(databases=["default"])
    assert [m.id for m in messages] == ["deadlines.W001"] * len(missing)
    assert [str(year) in m.msg for m, year in zip(messages, missing, strict=True)] == [True] * len(
        missing
    )


def test_the_system_check_needs_the_database_tag():
    assert check_calendar_coverage(databases=None) == []
