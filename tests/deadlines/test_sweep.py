"""The sweep: each action fires at its moment and only then, once per key, never for a stale clock."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone

from workflows.deadlines.models import Deadline
from workflows.deadlines.selectors import outbox_still_needed
from workflows.deadlines.services import (
    CLOSE_REASON_STALE,
    RETRY_AFTER,
    deadline_close,
    deadline_open,
    deadline_reschedule,
    deadlines_sweep,
)

from .conftest import SUBJECT, local

pytestmark = pytest.mark.django_db

OPENED = local(2026, 2, 1, 10, 0)
# The general rectification policy for a deadline due Friday 13 Feb 2026 (see test_policy).
MOMENTS = [
    local(2026, 2, 10, 9, 0),  # 0 reminder, 3 days before
    local(2026, 2, 12, 9, 0),  # 1 reminder, 1 day before
    local(2026, 2, 13, 23, 59, 59),  # 2 chase at due
    local(2026, 2, 25, 9, 0),  # 3 supervision letter, +3 working days over the Spring Festival
    local(2026, 3, 2, 9, 0),  # 4 circular, +7 working days
    local(2026, 3, 12, 9, 0),  # 5 admonition, +15 working days
]
EXPECTED = [
    [("101", ["inapp", "email"], "")],
    [("101", ["inapp", "sms"], "")],
    [("101", ["inapp", "sms"], ""), ("102", ["inapp", "sms"], "")],
    [("103", ["inapp", "email"], "digest:103:202602250900")],
    [
        ("104", ["inapp", "email"], "digest:104:202603020900"),
        ("105", ["inapp", "email"], "digest:105:202603020900"),
    ],
    [
        ("106", ["inapp", "email"], "digest:106:202603120900"),
        ("city_committee.dept9", ["webhook"], "digest:city_committee.dept9:202603120900"),
    ],
]


def open_rectify(subject_id: int = 1) -> Deadline:
    with time_machine.travel(OPENED, tick=False):
        return deadline_open(
            subject_type=SUBJECT,
            subject_id=subject_id,
            stage="rectify",
            grade="general",
            explicit_on=date(2026, 2, 13),
        )


def sweep_at(moment, **kwargs):
    with time_machine.travel(moment, tick=False):
        return deadlines_sweep(now=timezone.now(), **kwargs)


def test_each_action_fires_at_its_moment_and_only_then(handler, notify):
    deadline = open_rectify()
    for step, moment in enumerate(MOMENTS):
        before = len(notify.calls)
        early = sweep_at(moment - timedelta(seconds=1))
        assert (early.claimed, len(notify.calls)) == (0, before), f"step {step} fired early"
        on_time = sweep_at(moment)
        assert (on_time.claimed, on_time.fired) == (1, 1), f"step {step}"
        made = notify.calls[before:]
        assert [
            (c["key"].rsplit(":user:", 1)[1], list(c["channels"]), c["digest_group"]) for c in made
        ] == EXPECTED[step]
        assert all(
            c["key"].startswith(f"{SUBJECT}:1:deadline:{deadline.pk}:gen:1:step:{step}:user:")
            for c in made
        )
        again = sweep_at(moment)
        assert (again.claimed, len(notify.calls)) == (0, before + len(made)), f"step {step} twice"
    deadline.refresh_from_db()
    assert (deadline.step, deadline.next_action_at, deadline.open) == (6, None, True)
    assert sweep_at(local(2026, 12, 1)).claimed == 0
    assert notify.key_counts().most_common(1)[0][1] == 1


def test_notifications_carry_the_handlers_message_and_levels(handler, notify):
    open_rectify()
    sweep_at(MOMENTS[0])
    sweep_at(MOMENTS[2])
    reminder, chase = notify.calls[0], notify.calls[1]
    assert reminder["title"] == "reminder rectify"
    assert reminder["link"] == "/things/1/"
    assert (reminder["level"], chase["level"]) == ("warning", "critical")
    assert (reminder["subject_type"], reminder["subject_id"]) == (SUBJECT, 1)
    assert reminder["user_id"] == 101


def test_a_sweep_after_downtime_fires_every_missed_rung_once_and_skips_stale_reminders(
    handler, notify
):
    deadline = open_rectify()
    result = sweep_at(local(2026, 2, 26, 12, 0))
    assert (result.claimed, result.fired, result.skipped) == (1, 2, 2)
    assert notify.actions() == ["2", "3"]
    deadline.refresh_from_db()
    assert (deadline.step, deadline.next_action_at) == (4, MOMENTS[4])
    assert [a for _pk, a, _s in handler.described] == ["chase", "supervision_letter"]


def test_only_the_latest_missed_reminder_is_sent(handler, notify):
    open_rectify()
    result = sweep_at(local(2026, 2, 12, 18, 0))
    assert (result.fired, result.skipped) == (1, 1)
    assert notify.actions() == ["1"]


def test_the_keys_are_the_same_if_an_action_were_ever_repeated(handler, notify):
    deadline = open_rectify()
    first = sweep_at(MOMENTS[2])
    assert first.outbox == 2 * 2  # two recipients, in-app + SMS each
    # As if the clock had not been advanced (e.g. restored from a backup): the same keys again.
    Deadline.objects.filter(pk=deadline.pk).update(step=2, next_action_at=MOMENTS[2])
    second = sweep_at(MOMENTS[2])
    assert (second.claimed, second.notifications, second.outbox) == (1, 2, 0)
    assert set(notify.key_counts().values()) == {2}


def test_sweeping_many_rows_in_small_batches_claims_each_once(handler, notify):
    for subject_id in range(1, 8):
        open_rectify(subject_id)
    result = sweep_at(MOMENTS[2], batch=3)
    assert (result.claimed, result.fired) == (7, 7)
    assert len(notify.calls) == 14
    assert max(notify.key_counts().values()) == 1
    assert sweep_at(MOMENTS[2], batch=3).claimed == 0


def test_rescheduled_deadline_never_produces_a_key_of_the_old_generation(handler, notify):
    deadline = open_rectify()
    sweep_at(MOMENTS[0])
    assert notify.keys == [f"{SUBJECT}:1:deadline:{deadline.pk}:gen:1:step:0:user:101"]
    with time_machine.travel(local(2026, 2, 11, 15, 0), tick=False):
        deadline_reschedule(
            subject_type=SUBJECT, subject_id=1, stage="rectify", explicit_on=date(2026, 3, 31)
        )
    before = len(notify.calls)
    # Every old moment, then every day until the new ladder is exhausted.
    for moment in MOMENTS[1:]:
        sweep_at(moment)
    day = local(2026, 3, 14, 9, 0)
    while day < local(2026, 5, 31):
        sweep_at(day)
        day += timedelta(days=1)
    later = notify.keys[before:]
    assert later, "the new generation fires"
    assert all(":gen:2:" in key for key in later)
    steps = [key.split(":step:")[1].split(":")[0] for key in later]
    assert sorted(set(steps)) == ["0", "1", "2", "3", "4", "5"]
    assert max(notify.key_counts().values()) == 1
    # Delivery of anything written for generation 1 is dropped; generation 2 still goes.
    assert not outbox_still_needed(SimpleNamespace(key=notify.keys[0]))
    assert outbox_still_needed(SimpleNamespace(key=later[0]))


def test_closing_the_stage_stops_everything(handler, notify):
    deadline = open_rectify()
    sweep_at(MOMENTS[0])
    with time_machine.travel(local(2026, 2, 11), tick=False):
        deadline_close(subject_type=SUBJECT, subject_id=1, stage="rectify", reason="rectified")
    before = len(notify.calls)
    for moment in [*MOMENTS, local(2026, 12, 31)]:
        assert sweep_at(moment).claimed == 0
    assert len(notify.calls) == before
    assert not outbox_still_needed(SimpleNamespace(key=notify.keys[0]))
    deadline.refresh_from_db()
    assert deadline.next_action_at is None


def test_a_stale_row_the_subject_forgot_to_close_is_closed_not_notified(handler, notify):
    deadline = open_rectify()
    handler.needed = False
    result = sweep_at(MOMENTS[0])
    assert (result.claimed, result.closed, result.fired) == (1, 1, 0)
    assert notify.calls == []
    deadline.refresh_from_db()
    assert (deadline.open, deadline.close_reason) == (False, CLOSE_REASON_STALE)


def test_a_failing_subject_is_retried_later_without_blocking_the_others(
    handler, notify, monkeypatch
):
    broken = open_rectify(1)
    healthy = open_rectify(2)
    describe = handler.describe

    def flaky(deadline, action):
        if deadline.pk == broken.pk:
            raise RuntimeError("subject app is broken")
        return describe(deadline, action)

    monkeypatch.setattr(handler, "describe", flaky)
    result = sweep_at(MOMENTS[0])
    assert (result.claimed, result.fired, result.failed) == (2, 1, 1)
    broken.refresh_from_db()
    healthy.refresh_from_db()
    assert (broken.step, broken.next_action_at) == (0, MOMENTS[0] + RETRY_AFTER)
    assert (healthy.step, healthy.next_action_at) == (1, MOMENTS[1])
    monkeypatch.setattr(handler, "describe", describe)
    retried = sweep_at(MOMENTS[0] + RETRY_AFTER)
    assert (retried.claimed, retried.fired) == (1, 1)
    assert sorted(k.split(":")[1] for k in notify.keys) == ["1", "2"]


def test_an_unregistered_subject_type_is_retried_later(notify):
    deadline = open_rectify()
    result = sweep_at(MOMENTS[0])
    assert (result.claimed, result.failed) == (1, 1)
    deadline.refresh_from_db()
    assert deadline.next_action_at == MOMENTS[0] + RETRY_AFTER


def test_due_is_decided_by_the_database_clock_not_the_workers(handler, notify):
    real_today = timezone.localdate()
    overdue = deadline_open(
        subject_type=SUBJECT,
        subject_id=1,
        stage="rectify",
        grade="general",
        explicit_on=real_today - timedelta(days=2),
    )
    future = deadline_open(
        subject_type=SUBJECT,
        subject_id=2,
        stage="rectify",
        grade="general",
        explicit_on=real_today + timedelta(days=30),
    )
    # A worker whose clock runs two months fast must not fire the future deadline.
    with time_machine.travel(timezone.now() + timedelta(days=60), tick=False):
        result = deadlines_sweep()
    assert result.claimed == 1
    assert {k.split(":")[1] for k in notify.keys} == {"1"}
    overdue.refresh_from_db()
    future.refresh_from_db()
    assert overdue.step == 3  # the chase fired (reminders had passed before it opened)
    assert future.step == 0
    # And one whose clock runs slow still fires what the database says is due.
    Deadline.objects.filter(pk=overdue.pk).update(
        next_action_at=timezone.now() - timedelta(hours=1)
    )
    with time_machine.travel(timezone.now() - timedelta(days=365), tick=False):
        assert deadlines_sweep().claimed == 1


def test_messages_about_other_things_are_always_still_needed(handler):
    assert outbox_still_needed(SimpleNamespace(key="password-reset:7"))
    assert outbox_still_needed(SimpleNamespace(key=f"{SUBJECT}:1:deadline:x:gen:1"))
    assert not outbox_still_needed(SimpleNamespace(key=f"{SUBJECT}:1:deadline:999999:gen:1:step:0"))


def test_the_handler_decides_at_delivery_too(handler, notify):
    open_rectify()
    sweep_at(MOMENTS[0])
    outbox = SimpleNamespace(key=notify.keys[0])
    assert outbox_still_needed(outbox)
    handler.needed = False
    assert not outbox_still_needed(outbox)


def test_a_person_named_by_two_roles_is_told_once(handler, notify, people):
    people["enterprise_principal"] = people["assignee"]
    open_rectify()
    sweep_at(MOMENTS[2])
    assert len(notify.calls) == 1
    assert notify.calls[0]["channels"] == ["inapp", "sms"]
