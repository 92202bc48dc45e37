"""Scope checks for API-client tokens, and the few endpoint-level rules of the core API.

Each view declares ``scopes_required``: a mapping from a ViewSet action name or an HTTP method to the
scope an API client needs (``None``: any client may call it). It is looked up by action first, then by
method (HEAD and OPTIONS use GET's entry). **Anything not declared is refused to API clients** (deny
by default), so a new endpoint is closed to systems until someone decides its scope. Personal tokens
and sessions act as their user: scopes do not apply to them, the user's own rights do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .auth import api_client_of, auth_kind

UNDECLARED = object()


def required_scope(view: Any, request: Request) -> Any:
    """The scope the view declares for this request (None: any client), or ``UNDECLARED``."""
    declared: Mapping[str, str | None] = getattr(view, "scopes_required", None) or {}
    action = getattr(view, "action", None)
    if action and action in declared:
        return declared[action]
    method = (request.method or "GET").upper()
    if method in ("HEAD", "OPTIONS") and method not in declared:
        method = "GET"
    return declared.get(method, UNDECLARED)


class ScopePermission(BasePermission):
    """An API client's token must carry the scope the view declares for the request."""

    message = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        client = api_client_of(request)
        if client is None:
            return True
        scope = required_scope(view, request)
        if scope is UNDECLARED:
            self.message = _("API clients may not use this endpoint.")
            return False
        if scope is not None and not client.has_scope(scope):
            self.message = _("This API client lacks the scope %(scope)s.") % {"scope": scope}
            return False
        return True


class IsApiClient(BasePermission):
    """Only API-client tokens (monitoring systems), never people."""

    message = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        if api_client_of(request) is not None:
            return True
        self.message = _("Only API clients (system accounts) may call this endpoint.")
        return False


class MintFromSession(BasePermission):
    """A personal token is created only from a signed-in session, never with a token: a leaked
    token cannot perpetuate itself. Reading and revoking work with a token too."""

    message = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method != "POST" or auth_kind(request) == "session":
            return True
        self.message = _("Create personal tokens from a signed-in session, not with a token.")
        return False
