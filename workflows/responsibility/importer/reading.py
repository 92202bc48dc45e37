"""Reading a workbook: recognised sheets by key, their header columns and non-empty rows.

Sheets and headers may be named by their Chinese label or their English key; any other sheet (the
"说明" help sheet included) is ignored. A file openpyxl cannot read raises WorkbookError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import IO, Any

import openpyxl
from django.utils.translation import gettext as _

from .result import ImportErrorItem, WorkbookError, error_item
from .spec import SPEC_BY_NAME, UNREADABLE, SheetSpec


@dataclass
class Row:
    number: int  # Excel row number
    values: dict[str, Any]


@dataclass
class Sheet:
    spec: SheetSpec
    title: str  # the sheet's name in the file
    present: frozenset[str]  # column keys present in the header
    rows: list[Row]


Source = str | bytes | IO[bytes] | Any  # a path, the bytes, or an open binary file


def read_workbook(source: Source) -> tuple[dict[str, Sheet], list[ImportErrorItem], list[str]]:
    """The recognised sheets of a workbook by key, header errors, and the titles of sheets that
    were ignored (the "说明" help sheet and anything unknown). Raises WorkbookError for a file
    openpyxl cannot read."""
    if isinstance(source, bytes):
        source = BytesIO(source)
    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise WorkbookError(_(UNREADABLE) % {"error": type(exc).__name__}) from exc
    try:
        return _read_sheets(book)
    except Exception as exc:
        raise WorkbookError(_(UNREADABLE) % {"error": type(exc).__name__}) from exc
    finally:
        book.close()


def _read_sheets(book: Any) -> tuple[dict[str, Sheet], list[ImportErrorItem], list[str]]:
    sheets: dict[str, Sheet] = {}
    errors: list[ImportErrorItem] = []
    ignored: list[str] = []
    for ws in book.worksheets:
        title = str(ws.title)
        spec = SPEC_BY_NAME.get(title.strip()) or SPEC_BY_NAME.get(title.strip().lower())
        if spec is None:
            ignored.append(title)
            continue
        if spec.key in sheets:
            first = sheets[spec.key].title
            errors.append(
                error_item(
                    spec.key, 1, "", "duplicate_sheet", sheet=spec.key, first=first, second=title
                )
            )
            continue
        ws.reset_dimensions()  # some writers record a wrong size: read every row there is
        rows = ws.iter_rows(values_only=True)
        keys, header_errors = _parse_header(spec, next(rows, ()))
        errors.extend(header_errors)
        parsed = [
            Row(number, {key: values[i] for i, key in keys.items() if i < len(values)})
            for number, values in enumerate(rows, start=2)
            if any(v is not None and str(v).strip() for v in values)
        ]
        sheets[spec.key] = Sheet(spec, title, frozenset(keys.values()), parsed)
    return sheets, errors, ignored


def _parse_header(
    spec: SheetSpec, header: Sequence[Any]
) -> tuple[dict[int, str], list[ImportErrorItem]]:
    by_name = {c.key.lower(): c.key for c in spec.columns} | {c.label: c.key for c in spec.columns}
    keys: dict[int, str] = {}
    errors: list[ImportErrorItem] = []
    for index, cell in enumerate(header):
        name = cell_text(cell)
        key = by_name.get(name) or by_name.get(name.lower())
        if not name:
            continue
        if key is None:
            columns = ", ".join(f"{c.key}（{c.label}）" for c in spec.columns)
            errors.append(
                error_item(spec.key, 1, name, "unknown_column", header=name, columns=columns)
            )
        elif key in keys.values():
            errors.append(error_item(spec.key, 1, key, "duplicate_column", column=key))
        else:
            keys[index] = key
    errors.extend(
        error_item(spec.key, 1, c.key, "missing_column", column=c.key, label=c.label)
        for c in spec.columns
        if c.required and c.key not in keys.values()
    )
    return keys, errors


def cell_text(value: Any) -> str:
    """A cell as stripped text; whole numbers lose Excel's ".0" (codes typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()
