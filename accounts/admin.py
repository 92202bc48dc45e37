"""Admin console for people and organisations.

Who may do what is decided from memberships, not from Django's per-model permission rows, so it works
without assigning any permission (superusers keep everything):

- superusers and committee office staff (安委办: role "committee" in a department of kind
  committee_office) add and change regions, department kinds, departments, enterprises, users and
  memberships; only superusers delete organisations or users (users are deactivated, not deleted);
- a department head manages the people of the departments they head: the memberships of those
  departments (roles staff and head only), and the users who belong to those departments alone —
  never their superuser/staff flags, groups or permissions;
- any other staff user who belongs to a department may view the organisations; nothing else, except
  what Django's own view permissions grant (view only).

Entering the admin at all needs ``is_staff``: an administrator sets it on the user by hand when making
them a head or committee office staff; it is never set automatically.

``accounts`` knows no workflow, so the Enterprise admin is registered here without the industry and
post inlines; ``workflows/responsibility/admin/`` unregisters it and registers a subclass that adds
them. The membership rules themselves live in ``accounts/selectors.py``, shared with the duty map's
``workflows/responsibility/permissions.py`` (which this module may not import).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin, InlineModelAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Model, QuerySet
from django.db.models.fields import Field
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Department, DepartmentKind, Enterprise, Membership, Region, User
from .selectors import department_roles_of, is_active_user
from .uscc import normalize_uscc

HEAD_MANAGED_ROLES: tuple[str, ...] = (Membership.Role.STAFF, Membership.Role.HEAD)


# --- Who is asking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminAccess:
    """What the requesting user may do in the admin, read once per request from their memberships."""

    superuser: bool
    committee_office: bool
    headed_department_ids: frozenset[int]
    department_member: bool

    @property
    def manages_organisations(self) -> bool:
        return self.superuser or self.committee_office

    @property
    def heads_departments(self) -> bool:
        return bool(self.headed_department_ids)

    @property
    def head_only(self) -> bool:
        """A department head with no wider right: their forms and lists are narrowed."""
        return self.heads_departments and not self.manages_organisations

    @property
    def sees_organisations(self) -> bool:
        return self.manages_organisations or self.department_member


NO_ACCESS = AdminAccess(
    superuser=False,
    committee_office=False,
    headed_department_ids=frozenset(),
    department_member=False,
)


def admin_access(request: HttpRequest) -> AdminAccess:
    """The requesting user's admin rights, cached on the request (the admin asks for every model on
    every page). Inactive or anonymous users have none: an inactive superuser is no superuser."""
    user = request.user
    cached = getattr(request, "_safechain_admin_access", None)
    if cached is not None and cached[0] is user:
        return cached[1]
    access = NO_ACCESS
    if is_active_user(user):
        roles = department_roles_of(user)
        access = AdminAccess(
            superuser=bool(user.is_superuser),
            committee_office=roles.committee_office,
            headed_department_ids=roles.headed_department_ids,
            department_member=roles.department_member,
        )
    request._safechain_admin_access = (user, access)  # type: ignore[attr-defined]
    return access


def is_autocomplete_for(request: HttpRequest, model: type[Model], field_name: str) -> bool:
    """True when ``request`` is the admin's autocomplete lookup for ``model.field_name``."""
    match = getattr(request, "resolver_match", None)
    return bool(
        match is not None
        and match.url_name == "autocomplete"
        and request.GET.get("app_label") == model._meta.app_label
        and request.GET.get("model_name") == model._meta.model_name
        and request.GET.get("field_name") == field_name
    )


def role_choices(allowed: Sequence[str]) -> list[tuple[str, Any]]:
    """Membership role choices limited to ``allowed``, with the blank choice first."""
    return [("", "---------")] + [
        (v, label) for v, label in Membership.Role.choices if v in allowed
    ]


# --- Permission mixins ---------------------------------------------------------------------------


class OrganisationPermissions(BaseModelAdmin):
    """Organisation data: superusers and the committee office change it, department members and
    heads view it, only superusers delete it. Works for model admins and inlines alike."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        access = admin_access(request)
        if access.sees_organisations or access.heads_departments:
            return True
        return super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # type: ignore[override]
        return admin_access(request).manages_organisations

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_access(request).manages_organisations

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_access(request).superuser

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request) or self.has_change_permission(request)


class NotFoundOutsideScope(admin.ModelAdmin):
    """An object outside the requester's queryset answers 404 (the admin's default is a redirect
    that says it does not exist), like every other scoped view of the project."""

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj


class PeoplePermissions(NotFoundOutsideScope):
    """Users and memberships: the committee office and department heads see and add them (a head
    only within the departments they head; each admin narrows its queryset and changes)."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        access = admin_access(request)
        if access.manages_organisations or access.heads_departments:
            return True
        return super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        access = admin_access(request)
        return access.manages_organisations or access.heads_departments

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


# --- Users ---------------------------------------------------------------------------------------


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "full_name", "mobile")


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


def _head_user_creation_form(access: AdminAccess) -> type[UserCreationForm]:
    """The add form a department head gets: the new user joins one of the head's departments as
    staff, so the head can see and manage them afterwards."""
    department = ModelChoiceField(
        queryset=Department.objects.filter(pk__in=access.headed_department_ids),
        label=_("department"),
        help_text=_("The new user joins this department as staff."),
    )
    return type("HeadUserCreationForm", (UserCreationForm,), {"department": department})


@admin.register(User)
class UserAdmin(PeoplePermissions, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("username", "full_name", "mobile", "email", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("username", "full_name", "mobile", "email")
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("full_name", "mobile", "email")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "full_name", "mobile", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        """Heads see the members of their departments; when they pick the user of a new
        membership (autocomplete), any active user, so they can bring in an existing person."""
        qs = super().get_queryset(request)
        access = admin_access(request)
        if access.manages_organisations:
            return qs
        if access.heads_departments:
            if is_autocomplete_for(request, Membership, "user"):
                return qs.filter(is_active=True)
            return qs.filter(pk__in=self._members_of(access.headed_department_ids))
        if super().has_view_permission(request):
            return qs
        return qs.none()

    @staticmethod
    def _members_of(department_ids: frozenset[int]) -> QuerySet[Membership, Any]:
        return Membership.objects.filter(department_id__in=department_ids).values("user_id")

    def _head_may_change(self, access: AdminAccess, user: User) -> bool:
        """A head changes a user only if every membership of the user is in a department they head:
        anyone with a role elsewhere (committee office, an enterprise) is out of their hands."""
        if user.is_superuser:
            return False
        places = list(user.memberships.values_list("department_id", flat=True))
        return bool(places) and all(p in access.headed_department_ids for p in places)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        access = admin_access(request)
        if access.superuser:
            return True
        if access.committee_office:
            return obj is None or not obj.is_superuser
        if access.heads_departments:
            return obj is None or self._head_may_change(access, obj)
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_access(request).superuser

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """Only superusers grant superuser rights, groups and permissions; only they and the
        committee office grant admin entry (is_staff)."""
        fields = list(super().get_readonly_fields(request, obj))
        access = admin_access(request)
        if not access.superuser:
            fields += ["is_superuser", "groups", "user_permissions"]
            if not access.committee_office:
                fields.append("is_staff")
        return fields

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None and admin_access(request).head_only:
            name, options = fieldsets[0]
            fieldsets = (
                (name, {**options, "fields": (*options["fields"], "department")}),
                *fieldsets[1:],
            )
        return fieldsets

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        access = admin_access(request)
        if obj is None and access.head_only:
            kwargs["form"] = _head_user_creation_form(access)
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        department = form.cleaned_data.get("department")
        if not change and department is not None:
            Membership.objects.get_or_create(
                user=obj, department=department, role=Membership.Role.STAFF
            )


# --- Organisations -------------------------------------------------------------------------------


@admin.register(Region)
class RegionAdmin(OrganisationPermissions, admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "fictional")
    list_filter = ("level", "fictional")
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    list_select_related = ("parent",)
    ordering = ("code",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Region], search_term: str
    ) -> tuple[QuerySet[Region], bool]:
        """An enterprise sits in a county or township, so its region picker offers no city."""
        if is_autocomplete_for(request, Enterprise, "region"):
            queryset = queryset.exclude(level=Region.Level.CITY)
        return super().get_search_results(request, queryset, search_term)


@admin.register(DepartmentKind)
class DepartmentKindAdmin(OrganisationPermissions, admin.ModelAdmin):
    list_display = ("code", "name", "sort_order")
    search_fields = ("code", "name")
    ordering = ("sort_order", "code")


class MembershipInlinePermissions(BaseModelAdmin):
    """Memberships shown inside a department or enterprise: the committee office changes them; a head
    sees those of the departments they head (and changes them in the membership list)."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        access = admin_access(request)
        if access.manages_organisations:
            return True
        if isinstance(obj, Department) and obj.pk in access.headed_department_ids:
            return True
        return super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # type: ignore[override]
        return admin_access(request).manages_organisations

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_access(request).manages_organisations

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_access(request).manages_organisations


class MembershipInline(MembershipInlinePermissions, admin.TabularInline):
    """The members of one department or enterprise; the role list offers only ``allowed_roles``."""

    model = Membership
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    extra = 0
    verbose_name = _("member")
    verbose_name_plural = _("members")
    allowed_roles: ClassVar[Sequence[str]] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user")

    def formfield_for_choice_field(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "role":
            kwargs["choices"] = role_choices(self.allowed_roles)
        return super().formfield_for_choice_field(db_field, request, **kwargs)


class DepartmentMembershipInline(MembershipInline):
    fk_name = "department"
    allowed_roles = Membership.DEPARTMENT_ROLES


class EnterpriseMembershipInline(MembershipInline):
    fk_name = "enterprise"
    allowed_roles = Membership.ENTERPRISE_ROLES


@admin.register(Department)
class DepartmentAdmin(OrganisationPermissions, admin.ModelAdmin):
    list_display = ("code", "name", "kind", "region")
    list_filter = ("kind", "region__level")
    search_fields = ("code", "name", "kind__name", "region__code", "region__name")
    autocomplete_fields = ("kind", "region")
    list_select_related = ("kind", "region")
    inlines = (DepartmentMembershipInline,)


class UsccFormField(forms.CharField):
    """People type codes with spaces and in lower case; the model validates the normalised code."""

    def to_python(self, value: Any) -> str:
        return normalize_uscc(super().to_python(value) or "")


class EnterpriseForm(forms.ModelForm):
    class Meta:
        model = Enterprise
        fields = ("uscc", "name", "region", "address", "principal", "status")
        field_classes = {"uscc": UsccFormField}  # noqa: RUF012


@admin.register(Enterprise)
class EnterpriseAdmin(OrganisationPermissions, admin.ModelAdmin):
    """Registered again with the industry and post inlines by workflows/responsibility/admin/."""

    form = EnterpriseForm
    list_display = ("uscc", "name", "region", "principal", "status")
    list_filter: ClassVar[tuple[Any, ...]] = (
        "status",
        ("region", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("uscc", "name", "address", "principal__username", "principal__full_name")
    autocomplete_fields = ("region", "principal")
    list_select_related = ("region", "principal")
    inlines: ClassVar[tuple[type[InlineModelAdmin[Any, Any]], ...]] = (EnterpriseMembershipInline,)


# --- Memberships ---------------------------------------------------------------------------------


@admin.register(Membership)
class MembershipAdmin(PeoplePermissions, admin.ModelAdmin):
    """Who belongs where. A head manages staff and head memberships of the departments they head."""

    list_display = ("user", "department", "enterprise", "role")
    list_filter = ("role", ("department", admin.RelatedOnlyFieldListFilter), "department__kind")
    search_fields = (
        "user__username",
        "user__full_name",
        "user__mobile",
        "department__code",
        "department__name",
        "enterprise__uscc",
        "enterprise__name",
    )
    autocomplete_fields = ("user", "department", "enterprise")
    list_select_related = ("user", "department", "enterprise")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        qs = super().get_queryset(request)
        access = admin_access(request)
        if access.manages_organisations:
            return qs
        if access.heads_departments:
            return qs.filter(department_id__in=access.headed_department_ids)
        if super().has_view_permission(request):
            return qs
        return qs.none()

    def _head_may_change(self, access: AdminAccess, obj: Membership | None) -> bool:
        return obj is None or (
            obj.department_id in access.headed_department_ids and obj.role in HEAD_MANAGED_ROLES
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        access = admin_access(request)
        if access.manages_organisations:
            return True
        return access.heads_departments and self._head_may_change(access, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        """The bulk delete of a head spares the roles a head may not manage (committee)."""
        if admin_access(request).head_only:
            queryset = queryset.filter(role__in=HEAD_MANAGED_ROLES)
        super().delete_queryset(request, queryset)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if admin_access(request).head_only:
            return ("user", "department", "role")
        return ("user", "department", "enterprise", "role")

    def get_autocomplete_fields(self, request: HttpRequest) -> tuple[str, ...]:
        if admin_access(request).head_only:
            return ("user",)
        return tuple(self.autocomplete_fields)

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        access = admin_access(request)
        if db_field.name == "department" and access.head_only:
            kwargs["queryset"] = Department.objects.filter(pk__in=access.headed_department_ids)
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "role" and admin_access(request).head_only:
            kwargs["choices"] = role_choices(HEAD_MANAGED_ROLES)
        return super().formfield_for_choice_field(db_field, request, **kwargs)
