"""Evidence (证据材料): checking uploaded files, storing them, and refusing oversized uploads early.

Nothing the client says is trusted. A file is accepted only when its extension is on the allowlist
(jpg/jpeg, png, webp, pdf, docx, xlsx) *and* its first bytes are that format:

* images are fully decoded and **re-encoded** with Pillow in the same format (EXIF, XMP, comments and
  text chunks dropped after the EXIF orientation has been applied; an ICC profile is converted to
  sRGB), so whatever an attacker appended or hid around the pixels (HTML, script, a zip/jar) is gone.
  The pixel count is checked from the header before anything is decoded;
* PDFs are **not re-rendered** (no renderer is installed): they must start with ``%PDF-``, end with
  ``%%EOF`` and must not contain JavaScript, launch actions, embedded files, rich media or XFA, nor be
  encrypted or be a zip at the same time. The scan reads the plain text and the object streams
  (``/ObjStm``, where compressed dictionaries hide), after decoding ``#xx`` escapes in names;
  bytes after the last ``%%EOF`` are dropped;
* docx/xlsx are zip archives; every member is actually inflated (declared sizes are not believed), so
  zip bombs, lying headers, unsafe member paths, macros and remote templates are refused. The
  original bytes are stored unchanged.

Files are stored under a server-generated name (``evidence/YYYY/MM/<uuid4 hex>.<ext>``); the client's
name is kept, sanitised, for display and for the download's ``Content-Disposition`` only.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import IO, Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from PIL import Image, ImageCms, ImageOps

from .models import Attachment, Hazard

MB = 1024 * 1024
MAX_IMAGE_BYTES = 10 * MB
MAX_DOCUMENT_BYTES = 20 * MB
# A whole upload request (a form may carry several photos); a larger body is refused unread.
MAX_REQUEST_BYTES = 60 * MB
MAX_PIXELS = 40_000_000
MAX_NAME_LENGTH = 150
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_UNCOMPRESSED = 100 * MB
MAX_ZIP_RATIO = 100
# Small members may compress extremely well (a run of spaces) without being a threat.
ZIP_RATIO_GRACE = 1 * MB
MAX_PDF_OBJECT_STREAMS = 64 * MB
PDF_EOF_WINDOW = 1024
JPEG_QUALITY = 85
WEBP_QUALITY = 85
THUMBNAIL_PX = 320
UPLOAD_DIR = "evidence"
PHOTO_KINDS = frozenset({Attachment.Kind.BEFORE_PHOTO.value, Attachment.Kind.AFTER_PHOTO.value})


@dataclass(frozen=True)
class FileType:
    extension: str  # the canonical extension of stored files
    content_type: str
    pil_format: str = ""  # Pillow's name of the format; empty: not an image

    @property
    def is_image(self) -> bool:
        return bool(self.pil_format)


JPEG = FileType("jpg", "image/jpeg", "JPEG")
PNG = FileType("png", "image/png", "PNG")
WEBP = FileType("webp", "image/webp", "WEBP")
PDF = FileType("pdf", "application/pdf")
DOCX = FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
XLSX = FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
TYPES_BY_EXTENSION: dict[str, FileType] = {
    "jpg": JPEG,
    "jpeg": JPEG,
    "png": PNG,
    "webp": WEBP,
    "pdf": PDF,
    "docx": DOCX,
    "xlsx": XLSX,
}
OFFICE_MAIN_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}

MESSAGES = {
    "too_large": _("The file is too large: at most %(limit)d MB is accepted."),
    "type_not_allowed": _(
        "This type of file is not accepted. Upload a JPEG, PNG or WebP image, or a PDF, Word "
        "(.docx) or Excel (.xlsx) file."
    ),
    "type_mismatch": _("The content of the file does not match its extension (.%(extension)s)."),
    "corrupt": _("The file is damaged or could not be read."),
    "unsafe_path": _("The document contains a file with an unsafe path."),
    "too_many_pixels": _("The image is too large: at most %(limit)d megapixels are accepted."),
    "zip_bomb": _("The file expands to an unsafe size when unpacked."),
    "macro": _("Documents with macros or other active content are not accepted."),
    "dangerous_pdf": _(
        "PDF files with scripts, launch actions, embedded files or interactive forms are not accepted."
    ),
    "encrypted_pdf": _("Encrypted PDF files are not accepted; upload an unprotected copy."),
    "unchecked_pdf": _(
        "This PDF uses a structure that cannot be checked; save it again as a plain PDF."
    ),
    "empty": _("The file is empty."),
    "kind_not_allowed": _("Photos must be JPEG, PNG or WebP images."),
    "unknown_kind": _("Unknown kind of evidence."),
}


class EvidenceError(ValidationError):
    """An upload refused by the evidence checks; ``code`` is stable, the message is translatable."""

    def __init__(self, message: Any, code: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, params=params)


def _error(key: str, code: str | None = None, **params: Any) -> EvidenceError:
    return EvidenceError(MESSAGES[key], code or key, params or None)


def _too_large(limit: int) -> EvidenceError:
    return _error("too_large", limit=limit // MB)


@dataclass(frozen=True)
class ValidatedFile:
    """A checked upload: the bytes to store (re-encoded for images) and what was detected."""

    content: bytes
    file_type: FileType
    original_name: str
    sha256: str

    @property
    def extension(self) -> str:
        return self.file_type.extension

    @property
    def content_type(self) -> str:
        return self.file_type.content_type

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def is_image(self) -> bool:
        return self.file_type.is_image


# --- Names -----------------------------------------------------------------------------------------

_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def sanitize_filename(name: str) -> str:
    """The client's file name made safe for display: NFC, no directories, no NUL/control/bidi
    characters, no leading dots, at most 150 characters with a lower-case extension.

    The result is never used as a path: stored names are generated by ``stored_name``.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = stem.strip(". ") or "file"
    if not extension.strip():
        return stem[:MAX_NAME_LENGTH]
    extension = extension.lower()[: MAX_NAME_LENGTH // 2]
    return f"{stem[: MAX_NAME_LENGTH - len(extension) - 1]}.{extension}"


def _extension(name: str) -> str:
    _stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot else ""


def stored_name(extension: str) -> str:
    """A fresh server-generated storage name: ``evidence/YYYY/MM/<uuid4 hex>.<ext>`` (local time)."""
    now = timezone.localtime()
    return f"{UPLOAD_DIR}/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{extension}"


# --- Validation ------------------------------------------------------------------------------------


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def _read(upload: UploadedFile, limit: int) -> bytes:
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise _too_large(limit)
    return content


def validate_upload(upload: UploadedFile, *, kind: str) -> ValidatedFile:
    """Check an upload for ``kind`` and return the bytes to store, or raise ``EvidenceError``.

    The extension must be on the allowlist and agree with the magic bytes (a PNG named .jpg is
    refused). Photos (before/after) accept images only. The size limit of the type (images 10 MB,
    documents 20 MB) is checked before the body is read, and at most limit + 1 bytes are read.
    """
    if kind not in Attachment.Kind.values:
        raise _error("unknown_kind", "kind_not_allowed")
    original_name = sanitize_filename(upload.name or "")
    declared = TYPES_BY_EXTENSION.get(_extension(original_name))
    if declared is None:
        raise _error("type_not_allowed")
    if kind in PHOTO_KINDS and not declared.is_image:
        raise _error("kind_not_allowed")
    limit = MAX_IMAGE_BYTES if declared.is_image else MAX_DOCUMENT_BYTES
    if upload.size is not None and upload.size > limit:
        raise _too_large(limit)
    content = _read(upload, limit)
    if not content:
        raise _error("empty")
    sniffed = _sniff(content[:16])
    expected = "zip" if declared in (DOCX, XLSX) else declared.extension
    if sniffed != expected:
        raise _error("type_mismatch", extension=declared.extension)
    if declared.is_image:
        content = _reencode_image(content, declared)
    elif declared is PDF:
        content = _check_pdf(content)
    else:
        _check_office(content, declared)
    return ValidatedFile(
        content=content,
        file_type=declared,
        original_name=original_name,
        sha256=hashlib.sha256(content).hexdigest(),
    )


# --- Images ----------------------------------------------------------------------------------------


def _reencode_image(content: bytes, file_type: FileType) -> bytes:
    try:
        # Only the expected decoder is tried: a GIF or an SVG never reaches a parser.
        with Image.open(io.BytesIO(content), formats=[file_type.pil_format]) as image:
            width, height = image.size
            # Before load(): the header's size is known without allocating any pixel.
            if width * height > MAX_PIXELS:
                raise _error("too_many_pixels", limit=MAX_PIXELS // 1_000_000)
            image.load()
            return _encode(_clean(image, file_type), file_type)
    except Image.DecompressionBombError as exc:
        raise _error("too_many_pixels", limit=MAX_PIXELS // 1_000_000) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        # A truncated body, a bad CRC or an unreadable header all land here.
        raise _error("corrupt") from exc


def _clean(image: Image.Image, file_type: FileType) -> Image.Image:
    """A copy with the EXIF orientation applied, colours in sRGB and no metadata left."""
    transparency = image.info.get("transparency")
    icc = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image) or image.copy()
    if file_type is JPEG and image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    elif file_type is WEBP and image.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in image.mode or transparency is not None
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif file_type is PNG and image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        image = image.convert("RGBA")
    if icc and image.mode in ("RGB", "RGBA"):
        image = _to_srgb(image, icc)
    image.info = {"transparency": transparency} if transparency is not None else {}
    return image


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # an unusable profile is dropped; the pixels are kept as they are
    return converted if converted is not None else image


def _encode(image: Image.Image, file_type: FileType) -> bytes:
    out = io.BytesIO()
    params: dict[str, Any] = {}
    if file_type is JPEG:
        params = {"quality": JPEG_QUALITY, "optimize": True}
    elif file_type is WEBP:
        params = {"quality": WEBP_QUALITY}
    elif "transparency" in image.info and image.mode in ("P", "L", "RGB", "1"):
        params = {"transparency": image.info["transparency"]}
    # No exif/icc_profile/pnginfo/xmp parameters: nothing of the original metadata is written.
    image.save(out, format=file_type.pil_format, **params)
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------------

_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_DELIMITER = rb"(?=[\s()<>\[\]{}/%]|$)"
# Any JavaScript needs a /JavaScript action type or name tree, so the long names are searched in
# every byte of the file; the short /JS only outside stream data, where binary bytes could match it.
_PDF_ACTIVE = re.compile(
    rb"/(?:JavaScript|Launch|EmbeddedFiles?|RichMedia|XFA)" + _PDF_DELIMITER, re.IGNORECASE
)
_PDF_ACTIVE_SHORT = re.compile(rb"/JS" + _PDF_DELIMITER, re.IGNORECASE)
_PDF_ENCRYPT = re.compile(rb"/Encrypt" + _PDF_DELIMITER, re.IGNORECASE)
_PDF_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
# Readers locate compressed objects through /N and /First; /Type /ObjStm is not required by all.
_PDF_OBJECT_STREAM = re.compile(
    rb"/Type\s*/ObjStm" + _PDF_DELIMITER + rb"|/First" + _PDF_DELIMITER, re.IGNORECASE
)
_PDF_FILTER = re.compile(rb"/Filter" + _PDF_DELIMITER + rb"\s*(\[[^\]]*\]|/[^\s/<>\[\]()]+)?", re.I)


def _unescape_names(data: bytes) -> bytes:
    return _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _check_pdf(content: bytes) -> bytes:
    """Scan a PDF for active content and return it cut after its last ``%%EOF``.

    PDFs are not re-rendered, so a scan is all there is: ``/JavaScript``, ``/JS``, ``/Launch``,
    ``/EmbeddedFile(s)``, ``/RichMedia`` and ``/XFA`` (so also an ``/OpenAction`` that runs a script)
    are refused, with ``#xx`` escapes in names decoded, also inside object streams (where
    dictionaries are compressed). An encrypted PDF cannot be scanned and is refused; a PDF that is
    also a zip (a polyglot) is refused.
    """
    if zipfile.is_zipfile(io.BytesIO(content)):
        raise _error("dangerous_pdf")
    end = content.rfind(b"%%EOF")
    if end < 0 or len(content) - (end + 5) > PDF_EOF_WINDOW:
        raise _error("corrupt")
    if _PDF_ACTIVE.search(_unescape_names(content)):
        raise _error("dangerous_pdf")
    streams = _pdf_streams(content)
    plain, position = [], 0
    for _dictionary, start, stop in streams:
        plain.append(content[position:start])
        position = max(position, stop)
    plain.append(content[position:])
    text = _unescape_names(b"\n".join(plain))
    if _PDF_ENCRYPT.search(text):
        raise _error("encrypted_pdf", "dangerous_pdf")
    if _PDF_ACTIVE_SHORT.search(text):
        raise _error("dangerous_pdf")
    budget = MAX_PDF_OBJECT_STREAMS
    for dictionary, start, stop in streams:
        if _PDF_OBJECT_STREAM.search(dictionary):
            objects = _unescape_names(
                _inflate_object_stream(dictionary, content[start:stop], budget)
            )
            budget -= len(objects)
            if _PDF_ACTIVE.search(objects) or _PDF_ACTIVE_SHORT.search(objects):
                raise _error("dangerous_pdf")
    tail = content[end + 5 : end + 7]
    keep = 2 if tail == b"\r\n" else 1 if tail[:1] in (b"\r", b"\n") else 0
    return content[: end + 5 + keep]


def _pdf_streams(content: bytes) -> list[tuple[bytes, int, int]]:
    """(dictionary with names unescaped, first byte of the data, ``endstream``) of every stream."""
    streams = []
    position = 0
    while (match := _PDF_STREAM.search(content, position)) is not None:
        low = max(0, match.start() - 4096)
        head = content.rfind(b"obj", low, match.start())
        dictionary = _unescape_names(content[head if head >= 0 else low : match.start() + 2])
        stop = content.find(b"endstream", match.end())
        stop = len(content) if stop < 0 else stop
        streams.append((dictionary, match.end(), stop))
        position = stop
    return streams


def _inflate_object_stream(dictionary: bytes, data: bytes, budget: int) -> bytes:
    filters = _PDF_FILTER.findall(dictionary)
    names = [n.lower() for n in re.findall(rb"/(\w+)", filters[0])] if filters else []
    if (filters and names not in ([b"flatedecode"], [b"fl"])) or re.search(
        rb"/DecodeParms", dictionary, re.IGNORECASE
    ):
        # An indirect or other filter, or a predictor: the objects cannot be read back here.
        raise _error("unchecked_pdf", "dangerous_pdf")
    if not filters:
        return data
    try:
        objects = zlib.decompressobj().decompress(data, budget + 1)
    except zlib.error as exc:
        raise _error("corrupt") from exc
    if len(objects) > budget:
        raise _error("zip_bomb")
    return objects


# --- docx / xlsx -----------------------------------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_INFLATE_INPUT = 64 * 1024
_INFLATE_OUTPUT = 1 * MB
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>", re.IGNORECASE)
_EXTERNAL = re.compile(rb"TargetMode\s*=\s*[\"']External[\"']", re.IGNORECASE)
_ACTIVE_RELATIONSHIP = re.compile(
    rb"Type\s*=\s*[\"'][^\"']*/(?:attachedTemplate|oleObject|subDocument|frame)[\"']",
    re.IGNORECASE,
)
_MACRO_PARTS = ("vbaproject.bin", "vbadata.xml")


def _unsafe_member(name: str) -> bool:
    parts = re.split(r"[/\\]", name)
    return (
        name.startswith(("/", "\\"))
        or ".." in parts
        or re.match(r"^[A-Za-z]:", name) is not None
        or "\x00" in name
    )


def _check_office(content: bytes, declared: FileType) -> None:
    """A docx/xlsx must be an OOXML zip of the declared kind with no macros, no remote templates or
    objects, at most 2,000 members, safe member paths, and must really inflate to ≤ 100 MB with no
    member over a 100:1 ratio (members under 1 MB excepted)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        struct.error,
    ) as exc:
        raise _error("corrupt") from exc
    if len(members) > MAX_ZIP_MEMBERS:
        raise _error("zip_bomb")
    names = set()
    for member in members:
        lower = member.filename.lower()
        if _unsafe_member(member.filename):
            raise _error("unsafe_path", "corrupt")
        if lower in names or member.flag_bits & 0x1:
            raise _error(
                "corrupt"
            )  # duplicate names confuse readers; encrypted members hide content
        names.add(lower)
        if lower.rsplit("/", 1)[-1] in _MACRO_PARTS or "/activex/" in f"/{lower}":
            raise _error("macro")
    if "[content_types].xml" not in names or OFFICE_MAIN_PART[declared.extension] not in names:
        raise _error("type_mismatch", extension=declared.extension)
    if sum(m.file_size for m in members) > MAX_ZIP_UNCOMPRESSED:
        raise _error("zip_bomb")
    total = 0
    for member in members:
        total += _inflate_member(content, member, budget=MAX_ZIP_UNCOMPRESSED - total)
    # Every member has been inflated and bounded above, so reading the small ones now is safe.
    content_types = archive.read(_member(archive, "[content_types].xml")).lower()
    if b"macroenabled" in content_types or b"vbaproject" in content_types:
        raise _error("macro")
    for member in members:
        if member.filename.lower().endswith(".rels"):
            for tag in _RELATIONSHIP.findall(archive.read(member)):
                if _EXTERNAL.search(tag) and _ACTIVE_RELATIONSHIP.search(tag):
                    raise _error("macro")


def _member(archive: zipfile.ZipFile, lower_name: str) -> zipfile.ZipInfo:
    return next(m for m in archive.infolist() if m.filename.lower() == lower_name)


def _inflate_member(content: bytes, member: zipfile.ZipInfo, *, budget: int) -> int:
    """Inflate one member for real and return its size; its local header, CRC and declared size
    must agree with what is actually there (a reader that trusts the data would get the same)."""
    offset = member.header_offset
    header = content[offset : offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _error("corrupt")
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[9], fields[10]
    raw_name = content[offset + _LOCAL_HEADER.size : offset + _LOCAL_HEADER.size + name_length]
    encoding = "utf-8" if fields[2] & 0x800 else "cp437"
    if raw_name.decode(encoding, errors="replace") != member.orig_filename:
        raise _error("corrupt")
    start = offset + _LOCAL_HEADER.size + name_length + extra_length
    data = memoryview(content)[start : start + member.compress_size]
    if len(data) < member.compress_size:
        raise _error("corrupt")
    if member.compress_type == zipfile.ZIP_STORED:
        size, crc = len(data), zlib.crc32(data)
    elif member.compress_type == zipfile.ZIP_DEFLATED:
        size, crc = _inflate(data, budget=budget)
    else:
        raise _error("corrupt")  # Office writes only stored or deflated members
    if size != member.file_size or crc != member.CRC:
        raise _error("corrupt")
    return size


def _inflate(data: memoryview, *, budget: int) -> tuple[int, int]:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    size = crc = 0
    try:
        for position in range(0, len(data), _INFLATE_INPUT):
            piece: bytes | memoryview = data[position : position + _INFLATE_INPUT]
            piece_length = len(piece)
            while piece and not inflater.eof:
                chunk = inflater.decompress(piece, _INFLATE_OUTPUT)
                piece = inflater.unconsumed_tail
                size += len(chunk)
                crc = zlib.crc32(chunk, crc)
                consumed = position + piece_length - len(piece)
                if size > budget or (
                    size > ZIP_RATIO_GRACE and size > MAX_ZIP_RATIO * max(consumed, 1)
                ):
                    raise _error("zip_bomb")
            if inflater.eof:
                break
    except zlib.error as exc:
        raise _error("corrupt") from exc
    if not inflater.eof:
        raise _error("corrupt")
    return size, crc


# --- Storage ---------------------------------------------------------------------------------------


@transaction.atomic
def attachment_store(
    *,
    hazard: Hazard,
    kind: str,
    upload: UploadedFile | ValidatedFile,
    user: Any,
) -> Attachment:
    """Check ``upload`` (unless already a ``ValidatedFile``), write it under a generated name and
    record the Attachment. The content type is the detected one, never the client's header.

    If the row cannot be written the file is removed at once; if an enclosing transaction rolls back
    later, the file is left behind and ``attachment_orphans_delete`` removes it.
    """
    checked = upload if isinstance(upload, ValidatedFile) else validate_upload(upload, kind=kind)
    if kind in PHOTO_KINDS and not checked.is_image:
        raise _error("kind_not_allowed")
    name = default_storage.save(stored_name(checked.extension), ContentFile(checked.content))
    try:
        attachment = Attachment(
            hazard=hazard,
            kind=kind,
            file=name,
            original_name=checked.original_name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_by=user if getattr(user, "is_authenticated", False) else None,
        )
        attachment.full_clean(exclude=["hazard", "uploaded_by"])
        attachment.save()
    except BaseException:
        default_storage.delete(name)
        raise
    return attachment


def thumbnail_name(attachment: Attachment) -> str:
    """Where the cached thumbnail of an image attachment lives: next to the file."""
    stem = (attachment.file.name or "").rsplit(".", 1)[0]
    return f"{stem}.thumb.jpg"


def attachment_thumbnail_bytes(attachment: Attachment) -> bytes:
    """A JPEG of at most 320 × 320 px of an image attachment, cached next to the file.

    Two requests may build it at once; the loser's copy is deleted.
    """
    name = thumbnail_name(attachment)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as cached:
            return cached.read()
    with (
        attachment.file.open("rb") as source,
        Image.open(source, formats=["JPEG", "PNG", "WEBP"]) as image,
    ):
        if image.width * image.height > MAX_PIXELS:
            raise _error("too_many_pixels", limit=MAX_PIXELS // 1_000_000)
        image.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))  # transparent areas become white
        out = io.BytesIO()
        flat.save(out, format="JPEG", quality=80)
    data = out.getvalue()
    saved = default_storage.save(name, ContentFile(data))
    if saved != name:
        default_storage.delete(saved)
    return data


def attachment_orphans_delete(*, older_than: timedelta = timedelta(days=1)) -> list[str]:
    """Delete evidence files of this and last month that no Attachment points at (left behind by a
    rolled-back transaction), with their thumbnails; files younger than ``older_than`` are kept
    because their transaction may still be open. Returns the deleted names."""
    now = timezone.localtime()
    previous = now.replace(day=1) - timedelta(days=1)
    cutoff = timezone.now() - older_than
    deleted: list[str] = []
    for month in {f"{UPLOAD_DIR}/{now:%Y/%m}", f"{UPLOAD_DIR}/{previous:%Y/%m}"}:
        try:
            _dirs, files = default_storage.listdir(month)
        except FileNotFoundError:
            continue
        names = [f"{month}/{f}" for f in files]
        originals = [n for n in names if not n.endswith(".thumb.jpg")]
        known = set(Attachment.objects.filter(file__in=originals).values_list("file", flat=True))
        stems = {n.rsplit(".", 1)[0] for n in known}
        for name in names:
            owner = name.removesuffix(".thumb.jpg") if name.endswith(".thumb.jpg") else None
            alive = (owner in stems) if owner is not None else (name in known)
            if not alive and default_storage.get_modified_time(name) < cutoff:
                default_storage.delete(name)
                deleted.append(name)
    return sorted(deleted)


# --- Upload size guard -----------------------------------------------------------------------------


class EvidenceUploadHandler(FileUploadHandler):
    """Refuses oversized uploads before their body is read; put it first in ``upload_handlers``.

    A request whose Content-Length exceeds ``max_request_bytes`` is not read at all (empty POST and
    FILES are returned). Otherwise each file is counted as it arrives and the upload stops as soon as
    it passes the limit of its type by extension (images 10 MB, others 20 MB); the rest of the body is
    discarded by Django, never stored. The reason is kept in ``error`` for the view to show.

    Django parses the body when CSRF is checked, before the view runs, so a view must install this
    handler before that: use ``evidence_upload`` or ``EvidenceUploadMixin``.
    """

    def __init__(
        self, request: HttpRequest | None = None, *, max_request_bytes: int = MAX_REQUEST_BYTES
    ) -> None:
        super().__init__(request)
        self.max_request_bytes = max_request_bytes
        self.error: EvidenceError | None = None
        self.limit = MAX_DOCUMENT_BYTES
        self.received = 0  # bytes of the current file seen so far
        self.received_total = 0  # bytes of all files seen so far

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, UploadedFile]] | None:
        if content_length > self.max_request_bytes:
            self.error = _too_large(self.max_request_bytes)
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def new_file(
        self,
        field_name: str,
        file_name: str,
        content_type: str,
        content_length: int | None,
        charset: str | None = None,
        content_type_extra: dict[str, bytes] | None = None,
    ) -> None:
        super().new_file(
            field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        file_type = TYPES_BY_EXTENSION.get(_extension(sanitize_filename(file_name)))
        self.limit = MAX_IMAGE_BYTES if file_type and file_type.is_image else MAX_DOCUMENT_BYTES
        self.received = 0
        if content_length is not None and content_length > self.limit:
            self._stop()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        self.received_total += len(raw_data)
        if self.received > self.limit:
            self._stop()
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        return None  # the next handler (memory or temporary file) builds the file

    def _stop(self) -> None:
        self.error = _too_large(self.limit)
        raise StopUpload(connection_reset=False)


def upload_error(request: HttpRequest) -> EvidenceError | None:
    """Why ``EvidenceUploadHandler`` refused the upload of ``request``, if it did."""
    for handler in getattr(request, "_upload_handlers", None) or []:
        if isinstance(handler, EvidenceUploadHandler) and handler.error is not None:
            return handler.error
    return None


def _guarded(request: HttpRequest, respond: Callable[[], HttpResponse]) -> HttpResponse:
    if request.method == "POST":
        request.upload_handlers.insert(0, EvidenceUploadHandler(request))
        request.POST  # noqa: B018 - parse now, with the guard in place
        error = upload_error(request)
        if error is not None:
            # Nothing is acted on: the form page is shown again with the reason.
            for message in error.messages:
                messages.error(request, message, fail_silently=True)
            return HttpResponseRedirect(request.get_full_path(), status=303)
    return respond()


def evidence_upload(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a function view that receives evidence: installs ``EvidenceUploadHandler`` before the
    body is parsed, then checks CSRF as usual. A refused upload redirects (303) back to the page with
    the reason as an error message, without calling the view."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _guarded(request, lambda: protected(request, *args, **kwargs))

    return wrapped


class EvidenceUploadMixin:
    """The same guard for class-based views (put it first among the bases)."""

    @method_decorator(csrf_exempt)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        parent = super().dispatch  # type: ignore[misc]
        return _guarded(request, lambda: csrf_protect(parent)(request, *args, **kwargs))
