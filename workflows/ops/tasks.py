"""Celery tasks of the ops app (thin: each calls a service)."""

from __future__ import annotations

from celery import shared_task

from .models import Heartbeat
from .services import heartbeat_record


@shared_task(name="ops.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Sent by beat every minute: proves beat, broker, a worker and the database all work."""
    heartbeat_record(component=Heartbeat.Component.BEAT)


@shared_task(name="ops.ping")
def ping() -> str:
    """A round trip through the broker: the worker records that it ran and answers."""
    heartbeat_record(component=Heartbeat.Component.WORKER)
    return "pong"
