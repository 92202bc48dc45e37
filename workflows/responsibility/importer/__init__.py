"""Import a city's organisations and duty map from one Excel workbook (issue 3 §4).

Rules that are not obvious:

- **All or nothing.** Every row of every sheet is checked first — against the database *and* the
  other rows of the workbook, in dependency order (regions, department kinds, departments,
  industries, duties, enterprises, people, posts). Only a workbook without a single error is
  written, in one transaction.
- **Upserts by natural key** (region/kind/department/industry code, USCC, username, enterprise +
  post code); a row whose values equal the database is not written at all, so re-importing the
  same file changes nothing.
- **Optional columns:** a column left out of the header leaves that field of existing rows
  untouched; a column that is present but has an empty cell clears the field.
- **Duty rows are history.** An existing row (same industry, kind, role, first day) may only be
  end-dated (its last day set or moved earlier); a change of levels or decision needs a new row
  with a new ``valid_from`` and is reported as an error.
- **People** are created with an unusable password (they set one through password reset);
  memberships are only added, never removed. A people row is "created" when its membership is new.
- **Speed.** Existing rows are fetched in bulk into dicts and written with bulk_create/bulk_update:
  the number of queries grows with the number of *batches*, never with the number of rows.

Layout: ``spec`` (sheets, columns, error messages), ``reading`` (workbook → rows), ``plan`` (the
run's state, prefetch and cell helpers), ``checks`` (one check per sheet), ``writing`` (the
transaction), ``template`` (the downloadable template), ``result`` (errors and counts). This module
is the entry point, ``workbook_import``.
"""

from __future__ import annotations

from accounts.models import User

from .checks import ImportCheck
from .reading import Row, Sheet, Source, read_workbook
from .result import ImportErrorItem, ImportResult, WorkbookError
from .spec import HELP_SHEET, MESSAGES, SHEET_ORDER, SHEETS, SPEC_BY_NAME, Column, SheetSpec
from .template import build_template
from .writing import write

__all__ = [
    "HELP_SHEET",
    "MESSAGES",
    "SHEETS",
    "SHEET_ORDER",
    "Column",
    "ImportErrorItem",
    "ImportResult",
    "Row",
    "Sheet",
    "SheetSpec",
    "Source",
    "WorkbookError",
    "build_template",
    "read_workbook",
    "workbook_import",
]


def workbook_import(
    *, source: Source, dry_run: bool = False, user: User | None = None
) -> ImportResult:
    """Check a workbook and, unless ``dry_run`` or any error was found, write it in one
    transaction. Errors come in sheet, row and column order. Raises WorkbookError when the file is
    not a readable .xlsx workbook."""
    sheets, errors, ignored = read_workbook(source)
    run = ImportCheck(sheets, user=user)
    run.errors.extend(errors)
    run.check()
    order = {key: i for i, key in enumerate(SHEET_ORDER)}
    run.errors.sort(key=lambda e: (order.get(e.sheet, 99), e.row, _column_index(e)))
    if not run.errors and not dry_run:
        write(run)
    return ImportResult(
        errors=run.errors, counts=run.counts, dry_run=dry_run, ignored_sheets=ignored
    )


def _column_index(error: ImportErrorItem) -> int:
    spec = SPEC_BY_NAME.get(error.sheet)
    keys = [c.key for c in spec.columns] if spec else []
    return keys.index(error.column) if error.column in keys else len(keys)
