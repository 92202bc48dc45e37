"""The downloadable .xlsx template, built from the same sheet table the parser reads."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from .spec import HELP_SHEET, SHEETS


def build_template() -> bytes:
    """The downloadable .xlsx template: one sheet per table named with its Chinese label, the
    Chinese headers in row 1 only (the parser reads data from row 2), and a "说明" sheet — which
    the parser ignores — explaining every column."""
    book = openpyxl.Workbook()
    guide = book.active
    guide.title = HELP_SHEET
    _write_guide(guide)
    required_fill = PatternFill("solid", fgColor="FCE4D6")
    for spec in SHEETS:
        ws = book.create_sheet(spec.label)
        ws.freeze_panes = "A2"
        for index, column in enumerate(spec.columns, start=1):
            cell = ws.cell(row=1, column=index, value=column.label)
            cell.font = Font(bold=True)
            if column.required:
                cell.fill = required_fill
            letter = cell.column_letter
            ws.column_dimensions[letter].width = max(14, len(column.label) * 2 + 4)
            if column.is_text_code:
                ws.column_dimensions[letter].number_format = "@"
            if column.is_date:
                ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
            if column.choices:
                values = ",".join(aliases[0] for aliases in column.choices.values())
                # A suggestion, not a rule: typing the English key stays possible.
                check = DataValidation(type="list", formula1=f'"{values}"', allow_blank=True)
                check.showErrorMessage = False
                ws.add_data_validation(check)
                check.add(f"{letter}2:{letter}5000")
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _write_guide(ws: Any) -> None:
    lines = [
        _("How to fill in this workbook"),
        _(
            "Fill in the sheets you need and delete or leave empty the others; the header stays "
            "in row 1 and data starts in row 2. Sheet and column names may also be the English keys."
        ),
        _(
            "The import is all or nothing: if any row has an error, nothing is written and every "
            "error is listed with its sheet, row and column."
        ),
        _(
            "Rows are matched by their code, unified social credit code or username: existing "
            "rows are updated, new ones created, and importing the same file again changes nothing."
        ),
        _(
            "An optional column removed from the header leaves that field unchanged; an empty "
            "cell in a present column clears it. Headers with a coloured background are required."
        ),
        _("This sheet is ignored by the import."),
    ]
    for index, line in enumerate(lines, start=1):
        ws.cell(row=index, column=1, value=line).font = Font(bold=index == 1)
    start = len(lines) + 2
    for col, text in enumerate((_("Sheet"), _("Column"), _("Key"), _("Required"), _("Meaning")), 1):
        ws.cell(row=start, column=col, value=text).font = Font(bold=True)
    row = start + 1
    for spec in SHEETS:
        for column in spec.columns:
            values = (
                f"{spec.label}（{spec.key}）",
                column.label,
                column.key,
                _("yes") if column.required else "",
                str(column.help),
            )
            for col, text in enumerate(values, start=1):
                ws.cell(row=row, column=col, value=text).alignment = Alignment(wrap_text=col == 5)
            row += 1
    for letter, width in zip("ABCDE", (24, 20, 20, 8, 80), strict=True):
        ws.column_dimensions[letter].width = width
