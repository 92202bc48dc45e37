"""Pages of the accounts app."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView


class HomeView(TemplateView):
    """The workbench every logged-in user lands on (login is enforced by middleware)."""

    template_name = "accounts/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["user_display"] = self.request.user.get_full_name()  # type: ignore[union-attr]
        return context
