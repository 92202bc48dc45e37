"""Due moments and action times of the seeded policies, on the real 2026 calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from workflows.deadlines.models import DeadlinePolicy, EscalationRung
from workflows.deadlines.policy import (
    REMINDER,
    RUNG,
    action_times,
    due_actions,
    due_at,
    first_pending_step,
)
from workflows.deadlines.selectors import PolicyMissing, policy_for

from .conftest import local

pytestmark = pytest.mark.django_db

ON = date(2026, 2, 1)


def test_the_seed_has_a_policy_for_every_grade_and_stage():
    for grade in ("general", "major"):
        for stage in (
            "triage",
            "plan",
            "plan_approval",
            "rectify",
            "extension_decision",
            "verify",
            "close_out",
        ):
            policy = policy_for(grade, stage, ON)
            assert [r.step for r in policy.rungs.all()] == [1, 2, 3, 4]
    assert policy_for("general", "triage", ON).unit == "working_days"
    assert policy_for("general", "triage", ON).duration == 3
    assert policy_for("general", "verify", ON).unit == "calendar_days"
    assert policy_for("general", "verify", ON).duration == 10
    assert policy_for("major", "extension_decision", ON).duration == 10
    assert policy_for("major", "rectify", ON).unit == "explicit"
    assert policy_for("major", "rectify", ON).rungs.last().action == "listing"
    assert policy_for("general", "rectify", ON).rungs.last().action == "admonition"


def test_the_policy_in_force_is_the_latest_version_not_after_the_day():
    seeded = policy_for("general", "triage", ON)
    newer = DeadlinePolicy.objects.create(
        grade="general",
        stage="triage",
        effective_from=date(2026, 3, 1),
        duration=2,
        unit="working_days",
    )
    assert policy_for("general", "triage", date(2026, 2, 28)) == seeded
    assert policy_for("general", "triage", date(2026, 3, 1)) == newer
    with pytest.raises(PolicyMissing):
        policy_for("general", "triage", date(2019, 12, 31))


def test_calendar_days_end_at_the_end_of_the_local_day():
    verify = policy_for("general", "verify", ON)
    assert due_at(verify, local(2026, 2, 10, 15, 0)) == local(2026, 2, 20, 23, 59, 59)


def test_working_days_skip_the_spring_festival():
    triage = policy_for("general", "triage", ON)  # 3 working days
    # Thursday 12 Feb: Fri 13 (1), Sat 14 调休 (2), then the holiday to Mon 23, Tue 24 (3).
    assert due_at(triage, local(2026, 2, 12, 10, 0)) == local(2026, 2, 24, 23, 59, 59)
    plan = policy_for("major", "plan", ON)  # 10 working days
    assert due_at(plan, local(2026, 2, 11, 9, 0)) == local(2026, 3, 3, 23, 59, 59)


def test_working_days_count_from_the_local_date_not_the_utc_one():
    triage = policy_for("general", "triage", ON)
    # 17:00 UTC on the 12th is 01:00 on Friday 13th in Shanghai.
    start = datetime(2026, 2, 12, 17, 0, tzinfo=UTC)
    assert due_at(triage, start) == local(2026, 2, 25, 23, 59, 59)


def test_hours_are_exact_and_ignore_holidays():
    policy = DeadlinePolicy.objects.create(
        grade="general", stage="triage", effective_from=date(2026, 1, 15), duration=48, unit="hours"
    )
    assert due_at(policy, local(2026, 2, 14, 8, 30)) == local(2026, 2, 16, 8, 30)


def test_explicit_dates_win_and_fall_back_to_calendar_days():
    general = policy_for("general", "rectify", ON)
    major = policy_for("major", "rectify", ON)
    assert due_at(general, local(2026, 2, 1, 10, 0), date(2026, 3, 31)) == local(
        2026, 3, 31, 23, 59, 59
    )
    assert due_at(general, local(2026, 2, 1, 10, 0)) == local(2026, 2, 16, 23, 59, 59)
    assert due_at(major, local(2026, 2, 1, 10, 0)) == local(2026, 5, 2, 23, 59, 59)
    triage = policy_for("general", "triage", ON)
    assert due_at(triage, local(2026, 2, 1, 10, 0), date(2026, 2, 5)) == local(
        2026, 2, 5, 23, 59, 59
    )


def test_the_actions_of_a_rectification_due_before_the_spring_festival():
    policy = policy_for("general", "rectify", ON)
    actions = action_times(policy, local(2026, 2, 13, 23, 59, 59))
    assert [(a.step, a.kind, a.action, a.at) for a in actions] == [
        (0, REMINDER, "reminder", local(2026, 2, 10, 9, 0)),
        (1, REMINDER, "reminder", local(2026, 2, 12, 9, 0)),
        (2, RUNG, "chase", local(2026, 2, 13, 23, 59, 59)),
        # +3 working days: Sat 14 (调休), Tue 24, Wed 25.
        (3, RUNG, "supervision_letter", local(2026, 2, 25, 9, 0)),
        # +7: Thu 26, Fri 27, Sat 28 (调休), Mon 2 March.
        (4, RUNG, "circular", local(2026, 3, 2, 9, 0)),
        (5, RUNG, "admonition", local(2026, 3, 12, 9, 0)),
    ]
    assert actions[2].roles == ("assignee", "enterprise_principal")
    assert actions[3].roles == ("department_head",)
    assert actions[3].digest
    assert actions[5].channels == ("inapp", "email", "webhook")
    assert actions[1].channels == ("inapp", "sms")


def test_working_day_reminders_and_hour_offsets():
    policy = DeadlinePolicy.objects.create(
        grade="major",
        stage="verify",
        effective_from=date(2026, 1, 20),
        duration=10,
        unit="calendar_days",
        reminder_offsets=[{"value": 1, "unit": "working_days"}, {"value": 6, "unit": "hours"}],
    )
    EscalationRung.objects.create(
        policy=policy,
        step=1,
        offset_value=9,
        offset_unit="hours",
        action="chase",
        roles=["assignee"],
        channels=["inapp"],
    )
    # Due Tuesday 24 Feb: the working day before is Saturday 14 (调休), the holiday is skipped.
    actions = action_times(policy, local(2026, 2, 24, 23, 59, 59))
    assert [(a.kind, a.at) for a in actions] == [
        (REMINDER, local(2026, 2, 14, 9, 0)),
        (REMINDER, local(2026, 2, 24, 17, 59, 59)),
        (RUNG, local(2026, 2, 25, 8, 59, 59)),
    ]
    assert actions[0].roles == ("assignee",)
    assert actions[0].channels == ("inapp", "email")


def test_a_clock_starts_at_the_first_reminder_still_ahead_but_never_skips_a_rung():
    policy = policy_for("general", "rectify", ON)
    actions = action_times(policy, local(2026, 2, 13, 23, 59, 59))
    assert first_pending_step(actions, local(2026, 2, 1)) == 0
    assert first_pending_step(actions, local(2026, 2, 11)) == 1
    assert first_pending_step(actions, local(2026, 2, 13, 10)) == 2
    assert first_pending_step(actions, local(2026, 3, 30)) == 2  # overdue at start: chase at once


def test_missed_rungs_all_fire_but_only_the_latest_reminder_does():
    policy = policy_for("general", "rectify", ON)
    actions = action_times(policy, local(2026, 2, 13, 23, 59, 59))
    fire, skipped, step = due_actions(actions, 0, local(2026, 2, 12, 12))
    assert ([a.step for a in fire], [a.step for a in skipped], step) == ([1], [0], 2)
    fire, skipped, step = due_actions(actions, 0, local(2026, 3, 3))
    assert ([a.step for a in fire], [a.step for a in skipped], step) == ([2, 3, 4], [0, 1], 5)
    fire, skipped, step = due_actions(actions, 5, local(2026, 3, 3))
    assert (fire, skipped, step) == ([], [], 5)
    fire, skipped, step = due_actions(actions, 5, local(2026, 3, 12, 9))
    assert ([a.step for a in fire], step) == ([5], 6)


def test_policy_validation_refuses_unknown_roles_channels_and_units():
    policy = DeadlinePolicy(
        grade="general",
        stage="triage",
        effective_from=date(2026, 5, 1),
        duration=3,
        unit="working_days",
        reminder_offsets=[{"value": 0, "unit": "calendar_days"}, {"value": 2, "unit": "weeks"}],
    )
    with pytest.raises(ValidationError) as error:
        policy.full_clean()
    assert len(error.value.message_dict["reminder_offsets"]) == 2
    rung = EscalationRung(
        policy=policy_for("general", "triage", ON),
        step=9,
        action="chase",
        roles=["mayor"],
        channels=["fax"],
    )
    with pytest.raises(ValidationError) as error:
        rung.full_clean()
    assert set(error.value.message_dict) == {"roles", "channels"}
