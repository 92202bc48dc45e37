"""Evidence through the API: upload (the web's checks, 413 before the body is read), scoped download,
and after-photos uploaded first and referenced by the rectification."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.handlers.wsgi import LimitedStream
from django.test import RequestFactory

from tests.api.conftest import assert_error, personal_token
from tests.api.test_hazards import (
    FOREIGN,
    action_url,
    download_url,
    rectifying,
    report,
)
from tests.hazards import files
from tests.hazards.personas import photo
from workflows.api.views_hazards import HazardAttachmentView
from workflows.hazards import evidence, services
from workflows.hazards.models import Attachment, Hazard, Rectification

MB = 1024 * 1024


def upload_url(hazard: Hazard) -> str:
    return action_url(hazard, "attachments")


def upload(api: Any, hazard: Hazard, kind: str, file: Any) -> Any:
    return api.post(upload_url(hazard), {"kind": kind, "file": file}, format="multipart")


# --- upload --------------------------------------------------------------------------------------


def test_the_enterprise_uploads_an_after_photo_and_rectifies_with_it(world, api_as):
    hazard = rectifying(world)
    enterprise = api_as(world.safety_manager)
    response = upload(enterprise, hazard, "after_photo", photo("after.jpg", "green"))
    assert response.status_code == 201, response.content
    body = response.json()
    stored = Attachment.objects.get(pk=body["id"])
    assert body["kind"] == "after_photo"
    assert body["original_name"] == "after.jpg"
    assert body["content_type"] == "image/jpeg"
    assert body["size"] == stored.size
    assert body["sha256"] == stored.sha256
    assert body["uploaded_by"]["username"] == "safety_a"
    assert body["download_url"].endswith(download_url(stored.pk))
    assert not stored.file.name.endswith("after.jpg")  # a server-generated name

    rectified = enterprise.post(
        action_url(hazard, "rectify"),
        {"work_done": "更换报警器", "cost": "1200.50", "existing_photos": [stored.pk]},
        format="json",
    )
    assert rectified.status_code == 200, rectified.content
    record = rectified.json()
    assert record["stage"] == "verify"
    assert record["rectifications"][0]["after_photos"] == [stored.pk]
    assert record["rectifications"][0]["cost"] == "1200.50"

    # Back to rectification: the photo of the failed attempt cannot be used again.
    services.rectification_verify(hazard=hazard, user=world.colleague, passed=False, comment="仍漏")
    again = enterprise.post(
        action_url(hazard, "rectify"),
        {"work_done": "再次更换", "existing_photos": [stored.pk]},
        format="json",
    )
    assert "existing_photos" in assert_error(again, 400)["errors"]


def test_who_may_add_which_kind_of_evidence(world, api_as):
    hazard = rectifying(world)
    pdf = files.upload("方案.pdf", files.pdf(), "application/pdf")
    assert upload(api_as(world.principal), hazard, "plan", pdf).status_code == 201
    report_pdf = files.upload("复查报告.pdf", files.pdf(), "application/pdf")
    assert (
        upload(api_as(world.colleague), hazard, "verification_report", report_pdf).status_code
        == 201
    )
    assert upload(api_as(world.inspector), hazard, "before_photo", photo()).status_code == 201
    refused = [
        ("market_staff", "other", photo()),  # cooperating department: sees it, may not add to it
        ("committee", "other", photo()),
        ("safety_manager", "verification_report", files.upload("r.pdf", files.pdf())),
        ("colleague", "after_photo", photo()),
    ]
    for persona, kind, file in refused:
        assert_error(upload(api_as(getattr(world, persona)), hazard, kind, file), 403), persona
    assert hazard.attachments.count() == 4  # the report's photo and the three accepted


@pytest.mark.parametrize("persona", FOREIGN)
def test_an_upload_to_a_hazard_outside_the_scope_is_404(world, api_as, persona):
    hazard = rectifying(world)
    api = api_as(getattr(world, persona))
    assert_error(upload(api, hazard, "other", photo()), 404, "not_found")
    assert_error(api.post(upload_url(hazard), {}, format="multipart"), 404)
    assert hazard.attachments.count() == 1


@pytest.mark.parametrize(
    ("kind", "file", "field"),
    [
        ("selfie", photo(), "kind"),
        ("after_photo", None, "file"),
        ("after_photo", files.upload("plan.pdf", files.pdf(), "application/pdf"), "file"),
        ("after_photo", files.upload("photo.jpg", files.png(), "image/jpeg"), "file"),
        ("other", files.upload("page.html", b"<script>alert(1)</script>", "text/html"), "file"),
        ("other", files.upload("logo.svg", files.SVG_WITH_SCRIPT, "image/svg+xml"), "file"),
        ("after_photo", files.upload("broken.jpg", files.truncated_jpeg(), "image/jpeg"), "file"),
        ("other", files.upload("empty.pdf", b"", "application/pdf"), "file"),
    ],
)
def test_uploads_are_checked_as_on_the_web(world, api_as, kind, file, field):
    hazard = rectifying(world)
    data = {"kind": kind} if file is None else {"kind": kind, "file": file}
    response = api_as(world.safety_manager).post(upload_url(hazard), data, format="multipart")
    assert field in assert_error(response, 400, "validation_error")["errors"]
    assert hazard.attachments.count() == 1


def test_an_upload_must_be_multipart(world, api_as):
    hazard = rectifying(world)
    response = api_as(world.safety_manager).post(
        upload_url(hazard), {"kind": "other"}, format="json"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_evidence_is_refused_on_closed_hazards_and_after_photos_outside_rectification(
    world, api_as
):
    triage = report(world)
    assert_error(upload(api_as(world.safety_manager), triage, "after_photo", photo()), 409)
    services.hazard_withdraw(hazard=triage, user=world.colleague, reason="重复登记")
    assert_error(upload(api_as(world.colleague), triage, "other", photo()), 409, "conflict")
    assert triage.attachments.count() == 1


def test_an_oversized_file_is_413(world, api_as, monkeypatch):
    hazard = rectifying(world)
    monkeypatch.setattr(evidence, "MAX_IMAGE_BYTES", 200)
    response = upload(api_as(world.safety_manager), hazard, "after_photo", photo())
    body = assert_error(response, 413, "payload_too_large")
    assert "file" in body["errors"]
    assert hazard.attachments.count() == 1


def _streamed(world: Any, hazard: Hazard, stream: files.MultipartStream) -> Any:
    request = RequestFactory().generic(
        "POST",
        upload_url(hazard),
        data=b"-",
        content_type=stream.content_type,
        HTTP_AUTHORIZATION=f"Bearer {personal_token(world.safety_manager)}",
    )
    request.META["CONTENT_LENGTH"] = str(stream.length)
    request._stream = LimitedStream(stream, stream.length)
    return HazardAttachmentView.as_view()(request, code=hazard.code)


def test_a_request_over_60_mb_is_answered_413_without_reading_its_body(world):
    hazard = rectifying(world)
    stream = files.MultipartStream(name="huge.jpg", size=500 * MB, fields={"kind": "after_photo"})
    response = _streamed(world, hazard, stream)
    assert response.status_code == 413
    assert stream.read_bytes == 0
    assert hazard.attachments.count() == 1


def test_a_file_over_its_limit_stops_the_upload_as_soon_as_it_passes_it(world):
    hazard = rectifying(world)
    stream = files.MultipartStream(name="big.jpg", size=30 * MB, fields={"kind": "after_photo"})
    response = _streamed(world, hazard, stream)
    assert response.status_code == 413
    assert response.data["type"] == "payload_too_large"
    # Django drains the rest of an abandoned body, but nothing past the limit is kept in a file.
    assert not Attachment.objects.filter(hazard=hazard, kind="after_photo").exists()


# --- download ------------------------------------------------------------------------------------


def test_the_download_is_an_attachment_never_sniffed_nor_cached(world, api_as):
    hazard = report(world)
    attachment = hazard.attachments.get()
    for persona in ("inspector", "market_staff", "committee", "principal"):
        response = api_as(getattr(world, persona)).get(
            download_url(attachment.pk), HTTP_ACCEPT="image/jpeg"
        )
        assert response.status_code == 200, (persona, response.status_code)
        assert response["Content-Type"] == "image/jpeg"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "photo.jpg" in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "private, no-store"
        assert "sandbox" in response["Content-Security-Policy"]
        content = b"".join(response.streaming_content)
        assert content == attachment.file.open("rb").read()


@pytest.mark.parametrize("persona", FOREIGN)
def test_a_download_outside_the_scope_is_404(world, api_as, persona):
    attachment = report(world).attachments.get()
    assert_error(api_as(getattr(world, persona)).get(download_url(attachment.pk)), 404)


def test_download_of_unknown_or_odd_ids_and_without_credentials(world, api, api_as):
    attachment = report(world).attachments.get()
    assert_error(api.get(download_url(attachment.pk)), 401)
    head = api_as(world.head)
    for value in ("999999", "0", "-3", "x", "99999999999999999999999999"):
        assert_error(head.get(f"/api/v1/attachments/{value}/download"), 404)


def test_a_file_missing_from_storage_is_404_not_500(world, api_as):
    attachment = report(world).attachments.get()
    attachment.file.storage.delete(attachment.file.name)
    assert_error(api_as(world.head).get(download_url(attachment.pk)), 404)


def test_the_rectify_step_takes_photos_by_multipart_too(world, api_as):
    hazard = rectifying(world)
    response = api_as(world.safety_manager).post(
        action_url(hazard, "rectify"),
        {"work_done": "更换", "after_photos": [photo("a.jpg"), photo("b.png")]},
        format="multipart",
    )
    assert response.status_code == 400  # b.png is a JPEG named .png: refused, nothing kept
    assert "after_photos" in response.json()["errors"]
    assert not Rectification.objects.exists()
    response = api_as(world.safety_manager).post(
        action_url(hazard, "rectify"),
        {"work_done": "更换", "after_photos": [photo("a.jpg"), photo("b.jpg", "blue")]},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    assert len(response.json()["rectifications"][0]["after_photos"]) == 2


def test_evidence_added_outside_a_step_is_on_the_timeline(world):
    """The rule lives in the service (the web and the API share it) and leaves an audit event."""
    from tests.hazards.personas import photo
    from workflows.hazards import services
    from workflows.hazards.models import Event

    hazard = services.hazard_report(
        reporter=world.inspector,
        enterprise=world.enterprise,
        title="t",
        description="d",
        location="l",
        source="routine",
        before_photos=[photo()],
    )
    attachment = services.attachment_add(
        hazard=hazard, user=world.inspector, kind="before_photo", upload=photo("more.jpg")
    )
    event = Event.objects.get(hazard=hazard, action="evidence")
    assert event.actor == world.inspector
    assert event.data["attachment"] == attachment.pk
