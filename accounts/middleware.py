"""Absolute session lifetime: a login lasts at most SESSION_ABSOLUTE_SECONDS, however active."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .security import SESSION_STARTED_AT_KEY


class AbsoluteSessionTimeoutMiddleware:
    """Log the user out once the login is older than ``SESSION_ABSOLUTE_SECONDS``.

    The idle timeout is Django's own sliding ``SESSION_COOKIE_AGE``; this one does not slide.
    A session without a start stamp (made before this middleware existed) is treated as expired.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            started = request.session.get(SESSION_STARTED_AT_KEY)
            now = int(timezone.now().timestamp())
            if started is None or now - int(started) >= settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)
