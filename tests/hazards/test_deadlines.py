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


def _due_hazards(world, count):
    hazards = [report(world) for _ in range(count)]
    rows = Deadline.objects.filter(subject_type=SUBJECT, open=True)
    return hazards, max(row.due_at for row in rows) + timedelta(minutes=1)


def test_the_sweep_runs_a_constant_number_of_queries_however_many_hazards_are_due(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for count in (1, 12):
        Deadline.objects.filter(subject_type=SUBJECT, open=True).update(
            open=False, closed_at=timezone.now()
        )
        _hazards, moment = _due_hazards(world, count)
        with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as q:
            result = deadlines_sweep(now=moment)
        assert result.claimed == count
        assert result.fired >= count
        assert result.failed == 0
        counts.append(len(q))
    assert counts[0] == counts[1], counts


def test_the_batch_names_the_same_people_as_the_handler_asked_row_by_row(world):
    from workflows.deadlines.policy import action_times
    from workflows.hazards.deadlines import HazardBatch, HazardDeadlineHandler

    hazards, _moment = _due_hazards(world, 3)
    services.hazard_triage(hazard=hazards[1], user=world.colleague, grade="general")
    rows = list(Deadline.objects.filter(subject_type=SUBJECT, open=True).select_related("policy"))
    batch = HazardBatch(rows)
    handler = HazardDeadlineHandler()
    roles = (
        "assignee",
        "enterprise_principal",
        "enterprise_safety",
        "department_staff",
        "department_head",
        "territorial",
        "county_committee",
        "city_committee",
    )
    for row in rows:
        one = handler.resolve(row, roles)
        assert sorted(map(repr, batch.resolve(row, roles))) == sorted(map(repr, one))
        assert batch.still_needed(row) is handler.still_needed(row) is True
        action = action_times(row.policy, row.due_at)[0]
        assert batch.describe(row, action) == handler.describe(row, action)
    assert {r.role for row in rows for r in batch.resolve(row, roles)} >= {
        "assignee",
        "enterprise_principal",
        "department_head",
        "city_committee",
    }


def test_a_batch_whose_writes_fail_is_swept_row_by_row_and_only_the_bad_row_waits(
    world, monkeypatch
):
    from workflows.deadlines import services as deadline_services

    hazards, moment = _due_hazards(world, 3)
    bad = Deadline.objects.get(subject_type=SUBJECT, subject_id=hazards[1].pk, open=True)
    # Not always 0: a rung that fell before the clock opened (a weekend report) is never fired.
    step_before = bad.step
    real = deadline_services._notify_many

    def refuse_bad(requests):
        if any(f":deadline:{bad.pk}:" in r["key"] for r in requests):
            raise deadline_services.IntegrityError("the database refused a row")
        return real(requests)

    monkeypatch.setattr(deadline_services, "_notify_many", refuse_bad)
    with time_machine.travel(moment, tick=False):
        result = deadlines_sweep(now=moment)
    assert (result.claimed, result.failed) == (3, 1)
    told = set(Notification.objects.values_list("subject_id", flat=True))
    assert told == {hazards[0].pk, hazards[2].pk}
    bad.refresh_from_db()
    assert bad.next_action_at == moment + deadline_services.RETRY_AFTER
    assert bad.step == step_before  # its ladder did not move: it fires again after the retry delay
    events = Event.objects.filter(action__in=["reminder", "escalation"])
    assert set(events.values_list("hazard_id", flat=True)) == {hazards[0].pk, hazards[2].pk}
