"""Admin for API clients, their tokens, personal tokens and the idempotency ledger.

Credentials are security-critical, so Django's own model permissions decide who may see and change them
(superusers, or staff explicitly granted the ``api`` permissions). A client is created and changed
through the services (which keep its service user in step) and is never deleted — deactivate it, so its
hazards keep their reporter. Token rows are read-only: the action "Create a token" shows the secret
once, in a message; the revoke actions take effect on the next request.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import ApiClient, ApiClientToken, IdempotencyRecord, PersonalToken, Scope


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=Scope.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the client's tokens may do, within its department's scope."),
    )

    class Meta:
        model = ApiClient
        fields = ("name", "department", "scopes", "active", "notes")


class ApiClientTokenInline(admin.TabularInline):
    model = ApiClientToken
    extra = 0
    can_delete = False
    fields = ("prefix", "created_at", "created_by", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ("name", "department", "scope_list", "active", "active_tokens", "created_at")
    list_filter = ("active", "department__kind")
    search_fields = ("name", "department__name", "department__code")
    autocomplete_fields = ("department",)
    readonly_fields = ("service_user", "created_by", "created_at")
    inlines = (ApiClientTokenInline,)
    actions = ("create_token", "revoke_tokens")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiClient]:
        return (
            super()
            .get_queryset(request)
            .select_related("department")
            .annotate(_active_tokens=Count("tokens", filter=Q(tokens__revoked_at__isnull=True)))
        )

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiClient) -> str:
        return ", ".join(obj.scopes or [])

    @admin.display(description=_("unrevoked tokens"), ordering="_active_tokens")
    def active_tokens(self, obj: ApiClient) -> int:
        return int(getattr(obj, "_active_tokens", 0))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiClient, form: Any, change: bool) -> None:
        if change:
            services.api_client_update(
                client=obj,
                name=obj.name,
                department=obj.department,
                scopes=list(obj.scopes or []),
                active=obj.active,
                notes=obj.notes,
            )
            return
        created = services.api_client_create(
            name=obj.name,
            department=obj.department,
            scopes=list(obj.scopes or []),
            created_by=request.user,
            notes=obj.notes,
            active=obj.active,
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    @admin.action(description=_("Create a token (shown once)"))
    def create_token(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        for client in queryset:
            _token, secret = services.api_client_token_create(
                client=client, created_by=request.user
            )
            messages.warning(
                request,
                gettext(
                    "New token for %(client)s — copy it now, it will not be shown again: %(token)s"
                )
                % {"client": client.name, "token": secret},
            )

    @admin.action(description=_("Revoke all tokens"))
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        count = sum(services.api_client_tokens_revoke_all(client=client) for client in queryset)
        messages.success(
            request,
            ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", count) % {"n": count},
        )


class _ReadOnlyTokenAdmin(admin.ModelAdmin):
    """Token rows: view and revoke only."""

    actions = ("revoke",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Revoking is a change: offer it to whoever may change tokens (read-only admin otherwise).
        actions = super().get_actions(request)
        if not request.user.has_perm(f"api.change_{self.model._meta.model_name}"):
            actions.pop("revoke", None)
        return actions

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            if isinstance(token, PersonalToken):
                services.personal_token_revoke(token=token)
            else:
                services.api_client_token_revoke(token=token)
            count += 1
        messages.success(
            request,
            ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", count) % {"n": count},
        )


@admin.register(ApiClientToken)
class ApiClientTokenAdmin(_ReadOnlyTokenAdmin):
    list_display = ("client", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("client",)
    search_fields = ("prefix", "client__name")
    list_select_related = ("client",)
    fields = (
        "client",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    readonly_fields = fields


@admin.register(PersonalToken)
class PersonalTokenAdmin(_ReadOnlyTokenAdmin):
    list_display = (
        "user",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    search_fields = ("prefix", "name", "user__username", "user__full_name")
    list_select_related = ("user",)
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("client", "key", "status_code", "hazard", "created_at")
    list_filter = ("client",)
    search_fields = ("key", "hazard__code")
    list_select_related = ("client", "hazard")
    fields = (
        "client",
        "key",
        "request_hash",
        "status_code",
        "hazard",
        "response_body",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
