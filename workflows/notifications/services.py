"""Every state change of notifications: writing them, delivering the outbox, marking them read.

Reliability rules (DESIGN.md §6):

- ``notify()`` runs inside the caller's transaction; every row has a unique key, so a repeat inserts
  nothing, and a rolled-back caller leaves nothing and enqueues nothing (``on_commit``).
- The outbox row is the truth, the broker message only a wake-up call. Delivery first *claims* the row
  (``SELECT … FOR UPDATE SKIP LOCKED``, status ``sending``, a ``claimed_until`` lease), commits, and only
  then talks to the outside world — so two workers never send the same row at once, and a worker killed
  mid-delivery leaves a row whose lease runs out and which the requeue tick hands to another worker.
- Retries are rows too: a failed attempt puts the row back to ``pending`` with ``next_attempt_at`` moved
  out by exponential backoff; the requeue tick (every minute) sends it again. Nothing waits in the broker.
- External channels are therefore at-least-once (a kill between the provider's "OK" and our commit
  repeats the call, with the same ``Idempotency-Key``); the in-app inbox is exactly-once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from project.sql import insert_rows

from . import hooks
from .backends import (
    OutgoingMessage,
    PermanentDeliveryError,
    external_channels,
    get_backend,
)
from .models import DIGEST_CHANNELS, Channel, Level, Notification, Outbox, WebhookEndpoint

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000


# --- Settings (read on every call, so tests and deployments can override them) -------------------


def max_attempts() -> int:
    """NOTIFICATIONS_MAX_ATTEMPTS (default 5): attempts per row before it is marked failed."""
    return int(getattr(settings, "NOTIFICATIONS_MAX_ATTEMPTS", 5))


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: NOTIFICATIONS_RETRY_BACKOFF seconds
    (default 60) doubled per attempt, capped at NOTIFICATIONS_RETRY_BACKOFF_MAX (default 3600)."""
    base = int(getattr(settings, "NOTIFICATIONS_RETRY_BACKOFF", 60))
    cap = int(getattr(settings, "NOTIFICATIONS_RETRY_BACKOFF_MAX", 3600))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def lease_duration() -> timedelta:
    """How long a worker owns a row it is sending: NOTIFICATIONS_LEASE_SECONDS, by default 30 s more
    than Celery's hard task time limit, so a live worker is killed before its lease can run out."""
    default = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", None) or 90) + 30
    return timedelta(seconds=int(getattr(settings, "NOTIFICATIONS_LEASE_SECONDS", default)))


def requeue_lease() -> timedelta:
    """After the requeue tick enqueued a row, it leaves the row alone this long
    (NOTIFICATIONS_REQUEUE_LEASE, default 300 s): one message per row is enough."""
    return timedelta(seconds=int(getattr(settings, "NOTIFICATIONS_REQUEUE_LEASE", 300)))


def absolute_link(link: str) -> str:
    """``link`` prefixed with NOTIFICATIONS_BASE_URL (e.g. "https://anlian.example.gov.cn") when it is
    a site path; external channels need absolute URLs, the in-app inbox keeps the path."""
    base = str(getattr(settings, "NOTIFICATIONS_BASE_URL", "")).rstrip("/")
    if link.startswith("/") and not link.startswith("//"):
        return base + link
    return link


# --- Writing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationRequest:
    """One notification to write (see ``notify``): a key, who, where, and what it says."""

    key: str
    user_id: int | None
    channels: Sequence[str]
    title: str
    body: str
    link: str = ""
    subject_type: str = ""
    subject_id: int | None = None
    email: str = ""
    mobile: str = ""
    webhook_department_id: int | None = None
    digest_group: str = ""
    level: str = Level.INFO


def notify(**kwargs: Any) -> int:
    """Write one notification: the in-app row (whenever ``user_id`` is given — in-app is always on)
    and one outbox row per external channel in ``channels``; returns how many rows were new.
    The arguments are the fields of ``NotificationRequest``; see ``notify_many`` for the rules."""
    return notify_many([NotificationRequest(**kwargs)])


@transaction.atomic
def notify_many(requests: Sequence[NotificationRequest]) -> int:
    """Write many notifications in a constant number of queries; returns how many rows were new.

    Idempotent per key: rows already present (or named twice in ``requests``: the first wins) are
    left alone and not counted, and a concurrent insert of the same key is absorbed by ``ON CONFLICT
    DO NOTHING``: on PostgreSQL only the rows this call inserted are counted and enqueued. Delivery is enqueued only after the caller's transaction
    commits. Addresses are not checked here: an e-mail/SMS row without an address falls back to the
    user's at delivery and fails visibly if there is none. Raises ValueError for programming errors
    (empty key, unknown channel or level, over-long link) before anything is written.
    """
    now = timezone.now()
    inapp: dict[str, NotificationRequest] = {}
    outgoing: dict[tuple[str, str], NotificationRequest] = {}
    known = external_channels()
    for request in requests:
        external = [c for c in dict.fromkeys(request.channels) if c != Channel.INAPP]
        _check_arguments(
            key=request.key, external=external, known=known, level=request.level, link=request.link
        )
        if request.user_id is not None:
            inapp.setdefault(request.key, request)
        for channel in external:
            outgoing.setdefault((request.key, channel), request)
    new = insert_rows(
        Notification,
        [
            {
                "recipient_id": request.user_id,
                "key": key,
                "title": _clip_title(request.title),
                "body": request.body,
                "link": request.link,
                "subject_type": request.subject_type,
                "subject_id": request.subject_id,
                "level": request.level,
                "created_at": now,
            }
            for key, request in inapp.items()
        ],
        skip_conflicts=True,
    )
    pending = [
        row_id
        for (row_id,) in insert_rows(
            Outbox,
            [
                {
                    "key": key,
                    "channel": channel,
                    "recipient_id": request.user_id,
                    "email": request.email if channel == Channel.EMAIL else "",
                    "mobile": request.mobile if channel == Channel.SMS else "",
                    "webhook_department_id": (
                        request.webhook_department_id if channel == Channel.WEBHOOK else None
                    ),
                    "title": _clip_title(request.title),
                    "body": request.body,
                    "link": request.link,
                    "subject_type": request.subject_type,
                    "subject_id": request.subject_id,
                    "digest_group": request.digest_group if channel in DIGEST_CHANNELS else "",
                    "status": Outbox.Status.PENDING,
                    "attempts": 0,
                    "last_error": "",
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for (key, channel), request in outgoing.items()
            ],
            skip_conflicts=True,
        )
    ]
    if pending:
        transaction.on_commit(partial(enqueue_deliveries, pending), robust=True)
    return len(new) + len(pending)


LEVELS = frozenset(Level.values)  # Level.values builds a new list on every access


def _clip_title(title: str) -> str:
    return title if len(title) <= 255 else title[:254] + "…"


def _check_arguments(
    *, key: str, external: Sequence[str], known: frozenset[str], level: str, link: str
) -> None:
    if not key or len(key) > 255:
        raise ValueError(f"a notification key must have 1 to 255 characters, got {key!r}")
    unknown = set(external) - known
    if unknown:
        raise ValueError(f"unknown notification channel(s): {sorted(unknown)}")
    if level not in LEVELS:
        raise ValueError(f"unknown notification level {level!r}; use one of {sorted(LEVELS)}")
    if len(link) > 1000:
        raise ValueError("a notification link must have at most 1000 characters")


def delivery_chunk() -> int:
    """NOTIFICATIONS_DELIVERY_CHUNK (default 50): outbox rows per delivery message."""
    return max(1, int(getattr(settings, "NOTIFICATIONS_DELIVERY_CHUNK", 50)))


def enqueue_deliveries(outbox_ids: Sequence[int]) -> None:
    """Send the delivery messages of ``outbox_ids``, one per chunk of ``delivery_chunk()`` rows.
    At the first broker error the rest are left to the requeue tick (they are pending rows): one
    outage costs one timeout, not one per row."""
    from .tasks import deliver_many  # tasks import this module

    ids = list(outbox_ids)
    size = delivery_chunk()
    for start in range(0, len(ids), size):
        try:
            deliver_many.delay(ids[start : start + size])
        except Exception:
            logger.exception(
                "could not enqueue delivery of %d outbox rows (first %s); the requeue tick will",
                len(ids) - start,
                ids[start],
            )
            return


# --- Delivery ------------------------------------------------------------------------------------


@dataclass
class _Claim:
    """A row this worker owns until ``row.claimed_until``, plus the rows merged into its digest."""

    row: Outbox
    message: OutgoingMessage
    members: list[Outbox] = field(default_factory=list)


def outbox_deliver(*, outbox_id: int) -> str:
    """Deliver one outbox row; returns the row's status afterwards, or "skipped" when there was
    nothing to do here (another worker holds the row, it is not due yet, or it is already final).

    Not one transaction on purpose: the claim commits before the provider is called and the outcome
    is recorded in a second transaction, so no row lock is held across a network call. Before the
    claim the row is re-checked with ``hooks.still_needed`` and cancelled when it is not. For an
    e-mail/SMS row with a digest group, every other pending row of the same group, channel and address
    is merged into this one message and marked sent with ``merged_into`` pointing here.
    """
    claim = _claim(outbox_id=outbox_id)
    if isinstance(claim, str):
        return claim
    try:
        get_backend(claim.row.channel).send(claim.message)
    except Exception as exc:
        return _record_failure(claim=claim, error=exc)
    return _record_success(claim=claim)


@transaction.atomic
def _claim(*, outbox_id: int) -> _Claim | str:
    now = timezone.now()
    row = (
        Outbox.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient", "webhook_department")
        .filter(pk=outbox_id)
        .first()
    )
    if row is None:
        return "skipped"  # gone, or another worker is claiming it right now
    status = row.status
    if status == Outbox.Status.PENDING and row.next_attempt_at > now:
        return "skipped"  # an early or duplicate message: the requeue tick sends it when due
    if status == Outbox.Status.SENDING and row.claimed_until and row.claimed_until > now:
        return "skipped"  # another worker is sending it and its lease is still running
    if status not in (Outbox.Status.PENDING, Outbox.Status.SENDING):
        return "skipped"
    if status == Outbox.Status.SENDING:
        # Taking over from a worker whose lease ran out: its digest is gathered afresh.
        Outbox.objects.filter(merged_into=row, status=Outbox.Status.SENDING).update(
            status=Outbox.Status.PENDING, merged_into=None, claimed_until=None
        )
    if row.attempts >= max_attempts():
        return _finish(row, Outbox.Status.FAILED, _("No attempts left."), keep_error=True)
    if row.channel not in external_channels():
        return _finish(row, Outbox.Status.FAILED, f"no backend for channel {row.channel!r}")
    try:
        if not hooks.still_needed(row):
            return _finish(row, Outbox.Status.CANCELLED, _("No longer needed."))
    except Exception as exc:
        row.attempts += 1
        row.save(update_fields=["attempts"])
        return _schedule_retry(row, exc)
    message_or_reason = _message(row)
    if isinstance(message_or_reason, str):
        return _finish(row, Outbox.Status.CANCELLED, message_or_reason)
    members = _gather_digest(row)
    row.status = Outbox.Status.SENDING
    row.attempts += 1
    row.claimed_until = now + lease_duration()
    row.save(update_fields=["status", "attempts", "claimed_until"])
    if members:
        Outbox.objects.filter(pk__in=[member.pk for member in members]).update(
            status=Outbox.Status.SENDING, merged_into=row, claimed_until=row.claimed_until
        )
        message_or_reason = _digest_message(message_or_reason, [row, *members])
    return _Claim(row=row, message=_with_attempt(message_or_reason, row.attempts), members=members)


def _message(row: Outbox) -> OutgoingMessage | str:
    """The message for ``row`` with its address resolved, or the reason to cancel it."""
    recipient = row.recipient
    secret = department_code = ""
    if row.channel == Channel.EMAIL:
        address = row.email or (recipient.email if recipient else "")
    elif row.channel == Channel.SMS:
        address = row.mobile or (recipient.mobile if recipient else "")
    elif row.channel == Channel.WEBHOOK:
        endpoint = (
            WebhookEndpoint.objects.filter(department_id=row.webhook_department_id)
            .select_related("department")
            .first()
            if row.webhook_department_id is not None
            else None
        )
        if endpoint is None or not endpoint.active:
            return _("The department has no active webhook endpoint.")
        address, secret, department_code = endpoint.url, endpoint.secret, endpoint.department.code
    else:  # a channel added through NOTIFICATIONS_BACKENDS: its backend resolves the address
        address = row.email or row.mobile
    return OutgoingMessage(
        key=row.key,
        channel=row.channel,
        address=address,
        title=row.title,
        body=row.body,
        link=absolute_link(row.link),
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        created_at=row.created_at,
        secret=secret,
        department_code=department_code,
    )


def _gather_digest(row: Outbox) -> list[Outbox]:
    """Lock the other pending rows of ``row``'s digest (same group, channel, person and address);
    rows no longer needed are cancelled on the way, rows another worker holds are skipped."""
    if not row.digest_group or row.channel not in DIGEST_CHANNELS:
        return []
    candidates = (
        Outbox.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            status=Outbox.Status.PENDING,
            digest_group=row.digest_group,
            channel=row.channel,
            recipient_id=row.recipient_id,
            email=row.email,
            mobile=row.mobile,
        )
        .exclude(pk=row.pk)
        .order_by("created_at", "id")
    )
    members = []
    for candidate in candidates:
        try:
            needed = hooks.still_needed(candidate)
        except Exception:
            logger.exception("still-needed check failed for outbox row %s", candidate.pk)
            continue  # it stays pending and is delivered on its own later
        if needed:
            members.append(candidate)
        else:
            _finish(candidate, Outbox.Status.CANCELLED, _("No longer needed."))
    return members


def _digest_message(first: OutgoingMessage, rows: Sequence[Outbox]) -> OutgoingMessage:
    """One message listing every row of the digest, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        count = len(rows)
        title = ngettext(
            "SafeChain: %(count)d item needs your attention",
            "SafeChain: %(count)d items need your attention",
            count,
        ) % {"count": count}
        entries = []
        for number, row in enumerate(rows, start=1):
            lines = [f"{number}. {row.title}"]
            if row.body:
                lines.append(row.body)
            if row.link:
                lines.append(absolute_link(row.link))
            entries.append("\n".join(lines))
        body = "\n\n".join(entries)
    return OutgoingMessage(
        key=first.key,
        channel=first.channel,
        address=first.address,
        title=title,
        body=body,
        link=absolute_link(_centre_link()),
        created_at=first.created_at,
        digest_keys=tuple(row.key for row in rows),
    )


def _centre_link() -> str:
    try:
        return reverse("notifications:index")
    except NoReverseMatch:
        return ""


def _with_attempt(message: OutgoingMessage, attempt: int) -> OutgoingMessage:
    return replace(message, attempt=attempt)


def _finish(row: Outbox, status: str, reason: str, *, keep_error: bool = False) -> str:
    row.status = status
    row.claimed_until = None
    row.merged_into = None
    if keep_error and row.last_error:
        reason = f"{reason} {row.last_error}"
    row.last_error = reason[:MAX_ERROR_LENGTH]
    row.save(update_fields=["status", "claimed_until", "merged_into", "last_error"])
    return status


def _schedule_retry(row: Outbox, error: BaseException, *, permanent: bool = False) -> str:
    """After a failed attempt: back to pending with backoff, or failed when no attempts are left."""
    text = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
    row.last_error = text
    row.claimed_until = None
    if permanent or row.attempts >= max_attempts():
        row.status = Outbox.Status.FAILED
    else:
        row.status = Outbox.Status.PENDING
        row.next_attempt_at = timezone.now() + retry_delay(row.attempts)
    row.save(update_fields=["status", "last_error", "claimed_until", "next_attempt_at"])
    logger.warning(
        "delivery of outbox row %s (%s) failed, attempt %s: %s → %s",
        row.pk,
        row.channel,
        row.attempts,
        text,
        row.status,
    )
    return row.status


@transaction.atomic
def _record_success(*, claim: _Claim) -> str:
    now = timezone.now()
    # Only rows still ``sending``: an admin may have cancelled one meanwhile.
    Outbox.objects.filter(pk=claim.row.pk, status=Outbox.Status.SENDING).update(
        status=Outbox.Status.SENT, sent_at=now, claimed_until=None, last_error=""
    )
    if claim.members:
        Outbox.objects.filter(
            pk__in=[member.pk for member in claim.members],
            status=Outbox.Status.SENDING,
            merged_into=claim.row,
        ).update(status=Outbox.Status.SENT, sent_at=now, claimed_until=None)
    return Outbox.Status.SENT


@transaction.atomic
def _record_failure(*, claim: _Claim, error: BaseException) -> str:
    row = Outbox.objects.select_for_update().get(pk=claim.row.pk)
    if row.status != Outbox.Status.SENDING:
        return row.status  # taken over or cancelled meanwhile: that outcome stands
    status = _schedule_retry(row, error, permanent=isinstance(error, PermanentDeliveryError))
    if claim.members:
        # The digest did not go out: its rows wait with the leader and are gathered again.
        Outbox.objects.filter(
            pk__in=[member.pk for member in claim.members],
            status=Outbox.Status.SENDING,
            merged_into=row,
        ).update(
            status=Outbox.Status.PENDING,
            merged_into=None,
            claimed_until=None,
            next_attempt_at=row.next_attempt_at,
        )
    return status


# --- The requeue tick and the admin's retry ------------------------------------------------------


@transaction.atomic
def outbox_requeue(*, limit: int | None = None) -> list[int]:
    """Enqueue a delivery message for every row that needs one; returns their ids.

    Picks pending rows that are due and not enqueued by an earlier tick within the requeue lease, and
    ``sending`` rows whose lease ran out (their worker died: they go back to pending, the interrupted
    attempt stays counted). Rows are claimed with SKIP LOCKED, so two ticks running at once split the
    work instead of doubling it. Messages are sent after commit.
    """
    now = timezone.now()
    limit = limit or int(getattr(settings, "NOTIFICATIONS_REQUEUE_BATCH", 500))
    due = Q(status=Outbox.Status.PENDING, next_attempt_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    )
    abandoned = Q(status=Outbox.Status.SENDING, claimed_until__lte=now)
    rows = list(
        Outbox.objects.select_for_update(skip_locked=True)
        .filter(due | abandoned)
        .order_by("next_attempt_at", "id")
        .values_list("id", "status")[:limit]
    )
    ids = [row_id for row_id, _status in rows]
    lost = [row_id for row_id, status in rows if status == Outbox.Status.SENDING]
    if lost:
        Outbox.objects.filter(pk__in=lost).update(
            status=Outbox.Status.PENDING,
            merged_into=None,
            next_attempt_at=now,
            last_error=_("The worker was lost during delivery; the lease ran out."),
        )
    Outbox.objects.filter(pk__in=ids).update(claimed_until=now + requeue_lease())
    transaction.on_commit(partial(enqueue_deliveries, ids), robust=True)
    if ids:
        logger.info("requeued %s outbox row(s), %s of them from lost workers", len(ids), len(lost))
    return ids


@transaction.atomic
def outbox_retry(*, outbox_ids: Sequence[int]) -> int:
    """Give failed rows a fresh set of attempts (the admin's "retry" action); returns how many.

    Only ``failed`` rows change; the last error is kept until the next attempt overwrites it.
    """
    now = timezone.now()
    ids = list(
        Outbox.objects.select_for_update()
        .filter(pk__in=outbox_ids, status=Outbox.Status.FAILED)
        .values_list("id", flat=True)
    )
    Outbox.objects.filter(pk__in=ids).update(
        status=Outbox.Status.PENDING, attempts=0, next_attempt_at=now, claimed_until=None
    )
    transaction.on_commit(partial(enqueue_deliveries, ids), robust=True)
    return len(ids)


# --- The in-app inbox ----------------------------------------------------------------------------


@transaction.atomic
def notification_mark_read(*, user: Any, notification: Notification) -> bool:
    """Mark one of the user's notifications read; True when it was unread. Someone else's
    notification raises Notification.DoesNotExist (views answer 404, never 403)."""
    if notification.recipient_id != user.pk:
        raise Notification.DoesNotExist
    now = timezone.now()
    changed = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=now
    )
    if changed:
        notification.read_at = now
    return bool(changed)


@transaction.atomic
def notification_mark_all_read(*, user: Any) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
