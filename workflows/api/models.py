"""API credentials and the idempotency ledger of alert intake.

- A **personal token** lets a user call the API as themselves (same scope as their web session).
- An **API client** is a system account (a monitoring or early-warning platform) bound to one
  department with explicit scopes. It acts through a dedicated *service user*: a ``User`` with an
  unusable password and a "staff" membership of the client's department, so every scoping selector and
  every service works for it unchanged. The client's scopes then narrow what its tokens may call.
- A token's secret is shown once, when it is created; the database keeps only its ``prefix`` (the kind
  marker and the first 8 random characters, for recognising it in lists) and an HMAC-SHA256 of the whole
  secret keyed with ``SECRET_KEY`` (``token_hash``). A stolen database yields no usable token.
- An **idempotency record** remembers the response to one ``Idempotency-Key`` of one client, so a
  repeated alert returns the same answer and opens no second hazard.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PERSONAL_MARKER = "scp_"
CLIENT_MARKER = "scc_"
PREFIX_LENGTH = 12  # the marker and the first 8 random characters
_HASH_SALT = b"safechain.api.token:"


class Scope(models.TextChoices):
    """What an API client's tokens may do (personal tokens and sessions act as their user)."""

    HAZARDS_READ = "hazards:read", _("read hazards and tasks")
    HAZARDS_WRITE = "hazards:write", _("report hazards and upload evidence")
    TASKS_WRITE = "tasks:write", _("claim and complete hazard tasks")
    ALERTS_WRITE = "alerts:write", _("report monitoring alerts")
    ENTERPRISES_READ = "enterprises:read", _("read enterprises and their responsibility chains")


def validate_scopes(value: Any) -> None:
    """A list of distinct scope strings from ``Scope``."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("Scopes must be a list of scope names."), code="invalid")
    unknown = sorted(set(value) - set(Scope.values))
    if unknown:
        raise ValidationError(
            _("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)}, code="unknown_scope"
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("A scope is listed twice."), code="duplicate_scope")


def generate_secret(marker: str) -> str:
    """A new token secret: the kind marker and 43 URL-safe random characters (256 bits)."""
    return marker + secrets.token_urlsafe(32)


def token_hash(secret: str, *, key: str | bytes | None = None) -> str:
    """HMAC-SHA256 of ``secret`` keyed with ``SECRET_KEY`` (or ``key``), as 64 hex digits."""
    key = settings.SECRET_KEY if key is None else key
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, _HASH_SALT + secret.encode(), hashlib.sha256).hexdigest()


def token_hashes(secret: str) -> list[str]:
    """The hash of ``secret`` under ``SECRET_KEY`` and then each of ``SECRET_KEY_FALLBACKS``, so
    tokens survive a key rotation until the old key is dropped from the fallbacks."""
    keys: Iterable[str | bytes] = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [token_hash(secret, key=key) for key in keys]


class TokenBase(models.Model):
    """What every token row holds: never the secret itself."""

    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, db_index=True, editable=False)
    hash = models.CharField(_("hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_usable(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired."""
        return not self.is_revoked and not self.is_expired(now)


class PersonalToken(TokenBase):
    """A user's own token: the API acts exactly as that user would on the web."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("personal API token")
        verbose_name_plural = _("personal API tokens")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ApiClient(models.Model):
    """A system account of one department (or committee office) with explicit scopes."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="api_clients",
    )
    scopes = models.JSONField(_("scopes"), default=list, blank=True, validators=[validate_scopes])
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("An inactive client's tokens are refused at once."),
    )
    notes = models.TextField(
        _("notes"), blank=True, help_text=_("The system, its operator and a contact.")
    )
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service user"),
        on_delete=models.PROTECT,
        related_name="api_client",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class ApiClientToken(TokenBase):
    """A token of an API client (several may be valid at once, for rotation)."""

    client = models.ForeignKey(
        ApiClient, verbose_name=_("API client"), on_delete=models.CASCADE, related_name="tokens"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("API client token")
        verbose_name_plural = _("API client tokens")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.client} ({self.prefix}…)"


class IdempotencyRecord(models.Model):
    """The stored answer to one ``Idempotency-Key`` of one API client.

    Inserted before the hazard is opened, in the same transaction: a concurrent request with the same
    key blocks on the unique index until this one commits, then replays its answer. Only successful
    answers are ever committed (a refused request rolls the record back, so the client may retry).
    """

    client = models.ForeignKey(
        ApiClient,
        verbose_name=_("API client"),
        on_delete=models.CASCADE,
        related_name="idempotency_records",
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), default=dict, blank=True)
    hazard = models.ForeignKey(
        "hazards.Hazard",
        verbose_name=_("hazard"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        ordering = ("-created_at", "-pk")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "key"], name="api_idempotencyrecord_unique_client_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} · {self.key}"
