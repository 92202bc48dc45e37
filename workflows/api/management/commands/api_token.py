"""``manage.py api_token``: create an API token and print its secret (the only time it is shown)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from workflows.api import services
from workflows.api.models import ApiClient


class Command(BaseCommand):
    """Create a token for an API client (``--client NAME``) or a personal token for a user
    (``--user USERNAME``) and print only the secret on stdout, so it can be piped into a secret store.

    The secret is never stored (only its hash): run the command again for a new one and revoke the
    old one in the admin. ``--expires-in-days`` sets an expiry; an inactive client or user is refused.
    """

    help = "Create an API token for a client or a user and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--client", metavar="NAME", help="Name of the API client.")
        who.add_argument("--user", metavar="USERNAME", help="Username for a personal token.")
        parser.add_argument(
            "--name", default="", help="Name of a personal token (default: 'command line')."
        )
        parser.add_argument(
            "--expires-in-days", type=int, default=None, metavar="N", help="Expire after N days."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError(_("--expires-in-days must be at least 1."))
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            if options["client"]:
                secret = self._client_token(options["client"], expires_at)
            else:
                secret = self._personal_token(
                    options["user"], options["name"] or "command line", expires_at
                )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(secret)

    def _client_token(self, name: str, expires_at: Any) -> str:
        client = ApiClient.objects.filter(name=name).first()
        if client is None:
            raise CommandError(_("No API client is named %(name)s.") % {"name": name})
        if not client.active:
            raise CommandError(_("The API client %(name)s is inactive.") % {"name": name})
        _token, secret = services.api_client_token_create(client=client, expires_at=expires_at)
        return secret

    def _personal_token(self, username: str, name: str, expires_at: Any) -> str:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user is named %(name)s.") % {"name": username})
        if not user.is_active:
            raise CommandError(_("The user %(name)s is inactive.") % {"name": username})
        _token, secret = services.personal_token_create(user=user, name=name, expires_at=expires_at)
        return secret
