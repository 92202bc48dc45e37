"""Celery tasks of the notifications app (thin: each calls a service).

Retries are not Celery retries: a failed attempt moves the outbox row's ``next_attempt_at`` out by
exponential backoff and ``requeue_pending`` (beat, every 60 s) sends it again. The broker holds no
state the database does not, so a flushed broker or a killed worker loses nothing.
"""

from __future__ import annotations

from celery import shared_task

from .services import outbox_deliver, outbox_requeue


@shared_task(name="notifications.deliver", ignore_result=True)
def deliver(outbox_id: int) -> str:
    """Deliver one outbox row (claim, re-check still-needed, send, record the outcome)."""
    return outbox_deliver(outbox_id=outbox_id)


@shared_task(name="notifications.requeue_pending", ignore_result=True)
def requeue_pending() -> int:
    """Beat tick: enqueue due pending rows and rows whose worker died; returns how many."""
    return len(outbox_requeue())
