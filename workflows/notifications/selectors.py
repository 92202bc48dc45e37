"""Reads of the in-app inbox, always scoped to one user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Notification


def notifications_for(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first (served by the (recipient, read_at, -created_at) index)."""
    notifications = Notification.objects.filter(recipient=user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


def notification_get(*, user: Any, notification_id: int) -> Notification:
    """One of the user's notifications; Notification.DoesNotExist for anyone else's."""
    return Notification.objects.get(pk=notification_id, recipient=user)


def unread_count(*, user: Any, cap: int | None = 100) -> int:
    """How many unread notifications the user has, counted up to ``cap`` (the badge shows "99+"):
    one COUNT over at most ``cap`` index entries however full the inbox is; ``cap=None`` counts all."""
    if not getattr(user, "is_authenticated", False):
        return 0
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    return unread[:cap].count() if cap is not None else unread.count()
