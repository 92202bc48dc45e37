"""The notification centre: the user's inbox, opening a notification, marking read."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services
from .models import Notification

PAGE_SIZE = 20


def _get_notification_or_404(request: HttpRequest, pk: int) -> Notification:
    """The user's own notification; someone else's is indistinguishable from a missing one."""
    try:
        return selectors.notification_get(user=request.user, notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404 from None


def _safe_target(request: HttpRequest, url: str) -> str | None:
    """``url`` when it stays on this site (no open redirect through a notification link)."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def _see_other(url: str) -> HttpResponseRedirect:
    """303 after a POST: what Hotwire Turbo (viewflow's page loader) expects."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The inbox, newest first, 20 a page; ``?unread=1`` shows unread ones only."""
    unread_only = request.GET.get("unread") == "1"
    notifications = selectors.notifications_for(user=request.user, unread_only=unread_only)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "page_obj": page,
        "notifications": page.object_list,
        "unread_only": unread_only,
        "unread_total": selectors.unread_count(user=request.user, cap=None),
    }
    return TemplateResponse(request, "notifications/list.html", context)


@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification to its target (the hazard page), marking it read on the way.

    A GET that changes state, on purpose: the link must work from the list, from an e-mail and with
    a middle click; marking read is idempotent and harmless if a crawler or prefetch triggers it.
    """
    notification = _get_notification_or_404(request, pk)
    services.notification_mark_read(user=request.user, notification=notification)
    target = _safe_target(request, notification.link)
    return HttpResponseRedirect(target or reverse("notifications:index"))


@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go back (to ``next`` when it is a local URL)."""
    notification = _get_notification_or_404(request, pk)
    services.notification_mark_read(user=request.user, notification=notification)
    target = _safe_target(request, request.POST.get("next", ""))
    return _see_other(target or reverse("notifications:index"))


@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every unread notification of the user read."""
    changed = services.notification_mark_all_read(user=request.user)
    if changed:
        messages.success(request, _("All notifications are marked as read."))
    target = _safe_target(request, request.POST.get("next", ""))
    return _see_other(target or reverse("notifications:index"))
