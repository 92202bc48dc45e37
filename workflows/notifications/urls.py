"""URLs of the notification centre (namespace "notifications").

Mount it in the viewflow site, which gives the page the site menu and a menu entry::

    # project/site.py
    from workflows.notifications.urls import NotificationCentre
    site = SafeChainSite(viewsets=[NotificationCentre()])          # → /notifications/

or, without the menu, as a plain include in project/urls.py (not both)::

    path("notifications/", include("workflows.notifications.urls")),
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from . import views

app_name = "notifications"


class NotificationCentre(Application):
    """The inbox as a viewflow application: /notifications/ in the site, with a menu entry."""

    app_name = "notifications"
    title = _("Notifications")
    icon = "notifications"
    menu_template_name = None  # no sub-menu: the application is one page
    index_path = path("", views.notification_list, name="index")
    open_path = path("<int:pk>/open/", views.notification_open, name="open")
    read_path = path("<int:pk>/read/", views.notification_read, name="read")
    read_all_path = path("read-all/", views.notification_read_all, name="read_all")


urlpatterns = [
    NotificationCentre.index_path,
    NotificationCentre.open_path,
    NotificationCentre.read_path,
    NotificationCentre.read_all_path,
]
