"""Hazards on the deadline clock: each open stage has one open deadline; the sweep chases up the chain."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from workflows.deadlines.models import Deadline
from workflows.deadlines.services import deadlines_sweep
from workflows.hazards import services
from workflows.hazards.deadlines import SUBJECT
from workflows.hazards.models import Event
from workflows.notifications.models import Notification

from .personas import photo


def report(world):
    return services.hazard_report(
        reporter=world.inspector,
        enterprise=world.enterprise,
        title="报警器失效",
        description="d",
        location="l",
        source="routine",
        before_photos=[photo()],
    )


def open_rows(hazard):
    return list(
        Deadline.objects.filter(subject_type=SUBJECT, subject_id=hazard.pk, open=True).values_list(
            "stage", "generation"
        )
    )


def test_each_open_stage_has_exactly_one_open_deadline(world):
    hazard = report(world)
    assert open_rows(hazard) == [("triage", 1)]
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    hazard.refresh_from_db()
    assert open_rows(hazard) == [("rectify", 1)]
    rectify = Deadline.objects.get(subject_type=SUBJECT, subject_id=hazard.pk, stage="rectify")
    assert timezone.localtime(rectify.due_at).date() == hazard.deadline_on
    services.rectification_submit(
        hazard=hazard, user=world.safety_manager, work_done="x", after_photos=[photo()]
    )
    assert open_rows(hazard) == [("verify", 1)]
    services.rectification_verify(
        hazard=hazard, user=world.colleague, passed=False, comment="不合格"
    )
    assert open_rows(hazard) == [("rectify", 2)]  # the stage restarts with a new generation
    services.rectification_submit(
        hazard=hazard, user=world.safety_manager, work_done="y", after_photos=[photo()]
    )
    services.rectification_verify(hazard=hazard, user=world.colleague, passed=True)
    assert open_rows(hazard) == []


def test_a_handover_restarts_the_triage_clock(world):
    hazard = report(world)
    services.hazard_handover(
        hazard=hazard, user=world.inspector, department=world.market, reason="移交"
    )
    assert open_rows(hazard) == [("triage", 2)]


def test_an_extension_request_runs_a_decision_clock_and_approval_moves_rectification(world):
    hazard = report(world)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    hazard.refresh_from_db()
    later = hazard.deadline_on + timedelta(days=20)
    ext = services.extension_request(
        hazard=hazard, user=world.safety_manager, requested_on=later, reason="备件"
    )
    assert sorted(open_rows(hazard)) == [("extension_decision", 1), ("rectify", 1)]
    services.extension_decide(extension=ext, user=world.colleague, approve=True)
    assert open_rows(hazard) == [("rectify", 2)]
    rectify = Deadline.objects.get(
        subject_type=SUBJECT, subject_id=hazard.pk, stage="rectify", open=True
    )
    assert timezone.localtime(rectify.due_at).date() == later


def test_withdrawal_stops_every_clock(world):
    hazard = report(world)
    services.hazard_withdraw(hazard=hazard, user=world.colleague, reason="无效")
    assert open_rows(hazard) == []


def test_an_overdue_triage_chases_the_queue_and_the_timeline_shows_it(world):
    hazard = report(world)
    deadline = Deadline.objects.get(subject_type=SUBJECT, subject_id=hazard.pk, open=True)
    moment = deadline.due_at + timedelta(minutes=1)
    # "Due" is decided by the database clock; tests pass the moment in explicitly.
    with time_machine.travel(moment, tick=False):
        result = deadlines_sweep(now=moment)
        again = deadlines_sweep(now=moment)
    assert result.fired >= 1
    assert again.fired == 0
    chased = set(
        Notification.objects.filter(subject_type=SUBJECT, subject_id=hazard.pk).values_list(
            "recipient__username", flat=True
        )
    )
    assert {"inspector", "colleague", "head"} <= chased  # the whole queue, nobody claimed it
    assert "principal_b" not in chased
    assert Event.objects.filter(hazard=hazard, action__in=["reminder", "escalation"]).exists()
    assert Notification.objects.filter(subject_id=hazard.pk).count() == len(
        set(Notification.objects.filter(subject_id=hazard.pk).values_list("key", flat=True))
    )


def test_no_reminder_after_the_stage_is_closed(world):
    hazard = report(world)
    deadline = Deadline.objects.get(subject_type=SUBJECT, subject_id=hazard.pk, open=True)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    moment = deadline.due_at + timedelta(days=1)
    with time_machine.travel(moment, tick=False):
        deadlines_sweep(now=moment)
    assert not Notification.objects.filter(key__contains=f":deadline:{deadline.pk}:").exists()
