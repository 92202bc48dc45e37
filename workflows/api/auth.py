"""Bearer-token authentication: ``Authorization: Bearer <token>``.

A personal token (``scp_…``) authenticates as its user; an API-client token (``scc_…``) as the client's
service user, and ``request.auth`` is the token row (``api_client_of(request)`` gives the client).
The row is found by its public prefix and the HMAC of the secret is compared in constant time, under
the current ``SECRET_KEY`` and then each fallback key (a match under a fallback re-hashes the row).
Nothing is cached: a revoked or expired token, a deactivated user or client is refused on the very next
request with 401. ``last_used_at`` is written at most once a minute.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from .models import ApiClient, ApiClientToken, PersonalToken, token_hashes
from .selectors import token_candidates
from .services import token_rehash, token_touch

KEYWORD = b"bearer"
MAX_TOKEN_LENGTH = 200


def _match(secret: str) -> PersonalToken | ApiClientToken | None:
    """The token row whose hash matches ``secret`` (every candidate is compared, in constant time)."""
    hashes = token_hashes(secret)
    found: PersonalToken | ApiClientToken | None = None
    matched_current = False
    for candidate in token_candidates(secret):
        for index, digest in enumerate(hashes):
            if hmac.compare_digest(candidate.hash, digest):
                found, matched_current = candidate, index == 0
    if found is not None and not matched_current:
        token_rehash(token=found, secret=secret)
    return found


def authenticate_secret(secret: str) -> tuple[Any, PersonalToken | ApiClientToken]:
    """The (user, token) for a token secret, or ``AuthenticationFailed`` saying why not."""
    token = _match(secret)
    if token is None:
        raise exceptions.AuthenticationFailed(_("The token is not valid."))
    now = timezone.now()
    if token.is_revoked:
        raise exceptions.AuthenticationFailed(_("The token has been revoked."))
    if token.is_expired(now):
        raise exceptions.AuthenticationFailed(_("The token has expired."))
    if isinstance(token, ApiClientToken):
        if not token.client.active:
            raise exceptions.AuthenticationFailed(_("The API client is inactive."))
        user = token.client.service_user
    else:
        user = token.user
    if not user.is_active:
        raise exceptions.AuthenticationFailed(_("The user account is inactive."))
    token_touch(token=token)
    return user, token


class TokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` for personal and API-client tokens.

    A request without a Bearer header is left to the next authenticator (the session); a malformed
    Bearer header, or an unknown, revoked or expired token, fails with 401 at once.
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2 or len(parts[1]) > MAX_TOKEN_LENGTH:
            raise exceptions.AuthenticationFailed(
                _("Invalid Authorization header: send “Bearer <token>”.")
            )
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        return authenticate_secret(secret)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def api_client_of(request: Any) -> ApiClient | None:
    """The API client behind the request's token, or None (a personal token or a session)."""
    token = getattr(request, "auth", None)
    return token.client if isinstance(token, ApiClientToken) else None


def auth_kind(request: Any) -> str:
    """How the request was authenticated: ``client_token``, ``personal_token`` or ``session``."""
    token = getattr(request, "auth", None)
    if isinstance(token, ApiClientToken):
        return "client_token"
    if isinstance(token, PersonalToken):
        return "personal_token"
    return "session"


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents ``TokenAuthentication`` in the OpenAPI schema as HTTP bearer auth."""

    target_class = "workflows.api.auth.TokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A personal token (scp_…) or an API-client token (scc_…), shown once when created."
            ),
        }
