"""The sweep against the real notifications app: one inbox row per key, outbox rows per channel, the
digest group on e-mail, and the delivery re-check registered by this app."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone

from tests.factories import UserFactory
from workflows.deadlines.registry import Recipient
from workflows.deadlines.selectors import outbox_still_needed
from workflows.deadlines.services import deadline_open, deadline_reschedule, deadlines_sweep
from workflows.notifications import hooks
from workflows.notifications.models import Notification, Outbox

from .conftest import SUBJECT, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(people):
    assignee = UserFactory(email="assignee@example.cn")
    principal = UserFactory()
    head = UserFactory(email="head@example.cn")
    people.clear()
    people.update(
        {
            "assignee": [
                Recipient(
                    user_id=assignee.pk,
                    role="assignee",
                    channels=("inapp", "email", "sms"),
                    email=assignee.email,
                    mobile=assignee.mobile,
                )
            ],
            "enterprise_principal": [
                Recipient(
                    user_id=principal.pk,
                    role="enterprise_principal",
                    channels=("inapp", "sms"),
                    mobile=principal.mobile,
                )
            ],
            "department_head": [
                Recipient(
                    user_id=head.pk,
                    role="department_head",
                    channels=("inapp", "email"),
                    email=head.email,
                    digest=True,
                )
            ],
        }
    )
    return SimpleNamespace(assignee=assignee, principal=principal, head=head)


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return deadlines_sweep(now=timezone.now())


def test_the_sweep_writes_inbox_and_outbox_rows_once(
    handler, staff, django_capture_on_commit_callbacks
):
    with time_machine.travel(local(2026, 2, 1, 10), tick=False):
        deadline = deadline_open(
            subject_type=SUBJECT,
            subject_id=7,
            stage="rectify",
            grade="general",
            explicit_on=date(2026, 2, 13),
        )
    with django_capture_on_commit_callbacks() as callbacks:
        chase = sweep_at(local(2026, 2, 14, 0, 0))
    assert (chase.fired, chase.notifications, chase.outbox) == (1, 2, 4)
    # One callback enqueues one delivery per new outbox row (the two SMS).
    assert [sorted(callback.args[0]) for callback in callbacks] == [
        sorted(Outbox.objects.values_list("pk", flat=True))
    ]
    assert Notification.objects.filter(recipient=staff.assignee).count() == 1
    note = Notification.objects.get(recipient=staff.principal)
    assert note.key == f"{SUBJECT}:7:deadline:{deadline.pk}:gen:1:step:2:user:{staff.principal.pk}"
    assert (note.level, note.subject_type, note.subject_id, note.link) == (
        "critical",
        SUBJECT,
        7,
        "/things/7/",
    )
    assert sorted(Outbox.objects.values_list("channel", "mobile")) == [
        ("sms", staff.assignee.mobile),
        ("sms", staff.principal.mobile),
    ]
    letter = sweep_at(local(2026, 2, 25, 9, 0))
    assert (letter.notifications, letter.outbox) == (1, 2)
    email = Outbox.objects.get(recipient=staff.head, channel="email")
    assert email.digest_group == f"digest:{staff.head.pk}:202602250900"
    # As if the same step ran again: nothing new anywhere.
    from workflows.deadlines.models import Deadline

    Deadline.objects.filter(pk=deadline.pk).update(
        step=2, next_action_at=local(2026, 2, 13, 23, 59, 59)
    )
    repeat = sweep_at(local(2026, 2, 25, 9, 0))
    assert (repeat.fired, repeat.outbox) == (2, 0)
    assert Notification.objects.count() == 3
    assert Outbox.objects.count() == 3


def test_delivery_asks_this_app_whether_an_old_generation_is_still_needed(handler, staff):
    assert outbox_still_needed in hooks._still_needed
    with time_machine.travel(local(2026, 2, 1, 10), tick=False):
        deadline_open(
            subject_type=SUBJECT,
            subject_id=7,
            stage="rectify",
            grade="general",
            explicit_on=date(2026, 2, 13),
        )
    sweep_at(local(2026, 2, 12, 9, 0))
    sms = Outbox.objects.get(channel="sms")
    assert hooks.still_needed(sms)
    with time_machine.travel(local(2026, 2, 12, 10), tick=False):
        deadline_reschedule(
            subject_type=SUBJECT, subject_id=7, stage="rectify", explicit_on=date(2026, 3, 31)
        )
    assert not hooks.still_needed(sms)
