"""Excel import in the admin console: upload → preview (a dry run) → confirm (the real import).

Mounted by ``DutyAdmin.get_urls`` (``admin:responsibility_duty_import`` and
``admin:responsibility_duty_import_template``) behind ``admin_site.admin_view``. The uploaded file is
kept server-side under ``MEDIA_ROOT/imports/<random>.xlsx`` between preview and confirm; the browser
only ever sees the random token, and the confirm only accepts the token stored in its own session.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User

from .importer import SHEETS, ImportResult, WorkbookError, build_template, workbook_import

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx file is a zip archive
UPLOAD_DIR = "imports"
SESSION_KEY = "responsibility_import"
KEEP_UPLOADS_FOR = timedelta(days=1)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_FILENAME = "safechain-import-template.xlsx"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class ImportUploadForm(forms.Form):
    """The workbook to check: an .xlsx name, zip content and at most 10 MB."""

    file = forms.FileField(label=gettext_lazy("Workbook (.xlsx)"))

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith(".xlsx"):
            raise ValidationError(_("Choose an Excel workbook ending in .xlsx."), code="extension")
        if (upload.size or 0) > MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The file is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
                code="size",
            )
        upload.seek(0)
        head = upload.read(len(ZIP_MAGIC))
        upload.seek(0)
        if head != ZIP_MAGIC:
            raise ValidationError(_("This file is not an Excel .xlsx workbook."), code="not_xlsx")
        return upload


def _require_permission(request: HttpRequest) -> None:
    from .permissions import can_change_duty_map

    if not can_change_duty_map(request.user):
        raise PermissionDenied


def import_view(request: HttpRequest, *, admin_site: AdminSite) -> HttpResponse:
    """GET: the upload form. POST (action "preview"): check the upload with a dry run and show the
    counts and every error. POST (action "confirm"): import the previewed file for real — only the
    file whose token this session holds, and only once."""
    _require_permission(request)
    if request.method == "POST" and request.POST.get("action") == "confirm":
        return _confirm(request, admin_site)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload: UploadedFile = form.cleaned_data["file"]
        token = _store(upload)
        try:
            with default_storage.open(_name(token), "rb") as handle:
                result = workbook_import(source=handle, dry_run=True, user=_acting_user(request))
        except WorkbookError as exc:
            default_storage.delete(_name(token))
            form.add_error("file", str(exc))
        else:
            _forget(request)
            if result.ok:
                request.session[SESSION_KEY] = {"token": token, "name": upload.name}
            else:
                default_storage.delete(_name(token))
            return _render(
                request,
                admin_site,
                "admin/responsibility/import.html",
                form=ImportUploadForm(),
                preview=result,
                token=token if result.ok else "",
                file_name=upload.name,
            )
    return _render(request, admin_site, "admin/responsibility/import.html", form=form)


def _confirm(request: HttpRequest, admin_site: AdminSite) -> HttpResponse:
    stored = request.session.get(SESSION_KEY) or {}
    token = str(stored.get("token", ""))
    if (
        not _TOKEN.match(token)
        or not secrets.compare_digest(token, request.POST.get("token", ""))
        or not default_storage.exists(_name(token))
    ):
        messages.error(
            request, _("The checked file is no longer available; please upload it again.")
        )
        return HttpResponseRedirect(request.path)
    try:
        with default_storage.open(_name(token), "rb") as handle:
            result = workbook_import(source=handle, dry_run=False, user=_acting_user(request))
    except WorkbookError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(request.path)
    finally:
        _forget(request)
    return _render(
        request,
        admin_site,
        "admin/responsibility/import_result.html",
        result=result,
        file_name=stored.get("name", ""),
    )


def template_download(request: HttpRequest, *, admin_site: AdminSite) -> HttpResponse:
    """The empty .xlsx template with every sheet and the Chinese headers."""
    _require_permission(request)
    response = HttpResponse(build_template(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILENAME}"'
    return response


def _acting_user(request: HttpRequest) -> User | None:
    """The importing user (recorded as the creator of new duty rows)."""
    return request.user if isinstance(request.user, User) else None


def _name(token: str) -> str:
    return f"{UPLOAD_DIR}/{token}.xlsx"


def _store(upload: UploadedFile) -> str:
    """Save the upload under a fresh random name; old uploads nobody confirmed are removed."""
    _remove_stale_uploads()
    token = secrets.token_hex(16)
    default_storage.save(_name(token), upload)  # 128 random bits: the name is always free
    return token


def _forget(request: HttpRequest) -> None:
    """Drop this session's pending upload (file and token)."""
    stored = request.session.pop(SESSION_KEY, None) or {}
    token = str(stored.get("token", ""))
    if _TOKEN.match(token):
        default_storage.delete(_name(token))


def _remove_stale_uploads() -> None:
    try:
        _dirs, files = default_storage.listdir(UPLOAD_DIR)
    except FileNotFoundError:
        return
    cutoff = timezone.now() - KEEP_UPLOADS_FOR
    for filename in files:
        name = f"{UPLOAD_DIR}/{filename}"
        try:
            if default_storage.get_modified_time(name) < cutoff:
                default_storage.delete(name)
        except FileNotFoundError:  # another request removed it first
            continue


def _render(
    request: HttpRequest, admin_site: AdminSite, template: str, **context: Any
) -> TemplateResponse:
    result: ImportResult | None = context.get("preview") or context.get("result")
    return TemplateResponse(
        request,
        template,
        {
            **admin_site.each_context(request),
            "title": _("Import from Excel"),
            "count_rows": _count_rows(result) if result else [],
            "sheets": SHEETS,
            "template_url": _reverse("admin:responsibility_duty_import_template"),
            "import_url": _reverse("admin:responsibility_duty_import") or request.path,
            "duty_changelist_url": _reverse("admin:responsibility_duty_changelist"),
            "app_url": _reverse("admin:app_list", app_label="responsibility"),
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
            **context,
        },
    )


def _count_rows(result: ImportResult) -> list[dict[str, Any]]:
    labels = {spec.key: spec.label for spec in SHEETS}
    return [{"key": key, "label": labels[key], **counts} for key, counts in result.counts.items()]


def _reverse(name: str, **kwargs: Any) -> str:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""
