"""The industry tree in the admin: a tree it stays (no industry under itself or its descendants)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.admin import OrganisationPermissions

from ..models import Industry


class IndustryForm(forms.ModelForm):
    class Meta:
        model = Industry
        fields = ("code", "name", "parent", "sort_order")

    def clean_parent(self) -> Industry | None:
        """The tree stays a tree: an industry may not sit under itself or its descendants."""
        parent: Industry | None = self.cleaned_data.get("parent")
        node, seen = parent, set()
        while node is not None and node.pk not in seen:
            if self.instance.pk is not None and node.pk == self.instance.pk:
                raise ValidationError(
                    _("An industry cannot be placed under itself or one of its sub-industries.")
                )
            seen.add(node.pk)
            node = node.parent
        return parent


@admin.register(Industry)
class IndustryAdmin(OrganisationPermissions, admin.ModelAdmin):
    form = IndustryForm
    list_display = ("code", "name", "parent", "sort_order", "history_link")
    list_filter = (("parent", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    list_select_related = ("parent",)
    change_form_template = "admin/responsibility/industry_change_form.html"

    @admin.display(description=_("duty history"))
    def history_link(self, obj: Industry) -> Any:
        url = reverse("admin:responsibility_duty_industry_history", kwargs={"code": obj.code})
        return format_html('<a href="{}">{}</a>', url, gettext("duty history"))
