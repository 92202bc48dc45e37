"""``manage.py coverage``: the blind-spot and overlap report of the duty map, as JSON or CSV."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from workflows.responsibility.coverage import coverage_csv, coverage_report


class Command(BaseCommand):
    """Print the coverage report for a day (default today) to stdout or to ``--output``.

    A report with blind spots is still a successful report (exit status 0); ``--fail-on-blind-spots``
    makes the command exit with status 1 when there is any, after writing the report, so that a CI job
    checking a city's data fails. Overlaps alone never fail the command: the importer and
    ``duty_create`` already refuse them.
    """

    help = "Report blind spots and overlapping lead duties of the duty map (JSON or CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=("json", "csv"), default="json")
        parser.add_argument("--on", help="the day to report on, YYYY-MM-DD (default: today)")
        parser.add_argument("--output", help="write to this file instead of stdout")
        parser.add_argument(
            "--fail-on-blind-spots",
            action="store_true",
            help="exit with status 1 when the report has any blind spot",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        on = _parse_day(options["on"]) if options["on"] else None
        report = coverage_report(on=on)
        if options["format"] == "csv":
            text = coverage_csv(report)
        else:
            text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
        if options["output"]:
            # newline="": the csv module already ends rows with \r\n.
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                out.write(text)
        else:
            self.stdout.write(text, ending="")
        if options["fail_on_blind_spots"] and report["blind_spots"]:
            raise CommandError(
                _("The coverage report on %(on)s has %(count)d blind spots.")
                % {"on": report["on"], "count": len(report["blind_spots"])},
                returncode=1,
            )


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("“%(value)s” is not a date; use YYYY-MM-DD.") % {"value": value}
        ) from None
