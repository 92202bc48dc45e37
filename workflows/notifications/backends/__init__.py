"""Channel backends and their registry.

A backend turns one ``OutgoingMessage`` into one external delivery and raises on failure:
``PermanentDeliveryError`` when a retry cannot help (no address, the endpoint refuses the request),
any other exception when it might (timeouts, 5xx, an SMTP hiccup). Backends never touch the database;
addresses and secrets are resolved by the delivery service and handed over in the message.

The registry maps a channel name to a dotted path; ``settings.NOTIFICATIONS_BACKENDS`` overrides or adds
entries, e.g. ``{"sms": "workflows.notifications.backends.sms.HttpGatewayBackend"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_BACKENDS: dict[str, str] = {
    "email": "workflows.notifications.backends.email.EmailBackend",
    "sms": "workflows.notifications.backends.sms.LogFileBackend",
    "webhook": "workflows.notifications.backends.webhook.WebhookBackend",
}


class DeliveryError(Exception):
    """A delivery failed; the row is retried with backoff until the attempts run out."""


class PermanentDeliveryError(DeliveryError):
    """A delivery failed in a way no retry can fix; the row is marked failed at once."""


@dataclass(frozen=True)
class OutgoingMessage:
    """Everything a backend needs; ``address`` is the e-mail address, mobile number or webhook URL."""

    key: str
    channel: str
    address: str
    title: str
    body: str
    link: str = ""
    subject_type: str = ""
    subject_id: int | None = None
    created_at: datetime | None = None
    attempt: int = 1
    secret: str = ""
    department_code: str = ""
    # Keys of the rows merged into this message when it is a digest (the row's own key first).
    digest_keys: tuple[str, ...] = ()


class Backend(Protocol):
    """What every channel backend provides."""

    def send(self, message: OutgoingMessage) -> None: ...


def backend_paths() -> dict[str, str]:
    """The channel → dotted path map, with the settings override applied."""
    return {**DEFAULT_BACKENDS, **getattr(settings, "NOTIFICATIONS_BACKENDS", {})}


def external_channels() -> frozenset[str]:
    """Channel names that go through the outbox (everything with a backend)."""
    return frozenset(backend_paths())


def get_backend(channel: str) -> Backend:
    """A fresh backend instance for ``channel``; KeyError for a channel with no backend."""
    backend_class = import_string(backend_paths()[channel])
    backend: Backend = backend_class()
    return backend
