"""The hazard pages as an application of the viewflow Site (menu: 隐患台账, 登记隐患, 企业端).

Registered in ``project/site.py`` it serves exactly the patterns of ``hazards/urls.py`` under
``hazards/`` with the namespace ``hazards``, and the pages get the Site's navigation drawer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from . import urls, views


class HazardPagesViewset(Application):
    """隐患: the ledger (index), registration, the enterprise portal and the hazard page."""

    app_name = "hazards"
    title = _("Hazards")
    icon = "report_problem"
    menu_template_name = "hazards/menu.html"
    urlpatterns: ClassVar[list[Any]] = list(urls.urlpatterns)

    @property
    def index_path(self) -> Any:
        return path("", views.HazardListView.as_view(), name="index")
