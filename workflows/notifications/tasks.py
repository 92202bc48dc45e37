"""Celery tasks of the notifications app (thin: each calls a service).

Retries are not Celery retries: a failed attempt moves the outbox row's ``next_attempt_at`` out by
exponential backoff and ``requeue_pending`` (beat, every 60 s) sends it again. The broker holds no
state the database does not, so a flushed broker or a killed worker loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from time import monotonic

from celery import shared_task
from django.conf import settings

from .services import outbox_deliver, outbox_requeue

logger = logging.getLogger(__name__)


@shared_task(name="notifications.deliver", ignore_result=True)
def deliver(outbox_id: int) -> str:
    """Deliver one outbox row (claim, re-check still-needed, send, record the outcome)."""
    return outbox_deliver(outbox_id=outbox_id)


@shared_task(name="notifications.deliver_many", ignore_result=True)
def deliver_many(outbox_ids: Sequence[int]) -> dict[str, int]:
    """Deliver several outbox rows, one after the other, each exactly as ``deliver`` does.

    One broker message per chunk instead of per row (a sweep writes thousands). A row that raises
    is logged and left to the requeue tick; the others go on. Past half the soft time limit the
    rest is handed on as a new message, so a chunk of slow providers never hits the hard limit.
    """
    budget = float(getattr(settings, "CELERY_TASK_SOFT_TIME_LIMIT", None) or 60) / 2
    started = monotonic()
    outcomes: dict[str, int] = {}
    ids = list(outbox_ids)
    for index, outbox_id in enumerate(ids):
        if index and monotonic() - started > budget:
            deliver_many.delay(ids[index:])
            outcomes["handed_on"] = len(ids) - index
            break
        try:
            status = outbox_deliver(outbox_id=outbox_id)
        except Exception:
            logger.exception(
                "delivery of outbox row %s failed; the requeue tick retries", outbox_id
            )
            status = "error"
        outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes


@shared_task(name="notifications.requeue_pending", ignore_result=True)
def requeue_pending() -> int:
    """Beat tick: enqueue due pending rows and rows whose worker died; returns how many."""
    return len(outbox_requeue())
