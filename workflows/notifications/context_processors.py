"""Template context for the bell in the site toolbar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from .selectors import unread_count as count_unread

_CACHE_ATTRIBUTE = "_notifications_unread_count"


def unread_count(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """``notifications_unread_count``: a callable the template resolves on first use — a page that
    shows no bell runs no query, and a page that shows it twice runs one (cached on the request)."""

    def count() -> int:
        cached: int | None = getattr(request, _CACHE_ATTRIBUTE, None)
        if cached is None:
            user: Any = getattr(request, "user", None)
            cached = count_unread(user=user)
            setattr(request, _CACHE_ATTRIBUTE, cached)
        return cached

    return {"notifications_unread_count": count}
