"""What an import reports: the error items (sheet, row, column, message, code) and the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from .spec import MESSAGES, SPEC_BY_NAME


class WorkbookError(ValueError):
    """The file is not a readable .xlsx workbook (the message is a translated sentence)."""


@dataclass(frozen=True)
class ImportErrorItem:
    """One problem: the sheet key, the Excel row number, the column key, a message and a code."""

    sheet: str
    row: int
    column: str
    message: str
    code: str

    def __str__(self) -> str:
        return _("%(sheet)s, row %(row)d, %(column)s: %(message)s") % {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column or "-",
            "message": self.message,
        }

    @property
    def sheet_label(self) -> str:
        spec = SPEC_BY_NAME.get(self.sheet)
        return spec.label if spec else self.sheet

    @property
    def column_label(self) -> str:
        spec = SPEC_BY_NAME.get(self.sheet)
        if spec is None or not self.column:
            return self.column
        return next((c.label for c in spec.columns if c.key == self.column), self.column)


def error_item(
    sheet: str,
    row: int,
    column: str,
    code: str,
    text: str | None = None,
    /,
    **params: Any,
) -> ImportErrorItem:
    message = _(text or MESSAGES[code])
    return ImportErrorItem(sheet, row, column, message % params if params else message, code)


@dataclass
class ImportResult:
    """What an import found and did: ``counts[sheet]`` has created/updated/unchanged row counts
    (what *would* happen when ``dry_run`` is set or there are errors)."""

    errors: list[ImportErrorItem]
    counts: dict[str, dict[str, int]]
    dry_run: bool
    ignored_sheets: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run
