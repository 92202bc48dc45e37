"""Delivery of outbox rows: per channel, retries with backoff, leases, still-needed, digests, requeue."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection

from tests.factories import UserFactory
from tests.notifications.servers import serve
from workflows.notifications import tasks
from workflows.notifications.hooks import key_fields
from workflows.notifications.models import Notification, Outbox, WebhookEndpoint
from workflows.notifications.services import (
    notify,
    outbox_deliver,
    outbox_requeue,
    outbox_retry,
)

# Threads on SQLite's shared in-memory test database fail with "table is locked" instead of
# waiting; row locks and SKIP LOCKED are PostgreSQL's (CI runs these).
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)"
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


def _row(user, channel, *, key=None, **extra) -> Outbox:
    key = key or f"hazard:12:deadline:34:gen:2:step:1:user:{user.pk}"
    notify(
        key=key,
        user_id=user.pk,
        channels=[channel],
        title=extra.pop("title", "隐患整改期限将至"),
        body=extra.pop("body", "请于 3 月 5 日前完成整改。"),
        link=extra.pop("link", "/hazards/12/"),
        subject_type="hazard",
        subject_id=12,
        **extra,
    )
    return Outbox.objects.get(key=key, channel=channel)


# --- Channels ------------------------------------------------------------------------------------


def test_an_email_lands_in_the_mail_outbox_with_the_users_address(recipient):
    row = _row(recipient, "email")

    assert outbox_deliver(outbox_id=row.pk) == "sent"

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["li.lei@example.cn"]
    assert message.subject == "隐患整改期限将至"
    assert "请于 3 月 5 日前完成整改。" in message.body
    assert "https://anlian.example.cn/hazards/12/" in message.body
    assert message.extra_headers["X-SafeChain-Key"] == row.key
    row.refresh_from_db()
    assert (row.status, row.attempts, row.claimed_until, row.last_error) == ("sent", 1, None, "")
    assert row.sent_at is not None


def test_an_explicit_address_wins_over_the_users(recipient):
    row = _row(recipient, "email", email="office@example.cn")
    outbox_deliver(outbox_id=row.pk)
    assert mail.outbox[0].to == ["office@example.cn"]


def test_a_resent_email_keeps_its_message_id(recipient):
    row = _row(recipient, "email")
    outbox_deliver(outbox_id=row.pk)
    outbox_retry(outbox_ids=[row.pk])  # not failed: nothing happens
    Outbox.objects.filter(pk=row.pk).update(status="pending", sent_at=None)
    outbox_deliver(outbox_id=row.pk)
    first, second = mail.outbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert first.extra_headers["Message-ID"].startswith("<")


def test_an_email_without_any_address_fails_at_once_visibly(db):
    user = UserFactory(email="")
    row = _row(user, "email")

    assert outbox_deliver(outbox_id=row.pk) == "failed"

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "no e-mail address" in row.last_error
    assert mail.outbox == []


def test_an_sms_is_a_line_in_the_log_file(recipient, sms_log):
    row = _row(recipient, "sms")

    assert outbox_deliver(outbox_id=row.pk) == "sent"

    lines = sms_log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    stamp, mobile, key, text = lines[0].split("\t")
    assert datetime.fromisoformat(stamp)
    assert (mobile, key) == ("13812345678", row.key)
    assert (
        text == "隐患整改期限将至：请于 3 月 5 日前完成整改。 https://anlian.example.cn/hazards/12/"
    )


def test_the_sms_log_defaults_to_the_var_directory(settings):
    from workflows.notifications.backends.sms import sms_log_path

    assert not hasattr(settings, "NOTIFICATIONS_SMS_LOG")
    assert sms_log_path() == settings.VAR_DIR / "sms.log"


def test_a_webhook_is_a_signed_json_post_with_the_idempotency_key(
    recipient, department, endpoint, webhook_server
):
    row = _row(recipient, "webhook", webhook_department_id=department.pk)

    assert outbox_deliver(outbox_id=row.pk) == "sent"

    [request] = webhook_server.received
    expected = hmac.new(b"s3cret-for-tests", request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-SafeChain-Signature"], f"sha256={expected}")
    assert request.headers["Idempotency-Key"] == row.key
    assert request.headers["X-SafeChain-Attempt"] == "1"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json() == {
        "key": row.key,
        "title": "隐患整改期限将至",
        "body": "请于 3 月 5 日前完成整改。",
        "link": "https://anlian.example.cn/hazards/12/",
        "subject": {"type": "hazard", "id": 12},
        "department": department.code,
        "created_at": row.created_at.isoformat(),
    }


def test_a_webhook_to_a_department_without_an_active_endpoint_is_cancelled(
    recipient, department, endpoint, webhook_server
):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)
    row = _row(recipient, "webhook", webhook_department_id=department.pk)

    assert outbox_deliver(outbox_id=row.pk) == "cancelled"

    assert webhook_server.received == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("cancelled", 0)
    assert row.last_error


def test_a_webhook_refused_with_404_fails_without_retries(recipient, department):
    with serve([404]) as server:
        WebhookEndpoint.objects.create(department=department, url=server.url, secret="k")
        row = _row(recipient, "webhook", webhook_department_id=department.pk)
        assert outbox_deliver(outbox_id=row.pk) == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "HTTP 404" in row.last_error


# --- Retries -------------------------------------------------------------------------------------


def test_a_webhook_failing_three_times_then_succeeding_is_delivered_once_after_four_attempts(
    recipient, department
):
    with serve([503, 503, 500, 200]) as server, time_machine.travel(T0, tick=False) as clock:
        WebhookEndpoint.objects.create(department=department, url=server.url, secret="k")
        row = _row(recipient, "webhook", webhook_department_id=department.pk)
        outcomes, schedule = [], []
        for wait in (0, 60, 120, 240):
            clock.shift(timedelta(seconds=wait))
            outcomes.append(outbox_deliver(outbox_id=row.pk))
            row.refresh_from_db()
            schedule.append((row.status, row.attempts, row.next_attempt_at))

        assert outcomes == ["pending", "pending", "pending", "sent"]
        assert [entry[:2] for entry in schedule] == [
            ("pending", 1),
            ("pending", 2),
            ("pending", 3),
            ("sent", 4),
        ]
        assert schedule[0][2] == T0 + timedelta(seconds=60)
        assert schedule[1][2] == T0 + timedelta(seconds=60 + 120)
        assert schedule[2][2] == T0 + timedelta(seconds=60 + 120 + 240)
        assert [request.headers["X-SafeChain-Attempt"] for request in server.received] == [
            "1",
            "2",
            "3",
            "4",
        ]
        assert {request.headers["Idempotency-Key"] for request in server.received} == {row.key}
        assert len({request.body for request in server.received}) == 1  # same bytes every time
        assert row.last_error == ""


def test_a_row_is_not_retried_before_its_backoff_has_passed(recipient, department):
    with serve([503, 200]) as server, time_machine.travel(T0, tick=False) as clock:
        WebhookEndpoint.objects.create(department=department, url=server.url, secret="k")
        row = _row(recipient, "webhook", webhook_department_id=department.pk)
        assert outbox_deliver(outbox_id=row.pk) == "pending"
        clock.shift(timedelta(seconds=59))
        assert outbox_deliver(outbox_id=row.pk) == "skipped"
        assert len(server.received) == 1
        clock.shift(timedelta(seconds=1))
        assert outbox_deliver(outbox_id=row.pk) == "sent"
        assert len(server.received) == 2


def test_after_max_attempts_the_row_fails_and_the_admin_retry_makes_it_pending_again(
    recipient, department, settings, enqueued, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    with serve([503, 503, 503, 200]) as server, time_machine.travel(T0, tick=False) as clock:
        WebhookEndpoint.objects.create(department=department, url=server.url, secret="k")
        row = _row(recipient, "webhook", webhook_department_id=department.pk)
        for _ in range(3):
            last = outbox_deliver(outbox_id=row.pk)
            clock.shift(timedelta(hours=1))
        assert last == "failed"
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("failed", 3)
        assert "HTTP 503" in row.last_error
        assert outbox_deliver(outbox_id=row.pk) == "skipped"  # failed rows stay failed
        assert len(server.received) == 3

        with django_capture_on_commit_callbacks(execute=True):
            assert outbox_retry(outbox_ids=[row.pk]) == 1
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("pending", 0)
        assert enqueued == [row.pk]
        assert outbox_deliver(outbox_id=row.pk) == "sent"
        assert len(server.received) == 4


def test_retry_touches_only_failed_rows(recipient):
    pending = _row(recipient, "email")
    sent = _row(recipient, "sms", key="other:1")
    Outbox.objects.filter(pk=sent.pk).update(status="sent", sent_at=T0)
    assert outbox_retry(outbox_ids=[pending.pk, sent.pk]) == 0
    assert Outbox.objects.get(pk=sent.pk).status == "sent"


def test_backoff_doubles_and_is_capped(settings):
    from workflows.notifications.services import retry_delay

    settings.NOTIFICATIONS_RETRY_BACKOFF = 30
    settings.NOTIFICATIONS_RETRY_BACKOFF_MAX = 200
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]


# --- Still needed --------------------------------------------------------------------------------


def test_a_row_no_longer_needed_is_cancelled_and_nothing_is_sent(recipient, still_needed):
    seen = []

    @still_needed
    def deadline_still_open(outbox):
        seen.append(key_fields(outbox.key))
        return False

    row = _row(recipient, "email")

    assert outbox_deliver(outbox_id=row.pk) == "cancelled"

    assert mail.outbox == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("cancelled", 0)
    assert row.last_error
    assert seen == [
        {"hazard": "12", "deadline": "34", "gen": "2", "step": "1", "user": str(recipient.pk)}
    ]


def test_a_failing_still_needed_check_is_retried_not_sent(recipient, still_needed):
    @still_needed
    def broken(outbox):
        raise RuntimeError("database hiccup")

    row = _row(recipient, "email")
    assert outbox_deliver(outbox_id=row.pk) == "pending"
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "database hiccup" in row.last_error
    assert mail.outbox == []


def test_the_in_app_notification_is_not_touched_by_delivery(recipient, still_needed):
    still_needed(lambda outbox: False)
    row = _row(recipient, "email")
    outbox_deliver(outbox_id=row.pk)
    assert Notification.objects.filter(key=row.key).count() == 1


# --- Digest --------------------------------------------------------------------------------------


def _escalations(user, count, group="digest:2026-03-02T09:00:user"):
    return [
        _row(
            user,
            "email",
            key=f"hazard:{n}:deadline:{n}:gen:1:step:3:user:{user.pk}:{group}",
            title=f"重大隐患 HZ-2026-{n:04d} 整改逾期",
            body=f"第 {n} 项",
            link=f"/hazards/{n}/",
            digest_group=f"{group}:{user.pk}",
            level="critical",
        )
        for n in range(1, count + 1)
    ]


def test_three_escalations_of_one_window_are_one_email_and_three_inbox_entries(recipient):
    first, second, third = _escalations(recipient, 3)

    assert outbox_deliver(outbox_id=first.pk) == "sent"

    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    for n in (1, 2, 3):
        assert f"HZ-2026-{n:04d}" in body
        assert f"https://anlian.example.cn/hazards/{n}/" in body
    assert "3" in mail.outbox[0].subject
    for row in (second, third):
        row.refresh_from_db()
        assert (row.status, row.merged_into_id, row.attempts) == ("sent", first.pk, 0)
        assert row.sent_at is not None
    # Their own delivery messages arrive later and find nothing to do.
    assert outbox_deliver(outbox_id=second.pk) == "skipped"
    assert outbox_deliver(outbox_id=third.pk) == "skipped"
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(recipient=recipient).count() == 3


def test_a_digest_leaves_out_rows_no_longer_needed(recipient, still_needed):
    first, second, _third = _escalations(recipient, 3)
    still_needed(lambda outbox: outbox.pk != second.pk)

    outbox_deliver(outbox_id=first.pk)

    assert "HZ-2026-0002" not in mail.outbox[0].body
    assert "HZ-2026-0003" in mail.outbox[0].body
    assert Outbox.objects.get(pk=second.pk).status == "cancelled"


def test_digests_never_mix_people_groups_or_channels(recipient, sms_log):
    other = UserFactory(email="other@example.cn")
    mine = _escalations(recipient, 2)
    _escalations(other, 1)
    _escalations(recipient, 1, group="digest:2026-03-02T09:01:user")
    _row(
        recipient,
        "sms",
        key="hazard:1:deadline:1:gen:1:step:3:sms",
        digest_group=mine[0].digest_group,
    )

    outbox_deliver(outbox_id=mine[0].pk)

    assert len(mail.outbox) == 1
    assert Outbox.objects.filter(merged_into=mine[0]).count() == 1
    assert Outbox.objects.filter(status="pending").count() == 3


def test_a_failed_digest_releases_its_rows_to_be_gathered_again(recipient, monkeypatch):
    from workflows.notifications.backends import email as email_backend

    def smtp_down(self, message):
        raise ConnectionRefusedError("smtp down")

    working_send = email_backend.EmailBackend.send
    monkeypatch.setattr(email_backend.EmailBackend, "send", smtp_down)
    with time_machine.travel(T0, tick=False) as clock:
        first, second, third = _escalations(recipient, 3)
        assert outbox_deliver(outbox_id=first.pk) == "pending"
        for row in (second, third):
            row.refresh_from_db()
            assert (row.status, row.merged_into_id) == ("pending", None)
            assert row.next_attempt_at == T0 + timedelta(seconds=60)
        monkeypatch.setattr(email_backend.EmailBackend, "send", working_send)
        clock.shift(timedelta(seconds=60))
        assert outbox_deliver(outbox_id=third.pk) == "sent"  # whichever comes first leads
    assert len(mail.outbox) == 1
    assert set(Outbox.objects.filter(merged_into=third).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }


def test_a_single_row_of_a_digest_group_is_sent_as_itself(recipient):
    [row] = _escalations(recipient, 1)
    outbox_deliver(outbox_id=row.pk)
    assert mail.outbox[0].subject == "重大隐患 HZ-2026-0001 整改逾期"


# --- Leases and the requeue tick -----------------------------------------------------------------


def test_a_row_another_worker_is_sending_is_left_alone_until_its_lease_runs_out(recipient):
    with time_machine.travel(T0, tick=False) as clock:
        row = _row(recipient, "email")
        Outbox.objects.filter(pk=row.pk).update(
            status="sending", attempts=1, claimed_until=T0 + timedelta(seconds=120)
        )
        assert outbox_deliver(outbox_id=row.pk) == "skipped"
        assert mail.outbox == []
        clock.shift(timedelta(seconds=121))
        assert outbox_deliver(outbox_id=row.pk) == "sent"
    row.refresh_from_db()
    assert row.attempts == 2
    assert len(mail.outbox) == 1


def test_the_lease_outlives_the_celery_hard_time_limit(settings):
    from workflows.notifications.services import lease_duration

    settings.CELERY_TASK_TIME_LIMIT = 90
    assert lease_duration() == timedelta(seconds=120)
    settings.NOTIFICATIONS_LEASE_SECONDS = 15
    assert lease_duration() == timedelta(seconds=15)


def test_requeue_delivers_a_pending_row_whose_message_was_lost(
    recipient, enqueued, run_deliveries, django_capture_on_commit_callbacks
):
    row = _row(recipient, "email")  # its message was recorded by `enqueued`, never run: lost
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.requeue_pending() == 1
    assert run_deliveries == [row.pk]
    row.refresh_from_db()
    assert row.status == "sent"
    assert len(mail.outbox) == 1


def test_requeue_sends_one_message_per_row_per_requeue_lease(recipient, enqueued, settings):
    settings.NOTIFICATIONS_REQUEUE_LEASE = 300
    with time_machine.travel(T0, tick=False) as clock:
        row = _row(recipient, "email")
        assert outbox_requeue() == [row.pk]
        assert outbox_requeue() == []
        clock.shift(timedelta(seconds=299))
        assert outbox_requeue() == []
        clock.shift(timedelta(seconds=1))
        assert outbox_requeue() == [row.pk]


def test_requeue_ignores_rows_in_backoff_and_final_rows(recipient, enqueued):
    with time_machine.travel(T0, tick=False):
        waiting = _row(recipient, "email", key="a:1")
        Outbox.objects.filter(pk=waiting.pk).update(next_attempt_at=T0 + timedelta(seconds=1))
        for status, key in (("sent", "b:1"), ("failed", "c:1"), ("cancelled", "d:1")):
            row = _row(recipient, "email", key=key)
            Outbox.objects.filter(pk=row.pk).update(status=status, sent_at=T0)
        busy = _row(recipient, "email", key="e:1")
        Outbox.objects.filter(pk=busy.pk).update(
            status="sending", claimed_until=T0 + timedelta(seconds=5)
        )
        assert outbox_requeue() == []


def test_requeue_takes_back_a_row_whose_worker_died(recipient, enqueued):
    with time_machine.travel(T0, tick=False) as clock:
        leader, member = _escalations(recipient, 2)
        Outbox.objects.filter(pk=leader.pk).update(
            status="sending", attempts=1, claimed_until=T0 + timedelta(seconds=120)
        )
        Outbox.objects.filter(pk=member.pk).update(
            status="sending", merged_into=leader, claimed_until=T0 + timedelta(seconds=120)
        )
        clock.shift(timedelta(seconds=121))
        assert sorted(outbox_requeue()) == sorted([leader.pk, member.pk])
    leader.refresh_from_db()
    member.refresh_from_db()
    assert (leader.status, leader.attempts) == ("pending", 1)
    assert leader.last_error  # why it went back (translated: no wording asserted)
    assert (member.status, member.merged_into_id) == ("pending", None)
    outbox_deliver(outbox_id=member.pk)
    assert len(mail.outbox) == 1
    assert "HZ-2026-0001" in mail.outbox[0].body


def test_an_interrupted_last_attempt_fails_the_row_instead_of_trying_again(recipient, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    row = _row(recipient, "email")
    Outbox.objects.filter(pk=row.pk).update(attempts=2, last_error="TimeoutError: slow")
    assert outbox_deliver(outbox_id=row.pk) == "failed"
    row.refresh_from_db()
    assert "TimeoutError" in row.last_error
    assert mail.outbox == []


# --- Two workers at once -------------------------------------------------------------------------


class SlowBackend:
    sent: ClassVar[list[str]] = []
    gate = threading.Event()

    def send(self, message):
        SlowBackend.gate.wait(5)
        SlowBackend.sent.append(message.key)


@needs_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_delivering_the_same_row_send_it_once(settings, enqueued):
    settings.NOTIFICATIONS_BACKENDS = {"email": f"{__name__}.SlowBackend"}
    SlowBackend.sent, SlowBackend.gate = [], threading.Event()
    user = UserFactory(email="x@example.cn")
    row = _row(user, "email")
    outcomes: list[str] = []

    def worker():
        try:
            outcomes.append(outbox_deliver(outbox_id=row.pk))
        finally:
            connection.close()

    first = threading.Thread(target=worker)
    first.start()
    for _ in range(100):  # wait until the first worker holds the claim
        if Outbox.objects.get(pk=row.pk).status == "sending":
            break
        threading.Event().wait(0.02)
    second = threading.Thread(target=worker)
    second.start()
    second.join(10)
    SlowBackend.gate.set()
    first.join(10)

    assert sorted(outcomes) == ["sent", "skipped"]
    assert SlowBackend.sent == [row.key]
    assert Outbox.objects.get(pk=row.pk).attempts == 1


@needs_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_requeue_ticks_at_once_enqueue_each_row_once(enqueued):
    user = UserFactory(email="tick@example.cn")
    rows = [_row(user, "email", key=f"tick:{n}") for n in range(30)]
    enqueued.clear()
    barrier = threading.Barrier(2)
    picked: list[list[int]] = []

    def tick():
        try:
            barrier.wait(5)
            picked.append(outbox_requeue())
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert len(picked) == 2
    together = picked[0] + picked[1]
    assert sorted(together) == sorted(row.pk for row in rows)
    assert sorted(enqueued) == sorted(together)


# --- deliver_many: one message for a chunk of rows ------------------------------------------------


def test_deliver_many_sends_every_row_and_a_broken_row_does_not_stop_the_others(
    recipient, monkeypatch
):
    rows = [_row(recipient, "email", key=f"chunk:{n}:user:{recipient.pk}") for n in range(3)]
    real = tasks.outbox_deliver

    def flaky(*, outbox_id):
        if outbox_id == rows[1].pk:
            raise RuntimeError("a bug in one row")
        return real(outbox_id=outbox_id)

    monkeypatch.setattr(tasks, "outbox_deliver", flaky)
    outcome = tasks.deliver_many.apply(args=([row.pk for row in rows],)).get()
    assert outcome == {"sent": 2, "error": 1}
    assert [Outbox.objects.get(pk=row.pk).status for row in rows] == ["sent", "pending", "sent"]
    assert len(mail.outbox) == 2


def test_deliver_many_hands_the_rest_on_past_half_its_soft_time_limit(
    recipient, monkeypatch, settings
):
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 2  # a budget of one second
    rows = [_row(recipient, "email", key=f"slow:{n}:user:{recipient.pk}") for n in range(3)]
    clock = iter([0.0, 0.5, 1.5, 9.0])  # start; before row 2; before row 3 (over budget)
    monkeypatch.setattr(tasks, "monotonic", lambda: next(clock))
    handed_on = []
    monkeypatch.setattr(tasks.deliver_many, "delay", handed_on.append)
    outcome = tasks.deliver_many.apply(args=([row.pk for row in rows],)).get()
    assert outcome == {"sent": 2, "handed_on": 1}
    assert handed_on == [[rows[2].pk]]
    assert Outbox.objects.get(pk=rows[2].pk).status == "pending"
