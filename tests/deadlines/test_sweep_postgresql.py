"""The sweep on PostgreSQL: concurrent sweeps split the work, and the claim uses the partial index.

SQLite has no row locks and a different planner, so these run on PostgreSQL — which CI always
provides; locally without it they skip.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from workflows.deadlines.models import Deadline
from workflows.deadlines.selectors import deadlines_due, policy_for
from workflows.deadlines.services import deadline_open, deadlines_sweep

from .conftest import SUBJECT

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks and the planner need PostgreSQL (CI runs it)",
)


def race(*calls):
    """Run the calls at the same moment in threads; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        try:
            barrier.wait()
            results.append(call())
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_sweeps_write_each_key_exactly_once(handler, notify):
    overdue_on = timezone.localdate() - timedelta(days=3)
    for subject_id in range(1, 61):
        deadline_open(
            subject_type=SUBJECT,
            subject_id=subject_id,
            stage="rectify",
            grade="general",
            explicit_on=overdue_on,
        )
    results, errors = race(
        lambda: deadlines_sweep(batch=4),
        lambda: deadlines_sweep(batch=4),
    )
    assert errors == []
    assert sum(r.claimed for r in results) == 60
    # The chase: assignee and enterprise principal, for each of the 60 deadlines.
    assert len(notify.calls) == 120
    assert set(notify.key_counts().values()) == {1}
    assert not Deadline.objects.filter(next_action_at__lte=timezone.now(), open=True).exists()
    assert deadlines_sweep().claimed == 0


@pytest.mark.django_db
def test_the_sweep_query_uses_the_partial_index_on_100000_rows():
    policy = policy_for("general", "rectify", date(2026, 1, 1))
    now = timezone.now()
    rows = []
    for i in range(100_000):
        if i % 1000 == 0:  # 100 due
            next_at, is_open = now - timedelta(minutes=i % 7 + 1), True
        elif i % 10 == 0:  # closed rows
            next_at, is_open = None, False
        elif i % 10 == 1:  # ladder exhausted
            next_at, is_open = None, True
        else:
            next_at, is_open = now + timedelta(hours=1 + i % 5000), True
        rows.append(
            Deadline(
                subject_type=SUBJECT,
                subject_id=i,
                stage="rectify",
                grade="general",
                policy=policy,
                due_at=now + timedelta(days=i % 30),
                next_action_at=next_at,
                open=is_open,
                closed_at=None if is_open else now,
            )
        )
    Deadline.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE deadlines_deadline")
    with transaction.atomic():
        plan = deadlines_due(batch=500).explain()
        claimed = list(deadlines_due(batch=500))
    assert "deadlines_deadline_due" in plan, plan
    assert "Seq Scan on deadlines_deadline" not in plan, plan
    assert len(claimed) == 100
    assert [d.next_action_at for d in claimed] == sorted(d.next_action_at for d in claimed)
