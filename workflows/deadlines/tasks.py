"""Celery tasks of the deadlines app (thin: each calls a service)."""

from __future__ import annotations

from celery import shared_task

from .services import deadlines_tick


@shared_task(name="deadlines.sweep_deadlines", ignore_result=True)
def sweep_deadlines(batch: int = 500) -> dict[str, int]:
    """Sent by beat every minute: sweep due deadlines, then fire viewflow's due timers.

    Safe to run twice at once (a duplicated beat, a cron next to beat): rows are claimed with
    SKIP LOCKED and every notification key is unique. Give the schedule entry an expiry of one
    interval so a backlog of ticks never piles up behind a stopped worker.
    """
    tick = deadlines_tick(batch=batch)
    return {**tick.sweep.as_dict(), "timers": tick.timers}
