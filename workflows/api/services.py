"""State changes behind the core API: tokens, API clients and idempotent alert intake.

Decisions (the issue was silent):

- An API client acts as its **service user** (created with the client: unusable password, membership
  "staff" of the client's department; deactivating the client deactivates the user). Hazards it opens
  name that user as reporter and the client as finder, so the audit trail shows which system it was.
- A secret is returned once, by the service that creates it, and never stored (see ``models``).
- Revocation sets ``revoked_at``; tokens are looked up on every request (no cache), so it takes effect
  on the next request. Rows are kept for the audit trail.
- Alert intake is idempotent per (client, ``Idempotency-Key``): the record is inserted *before* the
  hazard in the same transaction. A concurrent request with the same key blocks on the unique index
  until the first commits, then replays its answer (PostgreSQL); on SQLite the write lock serialises
  the two the same way. A request that fails (validation, permission) rolls its record back, so the
  client may correct it and retry with the same key; only the answer of a success is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Department, Enterprise, Membership, User
from workflows.hazards.models import Hazard, Source
from workflows.hazards.services import hazard_report
from workflows.responsibility.models import Industry

from .models import (
    CLIENT_MARKER,
    PERSONAL_MARKER,
    PREFIX_LENGTH,
    ApiClient,
    ApiClientToken,
    IdempotencyRecord,
    PersonalToken,
    Scope,
    TokenBase,
    generate_secret,
    token_hash,
    validate_scopes,
)

# last_used_at is written at most this often per token: a busy client must not turn reads into writes.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
MAX_ACTIVE_PERSONAL_TOKENS = 20
TITLE_MAX_LENGTH = 200


# --- personal tokens ---------------------------------------------------------------------------


@transaction.atomic
def personal_token_create(
    *, user: Any, name: str, expires_at: datetime | None = None
) -> tuple[PersonalToken, str]:
    """Create a personal token for ``user``; returns the row and the secret (shown once, never kept).

    A user holds at most ``MAX_ACTIVE_PERSONAL_TOKENS`` usable tokens; the expiry must lie ahead.
    """
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("Give the token a name."))
    elif len(name) > 100:
        errors.setdefault("name", []).append(_("The name is too long (at most 100 characters)."))
    if expires_at is not None and expires_at <= timezone.now():
        errors.setdefault("expires_at", []).append(_("The expiry must lie in the future."))
    from .selectors import active_personal_token_count

    # Lock the user's row so two concurrent creations cannot both pass the cap.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if active_personal_token_count(user=user) >= MAX_ACTIVE_PERSONAL_TOKENS:
        errors.setdefault("non_field_errors", []).append(
            _("You already have %(n)d active tokens; revoke one first.")
            % {"n": MAX_ACTIVE_PERSONAL_TOKENS}
        )
    if errors:
        raise ValidationError(errors)
    secret = generate_secret(PERSONAL_MARKER)
    token = PersonalToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        hash=token_hash(secret),
        expires_at=expires_at,
    )
    return token, secret


@transaction.atomic
def personal_token_revoke(*, token: PersonalToken) -> PersonalToken:
    """Revoke ``token`` now (a no-op for a token already revoked; the first time is kept)."""
    return _revoke(token)


# --- API clients -------------------------------------------------------------------------------


def _service_username() -> str:
    return f"api-client.{secrets.token_hex(6)}"


def _sync_service_user(client: ApiClient) -> None:
    """The service user mirrors the client: its name, active flag and single staff membership."""
    user = client.service_user
    user.full_name = client.name[:100]
    user.is_active = client.active
    user.save(update_fields=["full_name", "is_active"])
    Membership.objects.filter(user=user).exclude(
        department=client.department, role=Membership.Role.STAFF
    ).delete()
    Membership.objects.get_or_create(
        user=user, department=client.department, role=Membership.Role.STAFF
    )


@transaction.atomic
def api_client_create(
    *,
    name: str,
    department: Department,
    scopes: list[str],
    created_by: Any = None,
    notes: str = "",
    active: bool = True,
) -> ApiClient:
    """Create an API client and its service user (unusable password, staff of ``department``)."""
    validate_scopes(scopes)
    user = User.objects.create_user(username=_service_username(), password=None)
    client = ApiClient(
        name=name.strip(),
        department=department,
        scopes=sorted(set(scopes)),
        active=active,
        notes=notes,
        service_user=user,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
    )
    client.full_clean(exclude=["service_user"])
    client.save()
    _sync_service_user(client)
    return client


@transaction.atomic
def api_client_update(
    *,
    client: ApiClient,
    name: str,
    department: Department,
    scopes: list[str],
    active: bool,
    notes: str = "",
) -> ApiClient:
    """Change a client; its service user follows (deactivating refuses its tokens at once)."""
    validate_scopes(scopes)
    client.name = name.strip()
    client.department = department
    client.scopes = sorted(set(scopes))
    client.active = active
    client.notes = notes
    client.full_clean(exclude=["service_user"])
    client.save()
    _sync_service_user(client)
    return client


@transaction.atomic
def api_client_token_create(
    *, client: ApiClient, created_by: Any = None, expires_at: datetime | None = None
) -> tuple[ApiClientToken, str]:
    """Create a token for ``client``; returns the row and the secret (shown once, never kept)."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": [_("The expiry must lie in the future.")]})
    secret = generate_secret(CLIENT_MARKER)
    token = ApiClientToken.objects.create(
        client=client,
        prefix=secret[:PREFIX_LENGTH],
        hash=token_hash(secret),
        expires_at=expires_at,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
    )
    return token, secret


@transaction.atomic
def api_client_token_revoke(*, token: ApiClientToken) -> ApiClientToken:
    """Revoke one client token now."""
    return _revoke(token)


@transaction.atomic
def api_client_tokens_revoke_all(*, client: ApiClient) -> int:
    """Revoke every unrevoked token of ``client``; returns how many were revoked."""
    return ApiClientToken.objects.filter(client=client, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


# --- token bookkeeping (called by authentication) ----------------------------------------------


def _rows(token: TokenBase) -> QuerySet[Any]:
    """The table row of ``token`` (personal or client) as a queryset, for conditional updates."""
    model = PersonalToken if isinstance(token, PersonalToken) else ApiClientToken
    return model.objects.filter(pk=token.pk)


def _revoke(token: Any) -> Any:
    _rows(token).filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def token_touch(*, token: TokenBase) -> None:
    """Record that ``token`` was used, at most once per ``TOKEN_TOUCH_INTERVAL`` (one conditional
    UPDATE; concurrent requests race harmlessly)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_TOUCH_INTERVAL:
        return
    _rows(token).exclude(last_used_at__gt=now - TOKEN_TOUCH_INTERVAL).update(last_used_at=now)
    token.last_used_at = now


def token_rehash(*, token: TokenBase, secret: str) -> None:
    """Store the hash of ``secret`` under the current ``SECRET_KEY`` (after a key rotation)."""
    current = token_hash(secret)
    if token.hash != current:
        _rows(token).update(hash=current)
        token.hash = current


# --- alert intake ------------------------------------------------------------------------------


class IdempotencyKeyReused(Exception):
    """The ``Idempotency-Key`` was used before with a different request body."""


@dataclass(frozen=True)
class Alert:
    """A validated alarm from a monitoring system."""

    enterprise: Enterprise
    point_id: str
    type: str
    occurred_at: datetime
    value: float | None = None
    threshold: float | None = None
    unit: str = ""
    description: str = ""
    location: str = ""
    industry: Industry | None = None


@dataclass(frozen=True)
class AlertOutcome:
    """The HTTP answer to an alert (stored and replayed byte for byte) and whether it was replayed."""

    status: int
    body: dict[str, Any]
    replayed: bool
    hazard_id: int | None = None


def request_fingerprint(data: Any) -> str:
    """SHA-256 of the canonical JSON of a request body (keys sorted, no whitespace), so the same
    alert sent with other key order or spacing counts as the same request."""
    canonical = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_replay(*, record: IdempotencyRecord, request_hash: str) -> AlertOutcome:
    """The stored answer of ``record``; ``IdempotencyKeyReused`` when the body differs."""
    if not hmac.compare_digest(record.request_hash, request_hash):
        raise IdempotencyKeyReused(record.key)
    return AlertOutcome(
        status=record.status_code or 201,
        body=record.response_body,
        replayed=True,
        hazard_id=record.hazard_id,
    )


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.15g}"


def _alert_texts(client: ApiClient, alert: Alert) -> tuple[str, str, str]:
    """Title, description and location of the hazard an alert opens (in the site language)."""
    title = _("%(type)s alarm at monitoring point %(point)s") % {
        "type": alert.type,
        "point": alert.point_id,
    }
    lines = [alert.description.strip()] if alert.description.strip() else []
    lines.append(_("Monitoring point: %(point)s.") % {"point": alert.point_id})
    lines.append(_("Alarm type: %(type)s.") % {"type": alert.type})
    unit = f" {alert.unit}" if alert.unit else ""
    if alert.value is not None:
        lines.append(_("Measured value: %(value)s.") % {"value": _number(alert.value) + unit})
    if alert.threshold is not None:
        lines.append(_("Threshold: %(value)s.") % {"value": _number(alert.threshold) + unit})
    lines.append(
        _("Occurred at %(time)s.")
        % {"time": timezone.localtime(alert.occurred_at).strftime("%Y-%m-%d %H:%M:%S")}
    )
    lines.append(_("Reported by the monitoring system %(client)s.") % {"client": client.name})
    location = alert.location.strip() or _("Monitoring point %(point)s") % {"point": alert.point_id}
    if len(title) > TITLE_MAX_LENGTH:
        title = title[: TITLE_MAX_LENGTH - 1] + "…"
    return title, "\n".join(lines), location


def alert_response_body(*, hazard: Hazard, key: str) -> dict[str, Any]:
    """The JSON answer to an accepted alert (also what a replay returns)."""
    department = hazard.department
    return {
        "idempotency_key": key,
        "hazard": {
            "id": hazard.pk,
            "code": hazard.code,
            "title": hazard.title,
            "source": hazard.source,
            "grade": hazard.grade,
            "stage": hazard.stage,
            "found_at": timezone.localtime(hazard.found_at).isoformat(),
            "enterprise": {"uscc": hazard.enterprise.uscc, "name": hazard.enterprise.name},
            "department": (
                {"code": department.code, "name": department.name} if department else None
            ),
        },
    }


_ALERT_FIELDS = {"found_at": "occurred_at", "before_photos": "non_field_errors"}


def _alert_errors(exc: ValidationError) -> ValidationError:
    """The service's field names translated to the alert body's."""
    if not hasattr(exc, "error_dict"):
        return exc
    renamed: dict[str, list[Any]] = {}
    for field, errors in exc.error_dict.items():
        renamed.setdefault(_ALERT_FIELDS.get(field, field), []).extend(errors)
    return ValidationError(renamed)


@transaction.atomic
def alert_report(*, client: ApiClient, key: str, request_hash: str, alert: Alert) -> AlertOutcome:
    """Open exactly one monitoring hazard per (client, idempotency key) and route it.

    The hazard is reported by the client's service user with source "monitoring", no photo required
    and the client's name as finder; the same key with the same body replays the stored answer, the
    same key with another body raises ``IdempotencyKeyReused``. Title, description and location are
    written in the site language, whatever language the request prefers.
    """
    if not client.active or not client.has_scope(Scope.ALERTS_WRITE):
        raise PermissionDenied(_("This API client may not report alerts."))
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                client=client, key=key, request_hash=request_hash
            )
    except IntegrityError:
        # Another request with this key got there first; on PostgreSQL the INSERT waited for it to
        # commit, so its answer is there to replay.
        record = IdempotencyRecord.objects.get(client=client, key=key)
        return idempotent_replay(record=record, request_hash=request_hash)
    with translation.override(settings.LANGUAGE_CODE):
        title, description, location = _alert_texts(client, alert)
    try:
        hazard = hazard_report(
            reporter=client.service_user,
            enterprise=alert.enterprise,
            title=title,
            description=description,
            location=location[:300],
            source=Source.MONITORING,
            found_at=alert.occurred_at,
            industry=alert.industry,
            finder_name=client.name,
            photo_required=False,
        )
    except ValidationError as exc:
        raise _alert_errors(exc) from exc
    body = alert_response_body(hazard=hazard, key=key)
    record.status_code = 201
    record.response_body = body
    record.hazard = hazard
    record.save(update_fields=["status_code", "response_body", "hazard"])
    return AlertOutcome(status=201, body=body, replayed=False, hazard_id=hazard.pk)
