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
    assert len(callbacks) == 1  # one callback enqueues every row of the transaction
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

    attempts = []

    def broker_down(outbox_ids):
        attempts.append(list(outbox_ids))
        raise ConnectionError("broker unreachable")

    logged = []
    monkeypatch.setattr(tasks.deliver_many, "delay", broker_down)
    monkeypatch.setattr(services.logger, "exception", lambda *args: logged.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        _notify(recipient, channels=["email"])
    assert Outbox.objects.get().status == "pending"
    assert len(logged) == 1


def test_many_rows_go_in_chunks_and_one_outage_stops_the_rest(
    recipient, monkeypatch, settings, django_capture_on_commit_callbacks
):
    """Five rows in chunks of two: three messages; a broker that fails at the second message is
    not asked a third time (the requeue tick sends what is left), and the caller never sees it."""
    from workflows.notifications import services, tasks

    settings.NOTIFICATIONS_DELIVERY_CHUNK = 2
    sent = []

    def flaky(outbox_ids):
        if sent:
            raise ConnectionError("broker unreachable")
        sent.append(list(outbox_ids))

    logged = []
    monkeypatch.setattr(tasks.deliver_many, "delay", flaky)
    monkeypatch.setattr(services.logger, "exception", lambda *args: logged.append(args))
    requests = [
        services.NotificationRequest(
            key=f"chunk:{n}", user_id=recipient.pk, channels=["email"], title="t", body="b"
        )
        for n in range(5)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notify_many(requests) == 10
    assert len(sent) == 1
    assert len(sent[0]) == 2
    assert len(logged) == 1
    assert logged[0][1:] == (
        3,
        sorted(Outbox.objects.values_list("pk", flat=True))[2],
    )
    assert Outbox.objects.filter(status="pending").count() == 5


def test_notify_many_writes_a_batch_in_a_constant_number_of_queries(
    recipient, enqueued, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflows.notifications.services import NotificationRequest, notify_many

    def batch(count, prefix):
        return [
            NotificationRequest(
                key=f"{prefix}:{n}",
                user_id=recipient.pk,
                channels=["inapp", "email", "sms"],
                title="t",
                body="b",
            )
            for n in range(count)
        ]

    counts = []
    for size, prefix in ((3, "small"), (20, "large")):
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert notify_many(batch(size, prefix)) == 3 * size
        counts.append(len(queries))
    # PostgreSQL: savepoint and release, and per table a staging table, its COPY (not logged),
    # one INSERT … RETURNING and the drop; the ORM path of other databases reads the keys present
    # and the new ids around each insert. Either way 8, whatever the batch size.
    assert counts[0] == counts[1] == 8
    assert len(enqueued) == 46
    # A repeat of part of a batch, and a key named twice in one batch, write nothing new.
    again = batch(2, "large") + batch(1, "new") + batch(1, "new")
    assert notify_many(again) == 3
    assert Notification.objects.count() == 24
