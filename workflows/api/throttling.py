"""Rate limits per token and per user, counted in Django's cache.

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` under the keys ``api_token`` (each token,
personal or API client) and ``api_user`` (each user, all their tokens and their session together;
for an API client that is its service user, i.e. the whole client), read on every request so a
settings change applies at once. Missing keys fall back to ``DEFAULT_RATES``; ``None`` disables a
limit. The counters live in the ``default`` cache: the local-memory cache counts per process, so with
several web processes set ``CACHES`` to a shared backend (Redis) for exact limits. A refused request
gets 429 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiClientToken, PersonalToken

DEFAULT_RATES: dict[str, str | None] = {"api_token": "300/min", "api_user": "600/min"}


class _ConfiguredRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        if self.scope in rates:
            return rates[self.scope]
        return DEFAULT_RATES.get(self.scope or "")


class TokenRateThrottle(_ConfiguredRateThrottle):
    """Requests per token (``api_token``); session requests are not counted here."""

    scope = "api_token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if isinstance(token, PersonalToken):
            ident = f"p{token.pk}"
        elif isinstance(token, ApiClientToken):
            ident = f"c{token.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class UserRateThrottle(_ConfiguredRateThrottle):
    """Requests per authenticated user, however they authenticated (``api_user``)."""

    scope = "api_user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}
