"""A real Celery worker runs tasks through the configured broker (Redis in CI)."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker

from project.celery import app
from workflows.ops.models import Heartbeat
from workflows.ops.tasks import beat_heartbeat, ping

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


def test_the_reliability_defaults_are_configured():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit


def test_the_beat_schedule_ticks_the_heartbeat_every_minute():
    entry = app.conf.beat_schedule["beat-heartbeat"]
    assert entry["task"] == "ops.beat_heartbeat"
    assert entry["schedule"] == 60


def test_a_worker_runs_a_task_sent_through_the_broker(celery_worker):
    ping.delay()
    assert wait_for(lambda: Heartbeat.objects.filter(component="worker").exists())
    beat_heartbeat.delay()
    assert wait_for(lambda: Heartbeat.objects.filter(component="beat").exists())
    assert Heartbeat.objects.get(component="worker").count == 1


def test_a_worker_process_loads_the_url_map_when_it_starts():
    """The sweep's first reminder must not pay for importing every urls module (≈ 0.3 s)."""
    from celery.signals import worker_process_init
    from django.urls import clear_url_caches, get_resolver

    clear_url_caches()
    assert "url_patterns" not in vars(get_resolver())
    worker_process_init.send(sender=None)
    resolver = get_resolver()
    assert "url_patterns" in vars(resolver)
    assert resolver._populated  # the reverse tables too
    assert all(namespace._populated for _p, namespace in resolver.namespace_dict.values())
