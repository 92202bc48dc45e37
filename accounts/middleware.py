"""Session lifetimes: idle (sliding, written at most once a minute) and absolute."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .security import SESSION_STARTED_AT_KEY

SESSION_TOUCHED_AT_KEY = "_touched_at"


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


class SlidingSessionMiddleware:
    """The sliding idle timeout without a session write on every request.

    Django's ``SESSION_SAVE_EVERY_REQUEST`` rewrites the session row on every page (three queries:
    BEGIN, UPDATE, COMMIT). Here a logged-in session is re-saved — which moves its expiry to
    ``SESSION_COOKIE_AGE`` from now — only when the last save is ``SESSION_TOUCH_SECONDS`` (60)
    or more ago, so the idle window after the last request is between ``SESSION_COOKIE_AGE`` minus
    that minute and ``SESSION_COOKIE_AGE``: never longer than the configured idle timeout.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) is not None:
            now = int(timezone.now().timestamp())
            touched = int(session.get(SESSION_TOUCHED_AT_KEY) or 0)
            if now - touched >= settings.SESSION_TOUCH_SECONDS:
                session[SESSION_TOUCHED_AT_KEY] = now  # modified: saved with a fresh expiry
        return self.get_response(request)
