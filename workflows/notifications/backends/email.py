"""E-mail through Django's configured mail backend (SMTP in production, files in the demo)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string

from . import OutgoingMessage, PermanentDeliveryError


def message_id(key: str) -> str:
    """A Message-ID derived from the outbox key: a re-sent copy carries the same id, so mail
    clients and archives can drop the duplicate that at-least-once delivery may produce."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}.safechain@{DNS_NAME}>"


class EmailBackend:
    """Sends one plain-text e-mail per message; the body comes from ``notifications/email.txt``."""

    def send(self, message: OutgoingMessage) -> None:
        """Raises PermanentDeliveryError without an address; SMTP errors propagate (retried)."""
        if not message.address:
            raise PermanentDeliveryError("no e-mail address")
        body = render_to_string("notifications/email.txt", {"message": message})
        email = EmailMessage(
            subject=" ".join(message.title.split()),  # a header: no line breaks
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.address],
            headers={"Message-ID": message_id(message.key), "X-SafeChain-Key": message.key},
        )
        email.send(fail_silently=False)
