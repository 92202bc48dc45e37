"""Races on PostgreSQL: row locks decide, so two people never both win.

SQLite has no row locks (SELECT … FOR UPDATE is a no-op there), so these run on PostgreSQL — which
CI always provides; locally without it they skip, and CI fails on any skipped test.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from workflows.hazards import services
from workflows.hazards.models import HazardTask
from workflows.hazards.selectors import active_task

from .personas import build_world, photo
from .test_queues import report_a

pytestmark = [
    # serialized_rollback: restore the seeded catalogues (department kinds, industries) after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)"
    ),
]


def race(*calls):
    """Run the calls at the same moment in threads; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        try:
            barrier.wait()
            results.append(call())
        except Exception as exc:  # the loser's error is the point of the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.fixture
def hazard(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build_world()
    created = services.hazard_report(
        reporter=world.inspector,
        enterprise=world.enterprise,
        title="并发",
        description="d",
        location="l",
        source="routine",
        before_photos=[photo()],
    )
    return world, created


def test_two_people_claiming_the_same_task_leave_exactly_one_owner(hazard):
    world, created = hazard
    task = active_task(hazard=created, node_name="triage")
    results, errors = race(
        lambda: services.task_claim(task=HazardTask.objects.get(pk=task.pk), user=world.inspector),
        lambda: services.task_claim(task=HazardTask.objects.get(pk=task.pk), user=world.colleague),
    )
    assert len(results) == 1, errors
    assert len(errors) == 1
    task.refresh_from_db()
    assert task.owner in (world.inspector, world.colleague)


def test_a_double_submit_creates_exactly_one_next_task(hazard):
    world, created = hazard
    results, errors = race(
        lambda: services.hazard_triage(hazard=created, user=world.colleague, grade="general"),
        lambda: services.hazard_triage(hazard=created, user=world.colleague, grade="general"),
    )
    assert len(results) == 1, errors
    assert len(errors) == 1
    rectify = HazardTask.objects.filter(
        process_id=created.process_id, flow_task=services_flow().rectify
    )
    assert rectify.count() == 1
    assert created.events.filter(action="triage").count() == 1


def services_flow():
    from workflows.hazards.flows import HazardFlow

    return HazardFlow


def test_reports_at_the_same_moment_get_consecutive_codes_and_none_twice(hazard):
    """The city-year counter is bumped with one UPDATE … RETURNING and stays locked until the
    report commits: simultaneous reports queue on it and never share or skip a number."""
    world, first = hazard
    results, errors = race(*[lambda: report_a(world, title="同时登记").code] * 4)
    assert errors == []
    numbers = sorted(int(code[-6:]) for code in results)
    start = int(first.code[-6:])
    assert numbers == [start + 1, start + 2, start + 3, start + 4]
