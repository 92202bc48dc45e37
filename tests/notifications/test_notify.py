"""notify(): one in-app row and one outbox row per channel per key, written with the caller."""

from __future__ import annotations

from contextlib import suppress

import pytest
from django.db import connection, transaction

from workflows.notifications.models import Notification, Outbox
from workflows.notifications.services import notify

# Threads on SQLite's shared in-memory test database fail with "table is locked" instead of
# waiting; row locks and SKIP LOCKED are PostgreSQL's (CI runs these).
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)"
)
KEY = "hazard:7:deadline:3:gen:1:step:2:user:{uid}"


def _notify(user, **overrides):
    arguments = {
        "key": KEY.format(uid=user.pk),
        "user_id": user.pk,
        "channels": ["inapp", "email", "sms"],
        "title": "隐患整改已逾期",
        "body": "临汾测试企业的重大隐患整改已逾期 3 天。",
        "link": "/hazards/7/",
        "subject_type": "hazard",
        "subject_id": 7,
        "level": "critical",
    }
    arguments.update(overrides)
    return notify(**arguments)


def test_it_writes_one_inapp_row_and_one_outbox_row_per_external_channel(
    recipient, django_capture_on_commit_callbacks, enqueued
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = _notify(recipient)

    assert created == 3
    notification = Notification.objects.get()
    assert (notification.recipient, notification.level, notification.read_at) == (
        recipient,
        "critical",
        None,
    )
    assert (notification.subject_type, notification.subject_id) == ("hazard", 7)
    rows = Outbox.objects.order_by("channel")
    assert [(row.channel, row.status, row.attempts) for row in rows] == [
        ("email", "pending", 0),
        ("sms", "pending", 0),
    ]
    assert {row.key for row in rows} == {notification.key}
    assert len(callbacks) == 2
    assert sorted(enqueued) == sorted(row.pk for row in rows)


def test_the_same_key_twice_inserts_nothing_and_enqueues_nothing(
    recipient, django_capture_on_commit_callbacks, enqueued
):
    with django_capture_on_commit_callbacks(execute=True):
        _notify(recipient)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = _notify(recipient, title="another title", body="changed")

    assert created == 0
    assert callbacks == []
    assert Notification.objects.count() == 1
    assert Notification.objects.get().title == "隐患整改已逾期"
    assert Outbox.objects.filter(channel="email").count() == 1
    assert Outbox.objects.filter(channel="sms").count() == 1
    assert len(enqueued) == 2


def test_a_new_channel_for_an_existing_key_adds_only_that_channel(
    recipient, department, django_capture_on_commit_callbacks, enqueued
):
    _notify(recipient, channels=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        created = _notify(
            recipient, channels=["email", "webhook"], webhook_department_id=department.pk
        )

    assert created == 1
    assert sorted(Outbox.objects.values_list("channel", flat=True)) == ["email", "webhook"]
    webhook = Outbox.objects.get(channel="webhook")
    assert webhook.webhook_department == department
    assert enqueued == [webhook.pk]


def test_rows_written_in_a_rolled_back_transaction_leave_nothing_and_enqueue_nothing(
    recipient, django_capture_on_commit_callbacks, enqueued
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        suppress(RuntimeError),
        transaction.atomic(),
    ):
        _notify(recipient)
        raise RuntimeError("the sweep failed after writing")

    assert callbacks == []
    assert enqueued == []
    assert not Notification.objects.exists()
    assert not Outbox.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_really_rolled_back_caller_enqueues_nothing(enqueued):
    from tests.factories import UserFactory

    user = UserFactory()
    with suppress(RuntimeError), transaction.atomic():
        _notify(user)
        raise RuntimeError("rolled back")
    assert enqueued == []
    assert not Outbox.objects.exists()

    _notify(user)  # committed: enqueued at once
    assert sorted(enqueued) == sorted(Outbox.objects.values_list("pk", flat=True))
    assert len(enqueued) == 2


def test_without_a_user_only_the_outbox_is_written(db, enqueued):
    created = notify(
        key="hazard:7:deadline:3:gen:1:step:4:office:9",
        user_id=None,
        channels=["inapp", "email"],
        title="督办",
        body="",
        email="office@example.cn",
    )
    assert created == 1
    assert not Notification.objects.exists()
    row = Outbox.objects.get()
    assert (row.email, row.recipient) == ("office@example.cn", None)


def test_addresses_and_digest_groups_stay_on_their_own_channels(recipient, department):
    _notify(
        recipient,
        channels=["email", "sms", "webhook"],
        email="boss@example.cn",
        mobile="13900000000",
        webhook_department_id=department.pk,
        digest_group="digest:2026-11-28T09:00:user:1",
    )
    rows = {row.channel: row for row in Outbox.objects.all()}
    assert (rows["email"].email, rows["email"].mobile) == ("boss@example.cn", "")
    assert (rows["sms"].email, rows["sms"].mobile) == ("", "13900000000")
    assert rows["webhook"].webhook_department_id == department.pk
    assert rows["email"].digest_group == rows["sms"].digest_group != ""
    assert rows["webhook"].digest_group == ""
    assert rows["email"].webhook_department_id is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"key": ""}, "key"),
        ({"key": "x" * 256}, "key"),
        ({"channels": ["email", "fax"]}, "channel"),
        ({"level": "urgent"}, "level"),
        ({"link": "/" + "a" * 1000}, "link"),
    ],
)
def test_programming_errors_are_refused(recipient, overrides, message):
    with pytest.raises(ValueError, match=message):
        _notify(recipient, **overrides)
    assert not Notification.objects.exists()


def test_a_long_title_is_shortened_not_refused(recipient):
    _notify(recipient, title="很长" * 200)
    notification = Notification.objects.get()
    assert len(notification.title) == 255
    assert notification.title.endswith("…")


def test_a_broker_outage_at_commit_does_not_break_the_caller(
    recipient, monkeypatch, django_capture_on_commit_callbacks
):
    from workflows.notifications import services, tasks

    def broker_down(outbox_id):
        raise ConnectionError("broker unreachable")

    logged = []
    monkeypatch.setattr(tasks.deliver, "delay", broker_down)
    monkeypatch.setattr(services.logger, "exception", lambda *args: logged.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        _notify(recipient, channels=["email"])
    assert Outbox.objects.get().status == "pending"
    assert len(logged) == 1


@needs_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_key_from_two_threads_at_once_is_written_once(enqueued):
    import threading

    from tests.factories import UserFactory

    user = UserFactory()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweep():
        try:
            barrier.wait(5)
            _notify(user)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert errors == []
    assert Notification.objects.count() == 1
    assert sorted(Outbox.objects.values_list("channel", flat=True)) == ["email", "sms"]
