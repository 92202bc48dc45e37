"""Fault tests: real worker processes on PostgreSQL and Redis are killed and the broker is flushed;
the outbox rows in the database still get every message out, and the inbox holds each one once.

They need a broker and a database that other processes share, so they skip on SQLite and on the
in-memory broker (CI runs them on PostgreSQL and Redis).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import UserFactory
from tests.notifications.helpers import standalone_department
from tests.notifications.servers import Endpoint, serve
from workflows.notifications.models import Notification, Outbox, WebhookEndpoint
from workflows.notifications.services import notify
from workflows.notifications.tasks import requeue_pending

BROKER = settings.CELERY_BROKER_URL
SECRET = "fault-secret"

pytestmark = [
    pytest.mark.fault,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="worker processes need a shared PostgreSQL"
    ),
    pytest.mark.skipif(
        BROKER.startswith("memory://"), reason="worker processes need a shared broker"
    ),
]


def _database_url() -> str:
    """The test database (pytest-django's test_… name) as a DATABASE_URL for a child process."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "localhost", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


@contextmanager
def worker_process(log_dir: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery -A project worker --pool=solo`` process on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.notifications.fault_settings",
        "CELERY_BROKER_URL": BROKER,
    }
    env.setdefault("DEBUG", "1")
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "project",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{name}-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def _log(log_dir: Path) -> str:
    return "\n".join(
        f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
        for path in sorted(log_dir.glob("*.log"))
    )


def _tick_until_sent(row_id: int, timeout: float = 90.0) -> bool:
    """Play beat: send the requeue tick every second until the row is sent. A tick sent before
    the new worker has declared its queue (after a FLUSHALL) cannot be routed and is retried."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Outbox.objects.get(pk=row_id).status == Outbox.Status.SENT:
            return True
        with suppress(Exception):  # the new worker rebuilds the broker's routing table
            requeue_pending.delay()
        time.sleep(1)
    return False


def _webhook_notification(server: Endpoint, label: str) -> Outbox:
    user = UserFactory()
    department = standalone_department()
    WebhookEndpoint.objects.create(department=department, url=server.url, secret=SECRET)
    key = f"fault:{label}:{uuid.uuid4().hex[:8]}:user:{user.pk}"
    notify(  # commits: the delivery message is now in the broker
        key=key,
        user_id=user.pk,
        channels=["inapp", "webhook"],
        title="故障演练",
        body=label,
        webhook_department_id=department.pk,
    )
    return Outbox.objects.get(key=key)


def _assert_signed(server: Endpoint) -> None:
    for request in server.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["X-SafeChain-Signature"], expected)


def test_kill_9_of_a_worker_mid_delivery_loses_nothing_and_doubles_nothing_in_app(tmp_path):
    with serve(["hang", 200]) as server:
        row = _webhook_notification(server, "kill")

        with worker_process(tmp_path, "victim") as victim:
            assert server.got_request.wait(60), _log(tmp_path)
            row.refresh_from_db()
            assert (row.status, row.attempts) == ("sending", 1)
            os.kill(victim.pid, signal.SIGKILL)
            assert victim.wait(10) == -signal.SIGKILL

        row.refresh_from_db()
        assert row.status == "sending"  # nobody finished it: the lease will run out

        with worker_process(tmp_path, "rescuer"):
            assert _tick_until_sent(row.pk), _log(tmp_path)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert Notification.objects.filter(key=row.key).count() == 1
    # At-least-once outside, with the same key: the receiver can drop the repeat.
    assert [request.headers["Idempotency-Key"] for request in server.received] == [row.key] * 2
    assert len({request.body for request in server.received}) == 1
    _assert_signed(server)


@pytest.mark.skipif(not BROKER.startswith("redis://"), reason="FLUSHALL needs a Redis broker")
def test_a_redis_flushall_between_notify_and_delivery_loses_nothing(tmp_path):
    import redis

    with serve([200]) as server:
        row = _webhook_notification(server, "flush")
        broker = redis.Redis.from_url(BROKER)
        assert broker.dbsize() > 0  # the delivery message is waiting
        broker.flushall()
        assert broker.dbsize() == 0

        row.refresh_from_db()
        assert (row.status, row.attempts) == ("pending", 0)

        with worker_process(tmp_path, "after-flush"):
            assert _tick_until_sent(row.pk), _log(tmp_path)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert [request.headers["Idempotency-Key"] for request in server.received] == [row.key]
    assert Notification.objects.filter(key=row.key).count() == 1
    _assert_signed(server)
