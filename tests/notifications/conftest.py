"""Fixtures of the notifications tests."""

from __future__ import annotations

import pytest

from tests.factories import DepartmentFactory, UserFactory
from tests.notifications.servers import serve
from workflows.notifications import hooks
from workflows.notifications.models import WebhookEndpoint


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fault: kills workers or flushes the broker (needs PostgreSQL and Redis)"
    )


@pytest.fixture
def enqueued(monkeypatch):
    """Delivery messages are recorded instead of sent to the broker."""
    from workflows.notifications import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.deliver, "delay", sent.append)
    monkeypatch.setattr(tasks.deliver_many, "delay", sent.extend)
    return sent


@pytest.fixture
def run_deliveries(monkeypatch):
    """Delivery messages run at once, in this thread (no broker, no worker)."""
    from workflows.notifications import tasks

    ran: list[int] = []

    def run(outbox_id: int) -> None:
        ran.append(outbox_id)
        tasks.deliver.apply(args=(outbox_id,))

    monkeypatch.setattr(tasks.deliver, "delay", run)
    monkeypatch.setattr(tasks.deliver_many, "delay", lambda ids: [run(i) for i in ids])
    return ran


@pytest.fixture
def recipient(db):
    return UserFactory(
        username="li.lei", full_name="李雷", email="li.lei@example.cn", mobile="13812345678"
    )


@pytest.fixture
def department(db):
    return DepartmentFactory()


@pytest.fixture
def webhook_server():
    with serve() as endpoint:
        yield endpoint


@pytest.fixture
def endpoint(department, webhook_server):
    return WebhookEndpoint.objects.create(
        department=department, url=webhook_server.url, secret="s3cret-for-tests"
    )


@pytest.fixture
def sms_log(settings, tmp_path):
    settings.NOTIFICATIONS_SMS_LOG = tmp_path / "sms.log"
    return settings.NOTIFICATIONS_SMS_LOG


@pytest.fixture
def still_needed():
    """Register still-needed hooks for one test: ``still_needed(func)``; removed afterwards."""
    registered = []

    def register(func):
        registered.append(func)
        return hooks.register_still_needed(func)

    yield register
    for func in registered:
        hooks.unregister_still_needed(func)


@pytest.fixture(autouse=True)
def _fast_defaults(settings):
    settings.NOTIFICATIONS_BASE_URL = "https://anlian.example.cn"


@pytest.fixture(autouse=True)
def _isolated_hooks(monkeypatch):
    """These tests drive the hook mechanism themselves: hooks other apps registered in ready()
    (the deadlines app's check would cancel rows of deadlines that do not exist) are set aside."""
    monkeypatch.setattr(hooks, "_still_needed", [])
