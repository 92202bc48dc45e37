"""Evidence files leave the server only through these views, and only for hazards in the user's scope.

Media files are never served directly. An attachment of a hazard the user may not see answers 404,
exactly like one that does not exist. URL patterns (``app_name = "hazards"``)::

    path("hazards/attachments/<int:pk>/download/", attachment_download, name="attachment_download")
    path("hazards/attachments/<int:pk>/thumbnail/", attachment_thumbnail, name="attachment_thumbnail")
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from . import selectors
from .evidence import EvidenceError, attachment_thumbnail_bytes
from .models import Attachment


def attachment_get(*, user: object, pk: int) -> Attachment:
    """The attachment ``pk`` if its hazard is visible to ``user``, else Http404."""
    visible = selectors.hazards_visible_to(user=user)
    return get_object_or_404(Attachment.objects.select_related("hazard"), pk=pk, hazard__in=visible)


def _harden(response: HttpResponseBase, *, policy: str) -> HttpResponseBase:
    # The browser must never sniff, render or keep a copy of evidence on a shared device.
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = policy
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@login_required
@require_safe
def attachment_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The stored file as a download (``Content-Disposition: attachment`` with the sanitised original
    name) in the content type detected at upload, never rendered inline."""
    attachment = attachment_get(user=request.user, pk=pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    return _harden(response, policy="default-src 'none'; sandbox")


@login_required
@require_safe
def attachment_thumbnail(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A JPEG of at most 320 px of an image attachment, inline; anything else answers 404."""
    attachment = attachment_get(user=request.user, pk=pk)
    if not attachment.is_image:
        raise Http404
    try:
        data = attachment_thumbnail_bytes(attachment)
    except (EvidenceError, OSError, ValueError) as exc:
        raise Http404 from exc
    response = HttpResponse(data, content_type="image/jpeg")
    response["Content-Disposition"] = 'inline; filename="thumbnail.jpg"'
    return _harden(response, policy="default-src 'none'")
