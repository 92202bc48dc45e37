"""/healthz: 200 with every check when healthy, 503 naming the failing part otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from workflows.ops.models import Heartbeat
from workflows.ops.services import heartbeat_record


@pytest.fixture
def beat_ticked(db):
    return heartbeat_record(component=Heartbeat.Component.BEAT)


def test_healthy_when_everything_works(client, beat_ticked):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "beat", "migrations"}
    assert body["checks"]["beat"]["age_seconds"] < 5
    assert body["checks"]["migrations"]["unapplied"] == []


def test_needs_no_login(client, beat_ticked):
    assert client.get("/healthz").status_code == 200


def test_unhealthy_when_beat_never_ticked(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["beat"]
    assert body["checks"]["beat"]["last_tick_at"] is None


def test_unhealthy_when_the_last_tick_is_too_old(client, beat_ticked, settings):
    later = beat_ticked.beat_at + timedelta(seconds=settings.HEALTHZ_BEAT_MAX_AGE + 1)
    with time_machine.travel(later, tick=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]
    assert response.json()["checks"]["beat"]["age_seconds"] == settings.HEALTHZ_BEAT_MAX_AGE + 1


def test_unhealthy_when_a_migration_is_unapplied(client, beat_ticked):
    MigrationRecorder.Migration.objects.filter(app="ops", name="0001_initial").delete()
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["migrations"]
    assert "ops.0001_initial" in body["checks"]["migrations"]["unapplied"]


def test_unhealthy_when_the_broker_is_unreachable(client, beat_ticked, settings):
    # Port 1 on loopback refuses connections: a broker that is down.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["ok"] is False


def test_heartbeat_counts_every_tick(db):
    first = heartbeat_record(component=Heartbeat.Component.BEAT)
    later = timezone.now() + timedelta(minutes=1)
    second = heartbeat_record(component=Heartbeat.Component.BEAT, at=later)
    assert (first.count, second.count) == (1, 2)
    assert second.beat_at == later
