"""``manage.py chain``: explain who answers for a hazard of an enterprise, in order, and why."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Enterprise
from accounts.uscc import normalize_uscc, validate_uscc
from workflows.responsibility.chain import ChainError, resolve_chain
from workflows.responsibility.models import Industry, Post

FORMATS = ("json", "text")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HELP = gettext_lazy(
    "Explain the responsibility chain of an enterprise for a hazard: who answers, in what order, "
    "and why."
)


class Command(BaseCommand):
    """Resolve the responsibility chain (issue 3 §2) and print it as JSON or as one line per link.

    The USCC is normalised (spaces removed, upper case) before lookup. ``--industry`` defaults to the
    enterprise's primary industry and may name any industry (a hazard in a side business);
    ``--post`` names a post of that enterprise by its code; ``--on`` explains the chain as the duty
    map stood on that day (default: today in Asia/Shanghai). Bad input exits non-zero with a message.
    """

    help = "Explain the responsibility chain of an enterprise for a hazard."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # argparse cannot format a lazy string: translate the help when the parser is built.
        self.help = str(HELP)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enterprise",
            required=True,
            metavar="USCC",
            help=_("Unified social credit code of the enterprise."),
        )
        parser.add_argument(
            "--industry",
            metavar="CODE",
            help=_("Industry code (default: the enterprise's primary industry)."),
        )
        parser.add_argument(
            "--grade",
            default="general",
            metavar="general|major",
            help=_("Hazard grade (default: general)."),
        )
        parser.add_argument(
            "--post", metavar="CODE", help=_("Code of the responsible post in the enterprise.")
        )
        parser.add_argument(
            "--on",
            metavar="YYYY-MM-DD",
            help=_("Explain the chain as the duty map stood on this day (default: today)."),
        )
        parser.add_argument(
            "--format", default="json", metavar="json|text", help=_("Output format.")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output_format = options["format"]
        if output_format not in FORMATS:
            raise CommandError(
                _("Unknown output format %(format)s: use json or text.") % {"format": output_format}
            )
        enterprise = self._enterprise(options["enterprise"])
        industry = self._industry(options["industry"])
        post = self._post(enterprise, options["post"])
        on = self._date(options["on"])
        try:
            chain = resolve_chain(
                enterprise=enterprise, industry=industry, grade=options["grade"], post=post, on=on
            )
        except ChainError as exc:
            raise CommandError(str(exc)) from None
        if output_format == "json":
            self.stdout.write(json.dumps(chain.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(chain.as_text())

    def _enterprise(self, value: str) -> Enterprise:
        uscc = normalize_uscc(value)
        try:
            validate_uscc(uscc)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        enterprise = Enterprise.objects.select_related("principal").filter(uscc=uscc).first()
        if enterprise is None:
            raise CommandError(
                _("No enterprise has the unified social credit code %(uscc)s.") % {"uscc": uscc}
            )
        return enterprise

    def _industry(self, code: str | None) -> Industry | None:
        if code is None:
            return None
        industry = Industry.objects.select_related("parent__parent").filter(code=code).first()
        if industry is None:
            raise CommandError(_("Unknown industry code %(code)s.") % {"code": code})
        return industry

    def _post(self, enterprise: Enterprise, code: str | None) -> Post | None:
        if code is None:
            return None
        post = (
            Post.objects.select_related("holder").filter(enterprise=enterprise, code=code).first()
        )
        if post is None:
            raise CommandError(
                _("%(enterprise)s has no post with code %(code)s.")
                % {"enterprise": enterprise.name, "code": code}
            )
        return post

    def _date(self, value: str | None) -> date | None:
        if value is None:
            return None
        try:
            if not ISO_DATE.match(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise CommandError(
                _("%(value)s is not a valid date: use YYYY-MM-DD.") % {"value": value}
            ) from None
