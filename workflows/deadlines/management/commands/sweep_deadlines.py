"""``manage.py sweep_deadlines``: the deadline tick for cron (or a loop) instead of Celery beat."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from workflows.deadlines.services import deadlines_tick

HELP = gettext_lazy(
    "Send due deadline reminders and escalations and fire due workflow timers. "
    "Safe to run next to the Celery beat tick."
)


class Command(BaseCommand):
    help = "Send due deadline reminders and escalations and fire due workflow timers."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # argparse cannot format a lazy string: translate the help when the parser is built.
        self.help = str(HELP)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", type=int, default=500, help=_("Rows claimed per transaction.")
        )
        parser.add_argument(
            "--loop", action="store_true", help=_("Keep running, one tick per interval.")
        )
        parser.add_argument(
            "--interval", type=float, default=60.0, help=_("Seconds between ticks with --loop.")
        )

    def handle(self, *args: Any, batch: int, loop: bool, interval: float, **options: Any) -> None:
        """Parse, tick, report; with ``--loop`` tick every ``interval`` seconds until interrupted."""
        if batch < 1:
            raise CommandError(_("--batch must be 1 or more."))
        if interval <= 0:
            raise CommandError(_("--interval must be more than 0."))
        while True:
            started = time.monotonic()
            tick = deadlines_tick(batch=batch)
            sweep = tick.sweep
            self.stdout.write(
                _(
                    "claimed %(claimed)d, fired %(fired)d, notifications %(notifications)d "
                    "(%(outbox)d new rows), skipped %(skipped)d, closed %(closed)d, failed "
                    "%(failed)d, timers %(timers)d"
                )
                % {**sweep.as_dict(), "timers": tick.timers}
            )
            if not loop:
                return
            try:
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
            except KeyboardInterrupt:
                return
