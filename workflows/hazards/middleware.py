"""Turn "someone else is working on this hazard" into HTTP 409 instead of a 500.

viewflow raises ``FlowLockFailed`` when the process row stays locked through all its retries (another
request is completing a step of the same hazard), and the services raise ``HazardStateError`` when the
hazard has moved on under the user's feet (a double submit, a task claimed by a colleague a moment
ago). Both are conflicts the user resolves by reloading — so: 409, a friendly Chinese page with a link
back, or a small JSON problem body for API clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from viewflow.workflow.exceptions import FlowLockFailed

from .services import HazardStateError

CONFLICT_STATUS = 409


def wants_json(request: HttpRequest) -> bool:
    """API paths, and clients that prefer JSON to HTML in their Accept header."""
    if request.path.startswith("/api/"):
        return True
    if "application/json" not in request.headers.get("Accept", ""):
        return False
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def _back_url(request: HttpRequest) -> str:
    """Where the user came from, if it is this site; the workbench otherwise."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return "/"


def _detail(exception: Exception) -> str:
    if isinstance(exception, HazardStateError):
        return " ".join(str(message) for message in exception.messages)
    return gettext("Another action on this hazard is in progress. Wait a moment and try again.")


def conflict_response(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 409 answer for a lock failure or a stale state, as JSON or as a page."""
    title = gettext("Someone else is working on this hazard; please try again.")
    detail = _detail(exception)
    if wants_json(request):
        return JsonResponse(
            {"type": "conflict", "title": title, "detail": detail}, status=CONFLICT_STATUS
        )
    return render(
        request,
        "hazards/conflict.html",
        {"title": title, "detail": detail, "back_url": _back_url(request)},
        status=CONFLICT_STATUS,
    )


class FlowLockMiddleware:
    """Answer ``FlowLockFailed`` and ``HazardStateError`` raised by a view with HTTP 409.

    Place it after ``MessageMiddleware`` so the page can render the site's layout.
    """

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, FlowLockFailed | HazardStateError):
            return conflict_response(request, exception)
        return None
