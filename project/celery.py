"""The Celery application.

Reliability defaults live in settings (``CELERY_*``): late acknowledgement, re-delivery when a worker
dies, prefetch of one, JSON only, soft and hard time limits. Deadlines are never kept in the broker
(no countdown/ETA for business time): the database holds them and the beat tick sweeps them.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("safechain")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def _tick_on_beat_start(sender: Any = None, **kwargs: Any) -> None:
    """Tick once as soon as beat starts: /healthz need not wait a whole interval, and deadlines that
    fell due while nothing ran are chased right away instead of a minute later."""
    app.send_task("ops.beat_heartbeat")
    app.send_task("deadlines.sweep_deadlines")
