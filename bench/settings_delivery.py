"""Settings of the Celery worker that ``bench.delivery`` starts: the project's own, with SMS sent
to the mock gateway the benchmark runs (``BENCH_SMS_URL``) and the delivery chunk it measures."""

from __future__ import annotations

import os

from project.settings import *  # noqa: F403

NOTIFICATIONS_BACKENDS = {"sms": "workflows.notifications.backends.sms.HttpGatewayBackend"}
NOTIFICATIONS_SMS_GATEWAY = {"url": os.environ["BENCH_SMS_URL"], "timeout": 10}
NOTIFICATIONS_DELIVERY_CHUNK = int(os.environ.get("BENCH_DELIVERY_CHUNK", "50"))
