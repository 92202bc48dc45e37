"""The project's URLs with the notification centre mounted in the site, as the lead will do.

Once project/site.py (or project/urls.py) mounts it, the project's URLs are used unchanged."""

from __future__ import annotations

from django.urls import NoReverseMatch, URLResolver, path, reverse

from project import urls as project_urls
from project.site import SafeChainSite
from workflows.notifications.urls import NotificationCentre

try:
    reverse("notifications:index", urlconf="project.urls")
except NoReverseMatch:
    site = SafeChainSite(viewsets=[NotificationCentre()])
    urlpatterns = [
        pattern
        for pattern in project_urls.urlpatterns
        if not (isinstance(pattern, URLResolver) and str(pattern.pattern) == "")
    ]
    urlpatterns.append(path("", site.urls))
else:
    urlpatterns = project_urls.urlpatterns
