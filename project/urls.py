"""URL configuration: viewflow's Site (behind login), auth pages, admin, i18n and /healthz.

Every URL requires login (``LoginRequiredMiddleware``) unless its view is marked
``login_not_required`` — new URLs are private by default.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from viewflow.contrib.auth import AuthViewset

from accounts.forms import LoginForm
from project.site import site
from workflows.ops.views import healthz

admin.site.site_header = "安链 SafeChain 管理后台"
admin.site.site_title = "安链 SafeChain"
admin.site.index_title = "管理后台"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path(
        "jsi18n/",
        login_not_required(JavaScriptCatalog.as_view(packages=["viewflow"])),
        name="javascript-catalog",
    ),
    path(
        "accounts/",
        AuthViewset(
            with_profile_view=True,
            login_view=AuthViewset.login_view_class.as_view(
                authentication_form=LoginForm, redirect_authenticated_user=True
            ),
        ).urls,
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("workflows.api.urls")),
    path("api/schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    path(
        "api/docs/",
        login_not_required(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("", site.urls),
]

__all__ = ["include", "urlpatterns"]
