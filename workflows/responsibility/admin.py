"""Admin console for the duty map, the industry tree and enterprise posts, plus its custom pages.

Rules (see ``accounts/admin.py`` for the people and organisation side):

- only superusers and committee office staff (``permissions.can_change_duty_map``) change the duty
  map, the industries and the posts; department members view them;
- a duty row is never deleted, by anyone, and never edited: the change form only lets the end date
  be set or moved earlier (``services.duty_end``); a change of duty is "replace from a date"
  (``services.duty_replace``: the old row ends the day before, a new row starts); adding goes through
  ``services.duty_create``, whose refusal (an overlapping lead) is shown as a form error.

The Enterprise admin is registered by ``accounts`` (which knows no workflow); this module
unregisters it and registers a subclass with the industry and post inlines and an "explain chain"
button.

Custom pages hang off the duty changelist (``DutyAdmin.get_urls``): coverage/ and import/ belong to
``admin_coverage`` and ``admin_import`` (imported when called, so this module loads without them);
explain/ and history/<industry code>/ and <id>/replace/ are defined here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet, TextField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import admin as accounts_admin
from accounts.admin import OrganisationPermissions, admin_access
from accounts.models import DepartmentKind, Enterprise, User
from accounts.uscc import normalize_uscc

from .models import Duty, EnterpriseIndustry, Industry, Level, Post
from .permissions import can_change_duty_map, can_view_admin_reports
from .selectors import duties_for_industry
from .services import duty_create, duty_end, duty_replace

GRADE_CHOICES = (("general", _("general hazard")), ("major", _("major hazard")))


def duty_state(duty: Duty, today: date) -> str:
    """ "valid", "expired" or "future" for ``today`` (``valid_to`` is the last valid day)."""
    if duty.valid_from > today:
        return "future"
    if duty.valid_to is not None and duty.valid_to < today:
        return "expired"
    return "valid"


DUTY_STATE_LABELS = {
    "valid": _("valid today"),
    "expired": _("expired"),
    "future": _("starts later"),
}


# --- Industries ----------------------------------------------------------------------------------


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


# --- The duty map --------------------------------------------------------------------------------


class ValidityFilter(admin.SimpleListFilter):
    """Rows valid today, already expired, or starting later (in Asia/Shanghai)."""

    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(DUTY_STATE_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Duty]) -> QuerySet[Duty]:
        today = timezone.localdate()
        value = self.value()
        if value == "valid":
            return queryset.filter(
                Q(valid_to__isnull=True) | Q(valid_to__gte=today), valid_from__lte=today
            )
        if value == "expired":
            return queryset.filter(valid_to__lt=today)
        if value == "future":
            return queryset.filter(valid_from__gt=today)
        return queryset


class DutyAddForm(forms.ModelForm):
    """Adding a duty row *is* the call to ``duty_create``, made once the fields are valid, so the
    service's refusal (an overlapping lead) becomes a form error. The admin runs the whole add view
    in one transaction, so nothing is left behind if a later step fails."""

    acting_user: User | None = None

    class Meta:
        model = Duty
        fields = (
            "industry",
            "department_kind",
            "role",
            "general_level",
            "major_level",
            "valid_from",
            "valid_to",
            "decision",
            "position",
        )

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.instance = duty_create(
                industry=data["industry"],
                department_kind=data["department_kind"],
                role=data["role"],
                general_level=data["general_level"],
                major_level=data["major_level"],
                valid_from=data["valid_from"],
                valid_to=data.get("valid_to"),
                decision=data.get("decision") or "",
                position=data.get("position") or 0,
                created_by=self.acting_user,
            )
        except ValidationError as exc:
            self.add_error(None, exc)


class DutyEndForm(forms.ModelForm):
    """The only change a duty row allows: its end date set, or moved earlier (``duty_end``)."""

    class Meta:
        model = Duty
        fields = ("valid_to",)

    def _post_clean(self) -> None:
        before = self.instance.valid_to
        super()._post_clean()  # type: ignore[misc]
        if self.errors or "valid_to" not in self.changed_data:
            return
        last_day = self.cleaned_data.get("valid_to")
        if last_day is None:
            self.add_error(
                "valid_to", _("An end date cannot be removed; add a new duty row instead.")
            )
            return
        if before is not None and last_day > before:
            self.add_error("valid_to", _("An end date can only be moved earlier."))
            return
        try:
            self.instance = duty_end(duty=self.instance, last_day=last_day)
        except ValidationError as exc:
            self.add_error(None, exc)


class DutyReplaceForm(forms.Form):
    """A committee decision changes a duty from a day on: the fields of the new row."""

    changed_on = forms.DateField(
        label=_("changed on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("First day of the new row; the current row ends the day before."),
    )
    department_kind = forms.ModelChoiceField(
        queryset=DepartmentKind.objects.all(), label=_("department kind")
    )
    role = forms.ChoiceField(choices=Duty.Role.choices, label=_("role"))
    general_level = forms.ChoiceField(choices=Level.choices, label=_("level for general hazards"))
    major_level = forms.ChoiceField(choices=Level.choices, label=_("level for major hazards"))
    position = forms.IntegerField(min_value=0, label=_("order"))
    decision = forms.CharField(max_length=100, label=_("decision reference"))

    def __init__(self, *args: Any, duty: Duty, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "changed_on": timezone.localdate(),
                "department_kind": duty.department_kind_id,
                "role": duty.role,
                "general_level": duty.general_level,
                "major_level": duty.major_level,
                "position": duty.position,
            },
        )
        super().__init__(*args, **kwargs)
        self.duty = duty

    def clean_changed_on(self) -> date:
        changed_on: date = self.cleaned_data["changed_on"]
        if changed_on <= self.duty.valid_from:
            raise ValidationError(
                _("The change must start after the row's first day (%(day)s)."),
                params={"day": self.duty.valid_from.isoformat()},
            )
        if self.duty.valid_to is not None and changed_on > self.duty.valid_to + timedelta(days=1):
            raise ValidationError(
                _("This row already ended on %(day)s; add a new duty row instead."),
                params={"day": self.duty.valid_to.isoformat()},
            )
        return changed_on


@admin.register(Duty)
class DutyAdmin(admin.ModelAdmin):
    """The duty map: rows are added or end-dated, never edited in place or deleted."""

    list_display = (
        "industry",
        "department_kind",
        "role",
        "general_level",
        "major_level",
        "valid_from",
        "valid_to",
        "state_today",
        "decision",
        "position",
    )
    list_filter = (
        "role",
        "department_kind",
        "general_level",
        "major_level",
        ValidityFilter,
        "industry",
    )
    search_fields = ("industry__code", "industry__name", "decision", "department_kind__name")
    autocomplete_fields = ("industry", "department_kind")
    list_select_related = ("industry", "department_kind")
    fields = (
        "industry",
        "department_kind",
        "role",
        "general_level",
        "major_level",
        "valid_from",
        "valid_to",
        "decision",
        "position",
        "created_at",
        "created_by",
    )

    @admin.display(description=_("today"))
    def state_today(self, obj: Duty) -> str:
        return str(DUTY_STATE_LABELS[duty_state(obj, timezone.localdate())])

    # Permissions: decided by the committee office rule, never by permission rows.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        access = admin_access(request)
        if access.sees_organisations or access.heads_departments:
            return True
        return super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return admin_access(request).manages_organisations

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_access(request).manages_organisations

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return DutyAddForm.Meta.fields
        return tuple(self.fields or ())

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return tuple(f for f in self.fields or () if f != "valid_to")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = DutyEndForm if obj is not None else DutyAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.acting_user = request.user  # type: ignore[attr-defined]
        return form

    def save_model(self, request: HttpRequest, obj: Duty, form: Any, change: bool) -> None:
        """Nothing to save: validating the form already called duty_create or duty_end."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_change_duty_map": can_change_duty_map(request.user),
            "can_view_reports": can_view_admin_reports(request.user),
        }
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_change_duty_map": can_change_duty_map(request.user),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Custom pages ----------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(view)

        custom = [
            path("coverage/", wrap(self.coverage_view), name="responsibility_duty_coverage"),
            path(
                "coverage/<str:fmt>/",
                wrap(self.coverage_download_view),
                name="responsibility_duty_coverage_download",
            ),
            path("import/", wrap(self.import_view), name="responsibility_duty_import"),
            path(
                "import/template/",
                wrap(self.import_template_view),
                name="responsibility_duty_import_template",
            ),
            path("explain/", wrap(self.explain_view), name="responsibility_duty_explain"),
            path(
                "history/<str:code>/",
                wrap(self.duty_history_view),
                name="responsibility_duty_industry_history",
            ),
            path(
                "<path:object_id>/replace/",
                wrap(self.replace_view),
                name="responsibility_duty_replace",
            ),
        ]
        return custom + super().get_urls()

    def coverage_view(self, request: HttpRequest) -> HttpResponse:
        from . import admin_coverage

        return admin_coverage.coverage_view(request, admin_site=self.admin_site)

    def coverage_download_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        from . import admin_coverage

        return admin_coverage.coverage_download(request, admin_site=self.admin_site, fmt=fmt)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        from . import admin_import

        return admin_import.import_view(request, admin_site=self.admin_site)

    def import_template_view(self, request: HttpRequest) -> HttpResponse:
        from . import admin_import

        return admin_import.template_download(request, admin_site=self.admin_site)

    def _page(self, request: HttpRequest, template: str, **context: Any) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": self.opts, **context},
        )

    def explain_view(self, request: HttpRequest) -> HttpResponse:
        """Explain the chain of an enterprise for an industry, grade, day and post.

        Bad input is shown as form errors; ``?format=json`` answers the chain's JSON."""
        if not can_view_admin_reports(request.user):
            raise PermissionDenied
        from .chain import ROLE_LABELS, ChainError, resolve_chain

        form = ExplainForm(request.GET or None, admin_site=self.admin_site)
        chain = None
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                chain = resolve_chain(
                    enterprise=data["enterprise"],
                    industry=data.get("industry"),
                    grade=data["grade"],
                    post=data.get("post_obj"),
                    on=data["on"],
                )
            except ChainError as exc:
                form.add_error(None, str(exc))
        if chain is not None and request.GET.get("format") == "json":
            return JsonResponse(chain.as_dict(), json_dumps_params={"ensure_ascii": False})
        rows = []
        if chain is not None:
            people = {
                u.username: u
                for u in User.objects.filter(
                    username__in=[link.person for link in chain.links if link.person]
                )
            }
            rows = [
                {
                    "link": link,
                    "role_label": ROLE_LABELS.get(link.role, link.role),
                    "person": people.get(link.person) if link.person else None,
                }
                for link in chain.links
            ]
            # Show the picked enterprise in the autocomplete even when the URL named it by USCC.
            shown = request.GET.copy()
            shown["enterprise"] = str(chain.enterprise.pk)
            shown["on"] = chain.on.isoformat()
            shown["grade"] = chain.grade
            form = ExplainForm(shown, admin_site=self.admin_site)
            form.is_valid()
        return self._page(
            request,
            "admin/responsibility/explain.html",
            title=gettext("Explain the responsibility chain"),
            form=form,
            chain=chain,
            rows=rows,
            grade_label=dict(GRADE_CHOICES).get(chain.grade, "") if chain else "",
            json_query=urlencode({**request.GET.dict(), "format": "json"}),
        )

    def duty_history_view(self, request: HttpRequest, code: str) -> HttpResponse:
        """Every duty row of the industry and its ancestors by first day, marking the rows valid
        today and those that decide today's chain (the nearest industry with rows wins)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        industry = get_object_or_404(Industry, code=code)
        lineage = industry.ancestors()
        today = timezone.localdate()
        in_effect: set[int] = set()
        for role in Duty.Role.values:
            _found_on, effective = duties_for_industry(industry, on=today, role=role)
            in_effect.update(d.pk for d in effective)
        duties = (
            Duty.objects.filter(industry__in=lineage)
            .select_related("industry", "department_kind", "created_by")
            .order_by("valid_from", "industry__code", "role", "position", "pk")
        )
        rows = [
            {
                "duty": duty,
                "state": duty_state(duty, today),
                "state_label": DUTY_STATE_LABELS[duty_state(duty, today)],
                "inherited": duty.industry_id != industry.pk,
                "in_effect": duty.pk in in_effect,
            }
            for duty in duties
        ]
        return self._page(
            request,
            "admin/responsibility/duty_history.html",
            title=gettext("Duty history of %(industry)s") % {"industry": industry.name},
            industry=industry,
            lineage=lineage,
            rows=rows,
            today=today,
        )

    def replace_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Replace a duty row from a day on (``duty_replace``): the old row ends the day before."""
        if not can_change_duty_map(request.user):
            raise PermissionDenied
        duty = self.get_object(request, object_id)
        if duty is None:
            raise Http404
        form = DutyReplaceForm(request.POST or None, duty=duty)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                new = duty_replace(
                    duty=duty,
                    changed_on=data["changed_on"],
                    created_by=request.user,  # type: ignore[arg-type]
                    decision=data["decision"],
                    department_kind=data["department_kind"],
                    role=data["role"],
                    general_level=data["general_level"],
                    major_level=data["major_level"],
                    position=data["position"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.log_change(request, duty, [{"changed": {"fields": ["valid_to"]}}])
                self.log_addition(request, new, [{"added": {}}])
                self.message_user(
                    request,
                    gettext("Duty replaced from %(day)s.")
                    % {"day": data["changed_on"].isoformat()},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:responsibility_duty_change", args=[new.pk])
                )
        return self._page(
            request,
            "admin/responsibility/duty_replace.html",
            title=gettext("Replace a duty from a date"),
            form=form,
            duty=duty,
            original=duty,
        )


# --- Explain form --------------------------------------------------------------------------------


class EnterpriseSelect(AutocompleteSelect):
    """The enterprise autocomplete; ignores values that are not ids (a USCC or garbage typed into
    the URL) instead of handing them to an integer lookup."""

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        value = [v for v in value if str(v).isdigit() and len(str(v)) < 18]
        return super().optgroups(name, value, attr)


class EnterpriseField(forms.ModelChoiceField):
    """An enterprise by id (from the autocomplete) or by its 18-character USCC (from a link)."""

    def to_python(self, value: Any) -> Enterprise | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if len(text) < 18 and text.isdigit():
            return super().to_python(text)
        found = Enterprise.objects.filter(uscc=normalize_uscc(text)).first()
        if found is None:
            raise ValidationError(
                _("No enterprise has the unified social credit code %(code)s."),
                code="invalid_choice",
                params={"code": text},
            )
        return found


class ExplainForm(forms.Form):
    enterprise = EnterpriseField(queryset=Enterprise.objects.all(), label=_("enterprise"))
    industry = forms.ModelChoiceField(
        queryset=Industry.objects.all(),
        to_field_name="code",
        required=False,
        label=_("industry"),
        empty_label=_("the enterprise's primary industry"),
    )
    grade = forms.ChoiceField(
        choices=GRADE_CHOICES, initial="general", required=False, label=_("grade")
    )
    on = forms.DateField(
        required=False,
        label=_("on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: today."),
    )
    post = forms.CharField(
        required=False,
        max_length=40,
        label=_("post code"),
        help_text=_("Optional: the post inside the enterprise that answers first."),
    )

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["enterprise"]
        field.widget = EnterpriseSelect(Post._meta.get_field("enterprise"), admin_site)
        field.widget.choices = field.choices  # type: ignore[attr-defined]
        field.widget.is_required = True
        self.fields["on"].initial = timezone.localdate()
        self.fields["industry"].label_from_instance = lambda i: f"{i.code} · {i.name}"  # type: ignore[attr-defined]

    def clean_grade(self) -> str:
        return str(self.cleaned_data.get("grade") or "general")

    def clean_on(self) -> date:
        on: date | None = self.cleaned_data.get("on")
        return on or timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        enterprise, code = data.get("enterprise"), data.get("post")
        data["post_obj"] = None
        if enterprise is not None and code:
            post = Post.objects.filter(enterprise=enterprise, code=code).first()
            if post is None:
                self.add_error(
                    "post",
                    _("%(enterprise)s has no post with the code %(code)s.")
                    % {"enterprise": enterprise.name, "code": code},
                )
            data["post_obj"] = post
        return data


# --- Enterprises and posts -----------------------------------------------------------------------


class EnterprisePartPermissions(OrganisationPermissions):
    """An enterprise's industries and posts: the committee office may also remove them."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_access(request).manages_organisations


class EnterpriseIndustryInline(EnterprisePartPermissions, admin.TabularInline):
    model = EnterpriseIndustry
    fields = ("position", "industry")
    autocomplete_fields = ("industry",)
    ordering = ("position",)
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[EnterpriseIndustry]:
        return super().get_queryset(request).select_related("industry")


class PostInline(EnterprisePartPermissions, admin.StackedInline):
    model = Post
    fk_name = "enterprise"
    fields = (("code", "title"), ("holder", "reports_to"), "duties")
    autocomplete_fields = ("holder",)
    extra = 0
    formfield_overrides = {TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 60})}}  # noqa: RUF012

    _enterprise: Enterprise | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Post]:
        return super().get_queryset(request).select_related("holder", "reports_to")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # Inline instances are made per request, so remembering the enterprise here is safe.
        self._enterprise = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "reports_to":
            kwargs["queryset"] = (
                Post.objects.filter(enterprise=self._enterprise)
                if self._enterprise is not None
                else Post.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


if admin.site.is_registered(Enterprise):
    admin.site.unregister(Enterprise)


@admin.register(Enterprise)
class EnterpriseAdmin(accounts_admin.EnterpriseAdmin):
    """The accounts Enterprise admin plus industries, posts and the "explain chain" button."""

    inlines = (EnterpriseIndustryInline, PostInline, *accounts_admin.EnterpriseAdmin.inlines)
    list_filter = (*accounts_admin.EnterpriseAdmin.list_filter, "industry_links__industry")
    change_form_template = "admin/responsibility/enterprise_change_form.html"


@admin.register(Post)
class PostAdmin(EnterprisePartPermissions, admin.ModelAdmin):
    list_display = ("enterprise", "code", "title", "holder", "reports_to")
    search_fields = (
        "code",
        "title",
        "enterprise__uscc",
        "enterprise__name",
        "holder__username",
        "holder__full_name",
    )
    autocomplete_fields = ("enterprise", "holder", "reports_to")
    list_select_related = ("enterprise", "holder", "reports_to__enterprise")
