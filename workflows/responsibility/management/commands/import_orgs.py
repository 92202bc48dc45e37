"""``manage.py import_orgs FILE.xlsx [--dry-run]``: bring a city's structure in from one workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from workflows.responsibility.importer import (
    ImportResult,
    WorkbookError,
    workbook_import,
)

ZIP_MAGIC = b"PK\x03\x04"


class Command(BaseCommand):
    help = (
        "Import regions, department kinds, departments, industries, the duty map, enterprises, "
        "people and posts from an Excel workbook. All or nothing: with any error nothing is "
        "written, every error is printed as 'sheet, row N, column: message' and the exit status "
        "is non-zero. Importing the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the .xlsx workbook (see the template in the admin)")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the workbook and print what would change, without writing anything",
        )

    def handle(self, *args: Any, file: str, dry_run: bool, **options: Any) -> None:
        """Check, then (unless --dry-run or any error) write the workbook in one transaction."""
        path = Path(file)
        self._check_file(path)
        try:
            result = workbook_import(source=path, dry_run=dry_run)
        except WorkbookError as exc:
            raise CommandError(str(exc)) from exc
        for error in result.errors:
            self.stderr.write(str(error))
        if result.errors:
            raise CommandError(
                ngettext(
                    "%(n)d error: nothing was imported.",
                    "%(n)d errors: nothing was imported.",
                    len(result.errors),
                )
                % {"n": len(result.errors)}
            )
        self._print_counts(result)

    def _check_file(self, path: Path) -> None:
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s.") % {"path": path})
        if path.suffix.lower() != ".xlsx":
            raise CommandError(
                _("%(path)s is not an Excel .xlsx file (the name must end in .xlsx).")
                % {"path": path}
            )
        try:
            with path.open("rb") as handle:
                head = handle.read(len(ZIP_MAGIC))
        except OSError as exc:
            raise CommandError(
                _("%(path)s cannot be read: %(error)s.") % {"path": path, "error": exc.strerror}
            ) from exc
        if head != ZIP_MAGIC:
            raise CommandError(_("%(path)s is not an Excel .xlsx workbook.") % {"path": path})

    def _print_counts(self, result: ImportResult) -> None:
        if result.dry_run:
            self.stdout.write(_("Dry run: the workbook has no errors; nothing was written."))
        for sheet, counts in result.counts.items():
            self.stdout.write(
                _("%(sheet)s: %(created)d new, %(updated)d changed, %(unchanged)d unchanged")
                % {"sheet": sheet, **counts}
            )
        for title in result.ignored_sheets:
            self.stdout.write(_("Sheet ignored: %(title)s") % {"title": title})
        if not result.dry_run:
            self.stdout.write(self.style.SUCCESS(_("Import complete.")))
