"""State changes of the ops app."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Heartbeat


@transaction.atomic
def heartbeat_record(*, component: str, at: datetime | None = None) -> Heartbeat:
    """Record that ``component`` is alive now (one row per component; the count only grows)."""
    at = at or timezone.now()
    updated = Heartbeat.objects.filter(component=component).update(beat_at=at, count=F("count") + 1)
    if not updated:
        # First tick ever. A concurrent first tick may win the insert: then ours is an update.
        _row, created = Heartbeat.objects.get_or_create(
            component=component, defaults={"beat_at": at, "count": 1}
        )
        if not created:
            Heartbeat.objects.filter(component=component).update(beat_at=at, count=F("count") + 1)
    return Heartbeat.objects.get(component=component)
