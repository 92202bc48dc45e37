"""Site-wide middleware that belongs to no app."""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from django.http import HttpRequest, HttpResponse


class ServerTimingMiddleware:
    """``Server-Timing: app;dur=<ms>`` on every response: the time this process spent on the
    request, from the first middleware to the finished response (W3C Server Timing).

    Browsers show it in their network panel, a proxy can log it, and the benchmark reads it to
    tell the server's own time from the time a request waited for a free worker. It says no more
    than a client can time itself; a streamed body is timed up to its first byte.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        started = perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(perf_counter() - started) * 1000:.1f}"
        return response
