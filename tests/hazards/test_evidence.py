"""Evidence: the allowlist, every upload attack of issue 4 §7, storage under generated names, the
early size guard, and scoped downloads and thumbnails."""

from __future__ import annotations

import hashlib
import io
import os
import re
import sys
import time
import types
import zipfile
import zlib
from datetime import timedelta

import pytest
from django.contrib.auth.decorators import login_not_required
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.handlers.wsgi import LimitedStream
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, RequestFactory
from django.urls import path, reverse
from django.utils import timezone
from django.views import View
from PIL import ExifTags, Image, ImageCms, ImageFile

from accounts.models import Membership
from tests.factories import EnterpriseFactory, UserFactory, city, county, industry, township
from tests.hazards import files
from workflows.hazards import evidence
from workflows.hazards.evidence import (
    MAX_DOCUMENT_BYTES,
    MAX_IMAGE_BYTES,
    EvidenceError,
    EvidenceUploadHandler,
    EvidenceUploadMixin,
    attachment_orphans_delete,
    attachment_store,
    evidence_upload,
    sanitize_filename,
    upload_error,
    validate_upload,
)
from workflows.hazards.models import Attachment, Grade, Hazard, Source
from workflows.hazards.views_evidence import attachment_download, attachment_thumbnail

MB = 1024 * 1024
STORED_NAME = re.compile(r"^evidence/\d{4}/\d{2}/[0-9a-f]{32}\.(jpg|png|webp|pdf|docx|xlsx)$")
OTHER = Attachment.Kind.OTHER
BEFORE = Attachment.Kind.BEFORE_PHOTO


def rejected(name: str, content: bytes, *, kind: str = OTHER) -> str:
    """The error code of a refused upload (fails the test if it was accepted)."""
    with pytest.raises(EvidenceError) as caught:
        validate_upload(files.upload(name, content), kind=kind)
    return caught.value.code or ""


# --- URLs of this module (the project's urls.py is wired by the lead) ----------------------------


@login_not_required
def login_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("login")


@evidence_upload
def upload_page(request: HttpRequest) -> HttpResponse:
    """A stand-in for an upload form view: lists what reached it and the flash messages."""
    return JsonResponse(
        {
            "files": [f.name for f in request.FILES.getlist("file")],
            "messages": [str(m) for m in get_messages(request)],
            "method": request.method,
        }
    )


class UploadClassView(EvidenceUploadMixin, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse({"files": [f.name for f in request.FILES.getlist("file")]})


urlpatterns = [
    path("accounts/login/", login_page, name="login"),
    path("upload/", upload_page, name="upload"),
    path("upload-cbv/", UploadClassView.as_view(), name="upload_cbv"),
    path("hazards/attachments/<int:pk>/download/", attachment_download, name="download"),
    path("hazards/attachments/<int:pk>/thumbnail/", attachment_thumbnail, name="thumbnail"),
]


# --- Fixtures --------------------------------------------------------------------------------------


def make_hazard(sequence: int, *, enterprise=None) -> Hazard:
    c = city()
    yd = county(parent=c)
    enterprise = enterprise or EnterpriseFactory(region=township(parent=yd))
    return Hazard.objects.create(
        code=f"LF-2025-{sequence:04d}",
        city=c,
        county=yd,
        year=2025,
        sequence=sequence,
        enterprise=enterprise,
        industry=industry("hazchem"),
        title="储罐区静电接地线断裂",
        description="2号储罐静电接地线断裂。",
        location="储罐区",
        found_at=timezone.now(),
        source=Source.ROUTINE,
        grade=Grade.GENERAL,
    )


@pytest.fixture
def hazard(db) -> Hazard:
    return make_hazard(1)


@pytest.fixture
def other_hazard(db) -> Hazard:
    return make_hazard(2)


@pytest.fixture
def scope(monkeypatch) -> dict[int, set[int]]:
    """Replace ``selectors.hazards_visible_to`` by an explicit map user id → visible hazard ids, so
    these tests depend only on its contract (one test below uses the real selector)."""
    try:
        from workflows.hazards import selectors
    except ImportError:  # pragma: no cover - before the lead's selectors exist
        selectors = types.ModuleType("workflows.hazards.selectors")
        monkeypatch.setitem(sys.modules, "workflows.hazards.selectors", selectors)
    visible: dict[int, set[int]] = {}

    def hazards_visible_to(*, user):
        if not user.is_authenticated:
            return Hazard.objects.none()
        return Hazard.objects.filter(pk__in=visible.get(user.pk, set()))

    monkeypatch.setattr(selectors, "hazards_visible_to", hazards_visible_to, raising=False)
    return visible


def stored_bytes(attachment: Attachment) -> bytes:
    with default_storage.open(attachment.file.name, "rb") as handle:
        return handle.read()


def evidence_files() -> list[str]:
    found = []
    root = default_storage.path("evidence")
    for folder, _dirs, names in os.walk(root):
        found += [os.path.join(folder, n) for n in names]
    return found


# --- Accepted types round-trip ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "kind", "content_type"),
    [
        ("现场.jpg", files.jpeg(), BEFORE, "image/jpeg"),
        ("scene.JPEG", files.jpeg(), BEFORE, "image/jpeg"),
        ("scene.png", files.png(), Attachment.Kind.AFTER_PHOTO, "image/png"),
        ("scene.webp", files.webp(), BEFORE, "image/webp"),
        ("方案.pdf", files.pdf(), Attachment.Kind.PLAN, "application/pdf"),
        ("方案.docx", files.docx(), Attachment.Kind.PLAN, evidence.DOCX.content_type),
        (
            "台账.xlsx",
            files.xlsx(),
            Attachment.Kind.VERIFICATION_REPORT,
            evidence.XLSX.content_type,
        ),
        ("photo.png", files.png(), OTHER, "image/png"),
    ],
)
def test_accepted_types_are_stored_under_a_generated_name_with_their_checksum(
    hazard, user, name, content, kind, content_type
):
    attachment = attachment_store(
        hazard=hazard, kind=kind, upload=files.upload(name, content, "text/html"), user=user
    )

    attachment.refresh_from_db()
    assert STORED_NAME.match(attachment.file.name)
    assert (
        attachment.file.name.rsplit(".", 1)[1]
        == evidence.TYPES_BY_EXTENSION[name.rsplit(".", 1)[1].lower()].extension
    )
    assert attachment.original_name == name.rsplit(".", 1)[0] + "." + name.rsplit(".", 1)[1].lower()
    assert attachment.content_type == content_type  # detected, not the client's text/html
    data = stored_bytes(attachment)
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.uploaded_by == user
    assert attachment.kind == kind


def test_two_uploads_of_the_same_name_get_different_stored_names(hazard, user):
    first = attachment_store(
        hazard=hazard, kind=BEFORE, upload=files.upload("a.jpg", files.jpeg()), user=user
    )
    second = attachment_store(
        hazard=hazard, kind=BEFORE, upload=files.upload("a.jpg", files.jpeg()), user=user
    )
    assert first.file.name != second.file.name
    assert first.original_name == second.original_name == "a.jpg"


def test_documents_are_stored_byte_for_byte(hazard, user):
    original = files.docx()
    attachment = attachment_store(
        hazard=hazard, kind=OTHER, upload=files.upload("a.docx", original), user=user
    )
    assert stored_bytes(attachment) == original


def test_jpeg_exif_gps_and_comment_are_stripped_and_orientation_applied():
    original = files.jpeg((64, 48), gps=True, orientation=6, comment=b"secret-comment")
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really carries GPS

    checked = validate_upload(files.upload("gps.jpg", original), kind=BEFORE)

    with Image.open(io.BytesIO(checked.content)) as after:
        assert after.format == "JPEG"
        assert after.size == (48, 64)  # orientation 6 = rotated 90°: applied, then dropped
        assert len(after.getexif()) == 0
        assert "exif" not in after.info
        assert "comment" not in after.info
    for needle in (b"Exif", b"SafeChainCam", b"Secret Model", b"secret-comment"):
        assert needle not in checked.content


def test_png_text_chunks_are_stripped_and_alpha_is_kept():
    original = files.png((20, 10), mode="RGBA", text={"Author": "张三 13800000000"})
    checked = validate_upload(files.upload("a.png", original), kind=OTHER)
    with Image.open(io.BytesIO(checked.content)) as after:
        assert after.format == "PNG"
        assert after.mode == "RGBA"
        assert "Author" not in after.info
        with Image.open(io.BytesIO(original)) as before:
            assert after.tobytes() == before.tobytes()  # lossless and same pixels


def test_an_icc_profile_is_applied_and_dropped():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(out, "JPEG", icc_profile=profile)
    checked = validate_upload(files.upload("icc.jpg", out.getvalue()), kind=BEFORE)
    with Image.open(io.BytesIO(checked.content)) as after:
        assert "icc_profile" not in after.info
        red, green, _blue = after.getpixel((8, 8))
        assert red > 180  # colours survive the conversion
        assert green < 60


def test_a_palette_png_keeps_its_transparency():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([255, 255, 255, 200, 0, 0])
    image.paste(1, (0, 0, 4, 8))
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    checked = validate_upload(files.upload("p.png", out.getvalue()), kind=OTHER)
    with Image.open(io.BytesIO(checked.content)) as after, Image.open(out) as before:
        assert after.mode == "P"
        assert after.convert("RGBA").getpixel((6, 6))[3] == 0  # still transparent
        assert after.convert("RGBA").tobytes() == before.convert("RGBA").tobytes()


def test_webp_stays_webp():
    checked = validate_upload(files.upload("a.webp", files.webp()), kind=BEFORE)
    assert checked.content_type == "image/webp"
    with Image.open(io.BytesIO(checked.content)) as after:
        assert after.format == "WEBP"


def test_a_validated_file_can_be_stored_without_checking_it_twice(hazard, user, monkeypatch):
    checked = validate_upload(files.upload("a.jpg", files.jpeg()), kind=BEFORE)
    monkeypatch.setattr(evidence, "validate_upload", lambda *a, **k: pytest.fail("checked twice"))
    attachment = attachment_store(hazard=hazard, kind=BEFORE, upload=checked, user=user)
    assert attachment.sha256 == checked.sha256


# --- Type confusion --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("run.jpg", files.SCRIPT, "type_mismatch"),  # a script renamed .jpg
        ("page.png", files.HTML_TAIL, "type_mismatch"),  # HTML renamed .png
        ("logo.svg", files.SVG_WITH_SCRIPT, "type_not_allowed"),
        ("logo.png", files.SVG_WITH_SCRIPT, "type_mismatch"),
        ("photo.jpg", files.png(), "type_mismatch"),  # a PNG body named .jpg
        ("photo.png", files.jpeg(), "type_mismatch"),
        ("photo.webp", files.jpeg(), "type_mismatch"),
        ("report.pdf", files.docx(), "type_mismatch"),
        ("report.docx", files.pdf(), "type_mismatch"),
        ("report.docx", files.xlsx(), "type_mismatch"),  # a workbook named .docx
        ("report.xlsx", files.docx(), "type_mismatch"),
        ("report.pdf", b"junk before %PDF-1.7\n" + files.pdf(), "type_mismatch"),
        ("photo.gif", files.gif(), "type_not_allowed"),
        ("gifar.jpg", files.zip_with_appended(files.gif()), "type_mismatch"),  # GIFAR
        ("gifar.gif", files.zip_with_appended(files.gif()), "type_not_allowed"),
        ("app.jar", files.zip_with_appended(b""), "type_not_allowed"),
        ("page.html", files.HTML_TAIL, "type_not_allowed"),
        ("tool.exe", b"MZ\x90\x00", "type_not_allowed"),
        ("no_extension", files.jpeg(), "type_not_allowed"),
        ("macro.docm", files.docx(), "type_not_allowed"),
    ],
)
def test_type_confusion_is_refused(name, content, code):
    assert rejected(name, content) == code


def test_polyglot_jpeg_with_html_tail_is_accepted_without_the_tail(hazard, user):
    polyglot = files.jpeg() + files.HTML_TAIL
    attachment = attachment_store(
        hazard=hazard, kind=BEFORE, upload=files.upload("p.jpg", polyglot), user=user
    )
    data = stored_bytes(attachment)
    assert b"<script" not in data
    assert b"<html" not in data
    assert data.endswith(b"\xff\xd9")


def test_polyglot_jpeg_with_a_jar_appended_loses_the_jar():
    checked = validate_upload(
        files.upload("p.jpg", files.zip_with_appended(files.jpeg())), kind=BEFORE
    )
    assert not zipfile.is_zipfile(io.BytesIO(checked.content))
    assert b"Main-Class" not in checked.content


def test_html_hidden_in_a_jpeg_comment_is_dropped():
    checked = validate_upload(
        files.upload("c.jpg", files.jpeg(comment=files.HTML_TAIL)), kind=BEFORE
    )
    assert b"<script" not in checked.content


# --- Names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("..\\..\\windows\\win.ini.PNG", "win.ini.png"),
        ("evil.php\x00.jpg", "evil.php.jpg"),
        ("a\r\nSet-Cookie: x=1.jpg", "aSet-Cookie: x=1.jpg"),
        ("\u202egpj.exe", "gpj.exe"),  # right-to-left override dropped
        ("现场照片.JPG", "现场照片.jpg"),
        ("e\u0301cole.png", "\u00e9cole.png"),  # NFC
        ("...hidden.png", "hidden.png"),
        (".jpg", "file.jpg"),
        ("", "file"),
        ("a" * 300 + ".jpeg", "a" * 145 + ".jpeg"),
    ],
)
def test_file_names_are_sanitised_for_display(raw, clean):
    assert sanitize_filename(raw) == clean
    assert len(sanitize_filename(raw)) <= 150


def test_a_traversal_name_never_reaches_the_filesystem(hazard, user, settings):
    upload = files.upload("x.jpg", files.jpeg())
    upload.name = "../../etc/passwd.jpg"  # as a hostile client could send it
    attachment = attachment_store(hazard=hazard, kind=BEFORE, upload=upload, user=user)
    assert attachment.original_name == "passwd.jpg"
    assert STORED_NAME.match(attachment.file.name)
    assert "passwd" not in attachment.file.name
    media = os.path.realpath(settings.MEDIA_ROOT)
    assert all(os.path.realpath(f).startswith(media) for f in evidence_files())
    assert not os.path.exists(os.path.join(media, "..", "..", "etc", "passwd.jpg"))


def test_a_nul_byte_in_the_name_is_not_an_error_and_is_not_stored(hazard, user):
    upload = files.upload("x.jpg", files.jpeg())
    upload.name = "evil.php\x00.jpg"
    attachment = attachment_store(hazard=hazard, kind=BEFORE, upload=upload, user=user)
    assert attachment.original_name == "evil.php.jpg"
    assert "\x00" not in attachment.file.name
    assert "php" not in attachment.file.name


def test_a_nul_byte_cannot_hide_the_real_extension():
    assert rejected("photo.jpg\x00.svg", files.SVG_WITH_SCRIPT) == "type_not_allowed"


# --- Sizes -----------------------------------------------------------------------------------------


class Unreadable(io.BytesIO):
    def read(self, *args):
        pytest.fail("the body was read")


def test_an_image_over_10_mb_is_refused_before_it_is_read():
    big = UploadedFile(Unreadable(), name="big.jpg", size=MAX_IMAGE_BYTES + 1)
    with pytest.raises(EvidenceError) as caught:
        validate_upload(big, kind=BEFORE)
    assert caught.value.code == "too_large"
    assert caught.value.params == {"limit": 10}


def test_a_document_over_20_mb_is_refused():
    big = files.pdf(tail=b"") + bytes(MAX_DOCUMENT_BYTES)
    assert len(big) > MAX_DOCUMENT_BYTES
    assert rejected("big.pdf", big) == "too_large"


def test_exactly_the_limit_is_not_too_large_for_documents():
    # a PDF of exactly 20 MB: the size check passes, the content check decides
    body = files.pdf()
    padded = body[:-6] + b" " * (MAX_DOCUMENT_BYTES - len(body)) + body[-6:]
    assert len(padded) == MAX_DOCUMENT_BYTES
    assert validate_upload(files.upload("a.pdf", padded), kind=OTHER).size == MAX_DOCUMENT_BYTES


def test_a_lying_size_attribute_does_not_bypass_the_limit():
    big = files.upload("big.jpg", b"\xff\xd8\xff" + bytes(MAX_IMAGE_BYTES))
    big.size = 100  # a handler that under-reports
    with pytest.raises(EvidenceError) as caught:
        validate_upload(big, kind=BEFORE)
    assert caught.value.code == "too_large"


def test_an_empty_file_is_refused():
    assert rejected("empty.jpg", b"", kind=BEFORE) == "empty"


# --- Images: bombs and damage ----------------------------------------------------------------------


def test_a_30000_by_30000_png_is_refused_quickly_without_decoding(monkeypatch):
    bomb = files.png_header_only(30_000, 30_000)
    assert len(bomb) < 1000
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("pixels decoded"))
    started = time.perf_counter()
    assert rejected("bomb.png", bomb, kind=BEFORE) == "too_many_pixels"
    assert time.perf_counter() - started < 1.0


def test_the_pixel_limit_is_local_not_pillows_global(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # someone disabled Pillow's guard
    assert rejected("big.png", files.png_header_only(7000, 6000), kind=BEFORE) == "too_many_pixels"
    assert (
        rejected("big.png", files.png_header_only(30_000, 30_000), kind=BEFORE) == "too_many_pixels"
    )


def test_a_truncated_jpeg_is_refused():
    assert rejected("cut.jpg", files.truncated_jpeg(), kind=BEFORE) == "corrupt"


def test_a_header_only_png_within_the_limit_is_corrupt_not_accepted():
    assert rejected("tiny.png", files.png_header_only(4000, 3000), kind=BEFORE) == "corrupt"


def test_a_png_with_a_bad_crc_is_refused():
    data = bytearray(files.png())
    data[29] ^= 0xFF  # inside the IHDR CRC
    assert rejected("crc.png", bytes(data), kind=BEFORE) == "corrupt"


# --- Kinds -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [Attachment.Kind.BEFORE_PHOTO, Attachment.Kind.AFTER_PHOTO])
@pytest.mark.parametrize(
    ("name", "content"),
    [("a.pdf", files.pdf()), ("a.docx", files.docx()), ("a.xlsx", files.xlsx())],
)
def test_photos_accept_images_only(kind, name, content):
    assert rejected(name, content, kind=kind) == "kind_not_allowed"


@pytest.mark.parametrize("kind", [Attachment.Kind.PLAN, Attachment.Kind.VERIFICATION_REPORT, OTHER])
def test_documents_and_images_are_accepted_for_other_kinds(kind):
    assert (
        validate_upload(files.upload("a.pdf", files.pdf()), kind=kind).content_type
        == "application/pdf"
    )
    assert validate_upload(files.upload("a.jpg", files.jpeg()), kind=kind).is_image


def test_an_unknown_kind_is_refused():
    assert rejected("a.jpg", files.jpeg(), kind="selfie") == "kind_not_allowed"


# --- PDF -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        files.pdf(catalog=b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> "),
        files.pdf(catalog=b"/OpenAction << /S /javascript /js (app.alert(1)) >> "),
        files.pdf(
            catalog=b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> "
        ),  # #xx escapes
        files.pdf(catalog=b"/AA << /O << /JS 5 0 R >> >> "),
        files.pdf(catalog=b"/OpenAction << /S /Launch /F (cmd.exe) >> "),
        files.pdf(catalog=b"/Names << /EmbeddedFiles << /Names [(a.exe) 5 0 R] >> >> "),
        files.pdf(files.pdf_stream(b"MZ", b"/Type /EmbeddedFile "), catalog=b""),
        files.pdf(catalog=b"/AcroForm << /XFA 5 0 R >> "),
        files.pdf_with_object_stream(
            b"<< /S /JavaScript /JS (app.alert(1)) >>"
        ),  # hidden, compressed
    ],
)
def test_pdfs_with_active_content_are_refused(content):
    assert rejected("a.pdf", content) == "dangerous_pdf"


def test_a_pdf_with_an_appended_zip_is_refused():
    assert rejected("a.pdf", files.zip_with_appended(files.pdf())) == "dangerous_pdf"
    # even when a %%EOF is added after the zip to look like a PDF end
    assert rejected("a.pdf", files.zip_with_appended(files.pdf()) + b"\n%%EOF\n") == "dangerous_pdf"


def test_an_encrypted_pdf_is_refused():
    assert rejected("a.pdf", files.pdf(trailer=b"/Encrypt 5 0 R ")) == "dangerous_pdf"


def test_a_pdf_without_an_end_is_corrupt():
    assert rejected("a.pdf", files.pdf().replace(b"%%EOF", b"")) == "corrupt"
    assert rejected("a.pdf", files.pdf() + bytes(4096)) == "corrupt"  # %%EOF not near the end


def test_a_harmless_open_action_and_object_stream_are_accepted():
    content = files.pdf_with_object_stream(b"<< /Type /Action /S /GoTo /D [3 0 R /Fit] >>")
    assert validate_upload(files.upload("a.pdf", content), kind=OTHER).content == content


def test_binary_stream_data_is_not_mistaken_for_a_short_name():
    image = files.pdf_stream(b"\x00\x01/JS \x02\x03", b"/Type /XObject /Subtype /Image ")
    content = files.pdf(image)
    assert validate_upload(files.upload("a.pdf", content), kind=OTHER).content == content


def test_a_script_action_hidden_inside_stream_data_is_refused():
    # an xref entry may point into a stream's data: the JavaScript action type is found anywhere
    hidden = b"junk\n9 0 obj\n<< /S /JavaScript /JS (app.alert(1)) >>\nendobj\n"
    stream = files.pdf_stream(hidden, b"/Type /XObject /Subtype /Image ")
    assert rejected("a.pdf", files.pdf(stream)) == "dangerous_pdf"


def test_an_object_stream_without_its_type_is_still_inspected():
    body = b"6 0 << /S /J#61vaScript /JS (x) >>"
    stream = files.pdf_stream(zlib.compress(body), b"/N 1 /First 4 /Filter /FlateDecode ")
    assert rejected("a.pdf", files.pdf(stream)) == "dangerous_pdf"
    short = files.pdf_stream(zlib.compress(b"6 0 << /JS 7 0 R >>"), b"/N 1 /First 4 /Filter /Fl ")
    assert rejected("a.pdf", files.pdf(short)) == "dangerous_pdf"


@pytest.mark.parametrize(
    "dictionary",
    [
        b"/Type /ObjStm /N 1 /First 4 /Filter /ASCIIHexDecode ",
        b"/Type /ObjStm /N 1 /First 4 /Filter 9 0 R ",  # an indirect filter
        b"/Type /ObjStm /N 1 /First 4 /Filter [/FlateDecode /ASCII85Decode] ",
        b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /DecodeParms << /Predictor 12 >> ",
    ],
)
def test_an_object_stream_that_cannot_be_read_back_is_refused(dictionary):
    stream = files.pdf_stream(zlib.compress(b"6 0 << /A 1 >>"), dictionary)
    assert rejected("a.pdf", files.pdf(stream)) == "dangerous_pdf"


def test_a_damaged_object_stream_is_corrupt():
    stream = files.pdf_stream(
        b"not zlib data", b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode "
    )
    assert rejected("a.pdf", files.pdf(stream)) == "corrupt"


def test_bytes_after_the_last_eof_are_dropped():
    content = files.pdf() + b"<html><script>alert(1)</script>"
    checked = validate_upload(files.upload("a.pdf", content), kind=OTHER)
    assert checked.content == files.pdf()
    assert checked.sha256 == hashlib.sha256(files.pdf()).hexdigest()


# --- docx / xlsx -----------------------------------------------------------------------------------


def test_a_zip_bomb_docx_is_refused_quickly():
    bomb = files.zip_bomb_docx()
    assert len(bomb) < 1 * MB
    started = time.perf_counter()
    assert rejected("bomb.docx", bomb) == "zip_bomb"
    assert time.perf_counter() - started < 2.0


def test_a_bomb_under_the_total_is_caught_by_its_ratio():
    zeros = files.docx({"word/media/zeros.bin": bytes(5 * MB)})
    assert rejected("z.docx", zeros) == "zip_bomb"


def test_the_total_uncompressed_size_is_measured_not_declared(monkeypatch):
    monkeypatch.setattr(evidence, "MAX_ZIP_UNCOMPRESSED", 1 * MB)
    # the headers declare ~1 KB; inflating finds 2 MB, over the (lowered) 1 MB total
    assert rejected("big.docx", files.lying_size_docx()) == "zip_bomb"


def test_a_member_whose_headers_understate_its_size_is_refused():
    assert rejected("lie.docx", files.lying_size_docx()) == "corrupt"


def test_too_many_members_are_refused():
    assert rejected("many.docx", files.docx_many_members(2001)) == "zip_bomb"
    assert validate_upload(files.upload("ok.docx", files.docx_many_members(100)), kind=OTHER)


@pytest.mark.parametrize(
    "extra",
    [
        {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"},
        {"word/VBAPROJECT.BIN": b"\xd0\xcf\x11\xe0macro"},
        {"word/vbaData.xml": b"<x/>"},
        {"word/activeX/activeX1.bin": b"\xd0\xcf\x11\xe0"},
        {"word/_rels/settings.xml.rels": files.REMOTE_TEMPLATE_RELS},  # remote template injection
    ],
)
def test_macros_and_active_content_are_refused(extra):
    assert rejected("m.docx", files.docx(extra)) == "macro"


def test_a_docm_renamed_docx_is_refused():
    assert rejected("m.docx", files.docx(content_types=files.CONTENT_TYPES_DOCM)) == "macro"


def test_an_external_hyperlink_is_fine():
    content = files.docx({"word/_rels/document.xml.rels": files.HYPERLINK_RELS})
    assert validate_upload(files.upload("a.docx", content), kind=OTHER).content == content


@pytest.mark.parametrize(
    "member",
    [
        "../evil.xml",
        "word/../../evil.xml",
        "/etc/evil.xml",
        "C:/evil.xml",
        "word\\..\\..\\evil.xml",
    ],
)
def test_unsafe_member_paths_are_refused(member):
    assert rejected("t.docx", files.docx({member: b"<x/>"})) == "corrupt"


def test_a_zip_without_the_office_parts_is_not_a_document():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert rejected("a.docx", out.getvalue()) == "type_mismatch"


def test_a_damaged_zip_is_corrupt():
    assert rejected("a.docx", files.docx()[:200]) == "corrupt"


# --- Storage failures and orphans ------------------------------------------------------------------


def test_the_file_is_removed_when_the_row_cannot_be_written(hazard, user, monkeypatch):
    def fail(self, *args, **kwargs):
        raise IntegrityError("disk full of rows")

    monkeypatch.setattr(Attachment, "save", fail)
    with pytest.raises(IntegrityError):
        attachment_store(
            hazard=hazard, kind=BEFORE, upload=files.upload("a.jpg", files.jpeg()), user=user
        )
    assert evidence_files() == []


def test_a_refused_upload_writes_nothing(hazard, user):
    with pytest.raises(EvidenceError):
        attachment_store(
            hazard=hazard, kind=BEFORE, upload=files.upload("a.jpg", files.SCRIPT), user=user
        )
    assert evidence_files() == []
    assert not Attachment.objects.exists()


def test_orphans_left_by_a_rolled_back_transaction_are_swept(hazard, user):
    kept = attachment_store(
        hazard=hazard, kind=BEFORE, upload=files.upload("a.jpg", files.jpeg()), user=user
    )
    orphan = default_storage.save(evidence.stored_name("jpg"), io.BytesIO(files.jpeg()))
    orphan_thumb = orphan.rsplit(".", 1)[0] + ".thumb.jpg"
    default_storage.save(orphan_thumb, io.BytesIO(b"thumb"))
    young = default_storage.save(evidence.stored_name("jpg"), io.BytesIO(files.jpeg()))
    old = time.time() - 2 * 86400
    for name in (kept.file.name, orphan, orphan_thumb):
        os.utime(default_storage.path(name), (old, old))

    deleted = attachment_orphans_delete(older_than=timedelta(days=1))

    assert deleted == sorted([orphan, orphan_thumb])
    assert default_storage.exists(kept.file.name)
    assert default_storage.exists(young)


# --- The upload handler ----------------------------------------------------------------------------


def parsed_request(stream: files.MultipartStream, **handler_kwargs):
    request = RequestFactory().generic(
        "POST", "/upload/", data=b"-", content_type=stream.content_type
    )  # the body is replaced by the counting stream below
    request.META["CONTENT_LENGTH"] = str(stream.length)
    request._stream = LimitedStream(stream, stream.length)
    handler = EvidenceUploadHandler(request, **handler_kwargs)
    request.upload_handlers.insert(0, handler)
    request.POST  # noqa: B018
    return request, handler


def test_a_request_over_the_limit_is_refused_without_reading_its_body():
    stream = files.MultipartStream(name="huge.jpg", size=500 * MB)  # never materialised
    request, handler = parsed_request(stream)
    assert stream.read_bytes == 0
    assert handler.error is not None
    assert handler.error.code == "too_large"
    assert upload_error(request) is handler.error
    assert not request.FILES


@pytest.mark.parametrize(
    ("name", "limit"), [("big.jpg", MAX_IMAGE_BYTES), ("big.pdf", MAX_DOCUMENT_BYTES)]
)
def test_a_file_over_its_limit_stops_the_upload_as_soon_as_it_passes_it(name, limit):
    stream = files.MultipartStream(name=name, size=limit + 5 * MB, fields={"comment": "整改完成"})
    request, handler = parsed_request(stream)
    assert handler.error is not None
    assert handler.error.code == "too_large"
    assert handler.error.params == {"limit": limit // MB}
    # the handler stopped accepting data one chunk past the limit; nothing was kept
    assert limit < handler.received_total <= limit + 64 * 1024
    assert not request.FILES
    assert request.POST["comment"] == "整改完成"  # fields before the file are still there


def test_an_oversized_request_to_a_guarded_view_is_answered_without_reading_the_body():
    stream = files.MultipartStream(name="huge.pdf", size=200 * MB)
    request = RequestFactory().generic(
        "POST", "/upload/", data=b"-", content_type=stream.content_type
    )
    request.META["CONTENT_LENGTH"] = str(stream.length)
    request._stream = LimitedStream(stream, stream.length)
    request._messages = CookieStorage(request)

    response = upload_page(request)

    assert response.status_code == 303
    assert stream.read_bytes == 0
    assert [m.message for m in request._messages] == [str(upload_error(request).messages[0])]


def test_the_request_limit_can_be_set_per_view():
    stream = files.MultipartStream(name="a.jpg", size=2 * MB)
    _request, handler = parsed_request(stream, max_request_bytes=1 * MB)
    assert handler.error is not None
    assert stream.read_bytes == 0


def test_a_file_within_the_limit_passes_through_the_handler():
    stream = files.MultipartStream(name="ok.jpg", size=3 * MB)
    request, handler = parsed_request(stream)
    assert handler.error is None
    assert request.FILES["file"].size == 3 * MB
    assert stream.read_bytes == stream.length


@pytest.mark.urls(__name__)
def test_the_decorator_redirects_back_with_the_reason_and_never_calls_the_view(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(
        "/upload/", {"file": files.upload("big.jpg", b"\xff\xd8\xff" + bytes(MAX_IMAGE_BYTES))}
    )
    assert response.status_code == 303
    assert response["Location"] == "/upload/"
    follow = client.get("/upload/").json()
    assert follow["method"] == "GET"
    assert len(follow["messages"]) == 1


@pytest.mark.urls(__name__)
def test_the_decorator_still_checks_csrf(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/upload/", {"file": files.upload("a.jpg", files.jpeg())})
    assert response.status_code == 403


@pytest.mark.urls(__name__)
def test_the_decorator_lets_a_good_upload_through(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = "k" * 32  # an unmasked secret is accepted as the form token
    client.cookies["csrftoken"] = token
    response = client.post(
        "/upload/", {"csrfmiddlewaretoken": token, "file": files.upload("a.jpg", files.jpeg())}
    )
    assert response.status_code == 200
    assert response.json()["files"] == ["a.jpg"]


@pytest.mark.urls(__name__)
def test_the_mixin_guards_class_based_views(user):
    client = Client()
    client.force_login(user)
    big = files.upload("big.pdf", b"%PDF-" + bytes(MAX_DOCUMENT_BYTES))
    assert client.post("/upload-cbv/", {"file": big}).status_code == 303
    ok = client.post("/upload-cbv/", {"file": files.upload("a.pdf", files.pdf())})
    assert ok.json()["files"] == ["a.pdf"]


# --- Downloads and thumbnails ----------------------------------------------------------------------


@pytest.fixture
def stored(hazard, user) -> dict[str, Attachment]:
    store = lambda name, content, kind: attachment_store(  # noqa: E731
        hazard=hazard, kind=kind, upload=files.upload(name, content, "text/html"), user=user
    )
    return {
        "jpg": store("现场 照片.jpg", files.jpeg((800, 600)), BEFORE),
        "png": store("a.png", files.png((400, 100), mode="RGBA"), OTHER),
        "pdf": store("plan.pdf", files.pdf(), Attachment.Kind.PLAN),
    }


@pytest.fixture
def client_for():
    def login(user):
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.mark.urls(__name__)
def test_an_in_scope_user_downloads_the_file_with_safe_headers(
    stored, hazard, other_user, scope, client_for
):
    scope[other_user.pk] = {hazard.pk}
    attachment = stored["jpg"]
    response = client_for(other_user).get(reverse("download", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=utf-8''%E7%8E%B0%E5%9C%BA%20%E7%85%A7%E7%89%87.jpg"
        in response["Content-Disposition"]
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(response.streaming_content) == stored_bytes(attachment)


@pytest.mark.urls(__name__)
def test_a_pdf_is_downloaded_as_an_attachment_not_rendered(
    stored, hazard, other_user, scope, client_for
):
    scope[other_user.pk] = {hazard.pk}
    response = client_for(other_user).get(reverse("download", args=[stored["pdf"].pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="plan.pdf"'


@pytest.mark.urls(__name__)
def test_an_out_of_scope_user_gets_404(stored, hazard, other_hazard, other_user, scope, client_for):
    scope[other_user.pk] = {other_hazard.pk}  # sees another hazard, not this one
    client = client_for(other_user)
    for attachment in stored.values():
        assert client.get(reverse("download", args=[attachment.pk])).status_code == 404
        assert client.get(reverse("thumbnail", args=[attachment.pk])).status_code == 404
    assert client.get(reverse("download", args=[999_999])).status_code == 404


@pytest.mark.urls(__name__)
def test_anonymous_users_are_sent_to_login(stored, scope):
    response = Client().get(reverse("download", args=[stored["jpg"].pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Client().get(reverse("thumbnail", args=[stored["jpg"].pk])).status_code == 302


@pytest.mark.urls(__name__)
def test_downloads_are_read_only(stored, hazard, other_user, scope, client_for):
    scope[other_user.pk] = {hazard.pk}
    assert (
        client_for(other_user).post(reverse("download", args=[stored["jpg"].pk])).status_code == 405
    )


@pytest.mark.urls(__name__)
def test_a_missing_file_answers_404(stored, hazard, other_user, scope, client_for):
    scope[other_user.pk] = {hazard.pk}
    default_storage.delete(stored["jpg"].file.name)
    assert (
        client_for(other_user).get(reverse("download", args=[stored["jpg"].pk])).status_code == 404
    )


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("key", ["jpg", "png"])
def test_thumbnails_are_small_jpegs_served_inline_and_cached(
    stored, hazard, other_user, scope, client_for, key
):
    scope[other_user.pk] = {hazard.pk}
    attachment = stored[key]
    client = client_for(other_user)
    response = client.get(reverse("thumbnail", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'"
    with Image.open(io.BytesIO(response.content)) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) <= 320
        assert max(thumb.size) == 320  # the originals are larger
    cached = evidence.thumbnail_name(attachment)
    assert default_storage.exists(cached)
    assert cached.rsplit("/", 1)[0] == attachment.file.name.rsplit("/", 1)[0]  # next to the file
    assert client.get(reverse("thumbnail", args=[attachment.pk])).content == response.content


@pytest.mark.urls(__name__)
def test_there_is_no_thumbnail_of_a_pdf(stored, hazard, other_user, scope, client_for):
    scope[other_user.pk] = {hazard.pk}
    assert (
        client_for(other_user).get(reverse("thumbnail", args=[stored["pdf"].pk])).status_code == 404
    )


@pytest.mark.urls(__name__)
def test_the_real_selector_scopes_downloads_to_the_enterprise(hazard, other_hazard, client_for):
    stored_a = attachment_store(
        hazard=hazard, kind=BEFORE, upload=files.upload("a.jpg", files.jpeg()), user=None
    )
    employee = UserFactory(username="employee_a")
    Membership.objects.create(
        user=employee, enterprise=hazard.enterprise, role=Membership.Role.EMPLOYEE
    )
    stranger = UserFactory(username="employee_b")
    Membership.objects.create(
        user=stranger, enterprise=other_hazard.enterprise, role=Membership.Role.EMPLOYEE
    )
    assert client_for(employee).get(reverse("download", args=[stored_a.pk])).status_code == 200
    assert client_for(stranger).get(reverse("download", args=[stored_a.pk])).status_code == 404
