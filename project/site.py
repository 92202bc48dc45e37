"""The viewflow Site: the product's web UI shell. Apps register their viewsets here."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Site

from accounts.views import HomeView
from workflows.hazards.flows import HazardFlow
from workflows.hazards.viewsets import HazardFlowViewset
from workflows.hazards.viewsets_pages import HazardPagesViewset
from workflows.notifications.urls import NotificationCentre


class SafeChainSite(Site):
    """The site root is the personal workbench; the menu grows as workflow apps are added."""

    title = _("SafeChain")
    primary_color = "#b71c1c"
    secondary_color = "#ff8f00"
    menu_template_name = "safechain/site_menu.html"
    index_path = path("", HomeView.as_view(), name="index")


site = SafeChainSite(
    viewsets=[
        HazardPagesViewset(),
        HazardFlowViewset(HazardFlow, title=_("Hazard tasks"), icon="assignment"),
        NotificationCentre(),
    ]
)
