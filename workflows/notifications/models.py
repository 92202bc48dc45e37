"""The in-app inbox, the outbox of external messages and the departments' webhook endpoints.

Both tables are written by ``services.notify()`` inside the caller's transaction, each row with a unique
key, so a repeated sweep inserts nothing. The outbox row — not the broker message — is the truth about
an external message: a lost task message, a flushed broker or a killed worker leaves the row pending or
with an expired lease, and the requeue tick sends it again.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department


class Level(models.TextChoices):
    """How urgent a notification is (its colour and icon in the notification centre)."""

    INFO = "info", _("information")
    WARNING = "warning", _("reminder")
    CRITICAL = "critical", _("escalation")


class Channel(models.TextChoices):
    """Where a message goes. In-app is always written; the others go through the outbox."""

    INAPP = "inapp", _("in-app")
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("webhook")


# Channels whose rows of one digest group are merged into one message.
DIGEST_CHANNELS = frozenset({Channel.EMAIL.value, Channel.SMS.value})


class Notification(models.Model):
    """One message in a user's in-app inbox; written exactly once per key."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    key = models.CharField(_("key"), max_length=255, unique=True)
    title = models.CharField(_("notification title"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=1000, blank=True)
    subject_type = models.CharField(_("subject type"), max_length=50, blank=True)
    subject_id = models.BigIntegerField(_("subject id"), null=True, blank=True)
    level = models.CharField(_("urgency"), max_length=10, choices=Level.choices, default=Level.INFO)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(
                fields=["recipient", "read_at", "-created_at"], name="notifications_inbox"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Outbox(models.Model):
    """One external message (e-mail, SMS or webhook call) and the state of its delivery.

    ``claimed_until`` is a lease. For a row being sent (``sending``) it is the moment after which the
    worker is presumed dead and the row may be taken over. For a ``pending`` row it marks that a
    delivery message was enqueued by the requeue tick and another need not be sent before then.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("delivery failed")
        CANCELLED = "cancelled", _("cancelled")

    key = models.CharField(_("key"), max_length=255)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    email = models.EmailField(_("e-mail address"), blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=32, blank=True)
    webhook_department = models.ForeignKey(
        Department,
        verbose_name=_("webhook department"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    title = models.CharField(_("notification title"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=1000, blank=True)
    subject_type = models.CharField(_("subject type"), max_length=50, blank=True)
    subject_id = models.BigIntegerField(_("subject id"), null=True, blank=True)
    digest_group = models.CharField(_("digest group"), max_length=255, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("sent in the digest of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "channel"], name="notifications_outbox_unique_key_channel"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="notifications_outbox_sent_has_time",
            ),
        ]
        indexes = [
            # The requeue tick reads only rows that still need work: O(pending), never O(all).
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="notifications_outbox_due",
            ),
            models.Index(
                fields=["claimed_until"],
                condition=models.Q(status="sending"),
                name="notifications_outbox_leased",
            ),
            models.Index(
                fields=["digest_group", "channel"],
                condition=models.Q(status="pending") & ~models.Q(digest_group=""),
                name="notifications_outbox_digest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.key}"


def new_webhook_secret() -> str:
    """A random signing secret for a new webhook endpoint."""
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """Where a department's system receives JSON calls, signed with a shared secret (HMAC-SHA256)."""

    department = models.OneToOneField(
        Department,
        verbose_name=_("department"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoint",
    )
    url = models.URLField(
        _("URL"), max_length=500, validators=[URLValidator(schemes=["http", "https"])]
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=128,
        default=new_webhook_secret,
        help_text=_(
            "Shared with the receiving system; it checks the X-SafeChain-Signature header."
        ),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ("department__code",)

    def __str__(self) -> str:
        return f"{self.department} → {self.url}"
