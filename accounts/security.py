"""Session and login hardening: client IP for axes, the absolute session lifetime."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

SESSION_STARTED_AT_KEY = "_auth_started_at"


def client_ip(request: HttpRequest) -> str:
    """The client address axes locks on.

    ``X-Forwarded-For`` is trusted only for the configured number of reverse proxies in front of the
    app (``TRUSTED_PROXY_COUNT``); otherwise a client could forge it to dodge the lockout.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def stamp_session_start(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Remember when this login began; the absolute-timeout middleware reads it."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_AT_KEY] = int(timezone.now().timestamp())
