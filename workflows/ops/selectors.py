"""Health checks: every part the product needs, each answering ok or why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from .models import Heartbeat


@dataclass
class Check:
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


def check_database() -> Check:
    """The default database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check(False, {"error": type(exc).__name__, "message": str(exc)[:200]})
    return Check(True, {"vendor": connection.vendor})


def check_broker(timeout: float = 2.0) -> Check:
    """The Celery broker accepts a connection within ``timeout`` seconds."""
    from project.celery import app

    try:
        with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
            transport = conn.transport_cls
    except Exception as exc:  # kombu raises many transport-specific errors
        return Check(False, {"error": type(exc).__name__, "message": str(exc)[:200]})
    return Check(True, {"transport": str(transport)})


def check_beat() -> Check:
    """The beat scheduler ticked recently (its heartbeat task ran through a worker)."""
    try:
        beat = Heartbeat.objects.filter(component=Heartbeat.Component.BEAT).first()
    except DatabaseError as exc:
        return Check(False, {"error": type(exc).__name__})
    if beat is None:
        return Check(False, {"last_tick_at": None, "age_seconds": None, "error": "never ticked"})
    age = (timezone.now() - beat.beat_at).total_seconds()
    return Check(
        age <= settings.HEALTHZ_BEAT_MAX_AGE,
        {
            "last_tick_at": beat.beat_at.isoformat(),
            "age_seconds": round(age, 1),
            "max_age_seconds": settings.HEALTHZ_BEAT_MAX_AGE,
        },
    )


def check_migrations() -> Check:
    """No migration is left unapplied."""
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return Check(False, {"error": type(exc).__name__})
    unapplied = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    return Check(not unapplied, {"unapplied": unapplied})


def health_report() -> tuple[bool, dict[str, Any]]:
    """Run every check; the report is healthy only if all pass."""
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "beat": check_beat(),
        "migrations": check_migrations(),
    }
    healthy = all(c.ok for c in checks.values())
    return healthy, {
        "status": "ok" if healthy else "fail",
        "failing": [name for name, c in checks.items() if not c.ok],
        "checks": {name: {"ok": c.ok, **c.detail} for name, c in checks.items()},
        "time": timezone.now().isoformat(),
    }
