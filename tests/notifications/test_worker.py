"""A real Celery worker delivers outbox rows end to end through the configured broker
(Redis in CI, the in-memory transport locally)."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from project.celery import app
from tests.factories import UserFactory
from tests.notifications.helpers import standalone_department
from tests.notifications.servers import serve
from workflows.notifications.models import Notification, Outbox, WebhookEndpoint
from workflows.notifications.services import notify
from workflows.notifications.tasks import requeue_pending

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def celery_worker(django_db_blocker):
    with (
        django_db_blocker.unblock(),
        start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30
        ) as worker,
    ):
        yield worker


def _status(row_id):
    return Outbox.objects.get(pk=row_id).status


def test_a_worker_delivers_an_email_written_by_notify(celery_worker):
    user = UserFactory(email="worker@example.cn")
    key = f"worker:email:user:{user.pk}"

    notify(
        key=key, user_id=user.pk, channels=["inapp", "email"], title="整改提醒", body="明天到期"
    )  # commits: the delivery message goes through the broker

    row = Outbox.objects.get(key=key)
    assert wait_for(lambda: _status(row.pk) == "sent"), _status(row.pk)
    assert [message.to for message in mail.outbox] == [["worker@example.cn"]]
    assert Notification.objects.filter(key=key).count() == 1
    assert Outbox.objects.get(pk=row.pk).attempts == 1


def test_a_worker_delivers_a_webhook_with_its_idempotency_key(celery_worker):
    user = UserFactory()
    department = standalone_department()
    with serve([200]) as server:
        WebhookEndpoint.objects.create(department=department, url=server.url, secret="w")
        key = f"worker:webhook:user:{user.pk}"
        notify(
            key=key,
            user_id=user.pk,
            channels=["webhook"],
            title="督办",
            body="",
            webhook_department_id=department.pk,
        )
        row = Outbox.objects.get(key=key)
        assert wait_for(lambda: _status(row.pk) == "sent"), _status(row.pk)
    assert [request.headers["Idempotency-Key"] for request in server.received] == [key]


def test_the_requeue_tick_run_by_a_worker_delivers_a_row_whose_message_was_lost(celery_worker):
    user = UserFactory(email="lost@example.cn")
    row = Outbox.objects.create(
        key=f"worker:lost:user:{user.pk}", channel="email", recipient=user, title="丢失的消息"
    )  # written without a delivery message, as if the broker had lost it

    requeue_pending.delay()

    assert wait_for(lambda: _status(row.pk) == "sent"), _status(row.pk)
    assert [message.subject for message in mail.outbox] == ["丢失的消息"]
