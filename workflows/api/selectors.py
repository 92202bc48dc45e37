"""Reads behind the core API: enterprises in a user's scope, tokens, idempotency records.

Enterprise scope (the rule the web's department and enterprise pages follow): a department member sees
every enterprise in the region of each of their departments and the regions below it (a city bureau
sees the whole city, a county bureau its county and townships, a committee office its region); an
enterprise member or post holder sees that enterprise; a superuser sees all; an inactive or anonymous
user sees none. Anything else answers 404, so outsiders cannot tell an enterprise exists.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Enterprise
from accounts.selectors import is_active_user, memberships_of, regions_below
from accounts.uscc import normalize_uscc
from workflows.responsibility.models import Post

from .models import (
    CLIENT_MARKER,
    PERSONAL_MARKER,
    PREFIX_LENGTH,
    ApiClient,
    ApiClientToken,
    IdempotencyRecord,
    PersonalToken,
)

USCC_SHAPE = re.compile(r"^[0-9A-Z]{18}\Z")


def enterprises_visible_to(*, user: Any) -> QuerySet[Enterprise]:
    """Every enterprise ``user`` may see (see the module docstring for the rule)."""
    if not is_active_user(user):
        return Enterprise.objects.none()
    if user.is_superuser:
        return Enterprise.objects.all()
    rows = memberships_of(user)
    regions = regions_below({m.department_region_id for m in rows if m.department_region_id})
    own = {m.enterprise_id for m in rows if m.enterprise_id}
    own |= set(Post.objects.filter(holder=user).values_list("enterprise_id", flat=True))
    if not regions and not own:
        return Enterprise.objects.none()
    return Enterprise.objects.filter(Q(region_id__in=regions) | Q(pk__in=own))


def enterprise_get(*, user: Any, uscc: str) -> Enterprise:
    """The enterprise with ``uscc`` (normalised) in the user's scope, or Http404.

    A value that cannot be a USCC is answered without a query (PostgreSQL refuses NUL bytes).
    """
    uscc = normalize_uscc(uscc)
    if not USCC_SHAPE.match(uscc):
        raise Http404
    enterprise = (
        enterprises_visible_to(user=user)
        .select_related("region", "principal")
        .filter(uscc=uscc)
        .first()
    )
    if enterprise is None:
        raise Http404
    return enterprise


def personal_tokens_of(*, user: Any) -> QuerySet[PersonalToken]:
    """The user's personal tokens, newest first, revoked and expired ones included."""
    return PersonalToken.objects.filter(user=user).order_by("-created_at", "-pk")


def active_personal_token_count(*, user: Any) -> int:
    """How many of the user's personal tokens are neither revoked nor expired."""
    return (
        PersonalToken.objects.filter(user=user, revoked_at__isnull=True)
        .exclude(expires_at__lte=timezone.now())
        .count()
    )


def token_candidates(secret: str) -> list[PersonalToken] | list[ApiClientToken]:
    """Token rows whose prefix matches ``secret`` (the caller compares hashes in constant time).

    The kind marker picks the table; anything without a known marker has no candidates.
    """
    prefix = secret[:PREFIX_LENGTH]
    if len(secret) <= PREFIX_LENGTH:
        return []
    if secret.startswith(PERSONAL_MARKER):
        return list(PersonalToken.objects.select_related("user").filter(prefix=prefix))
    if secret.startswith(CLIENT_MARKER):
        return list(
            ApiClientToken.objects.select_related("client__service_user").filter(prefix=prefix)
        )
    return []


def idempotency_record_get(*, client: ApiClient, key: str) -> IdempotencyRecord | None:
    """The committed record of ``key`` for ``client``, if any."""
    return IdempotencyRecord.objects.filter(client=client, key=key).first()
