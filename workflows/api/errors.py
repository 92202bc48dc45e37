"""One JSON shape for every API error, translated into the language the request prefers.

    {"type": "validation_error", "title": "…", "detail": "…", "errors": {"field": ["…"]}}

``type`` is a stable slug for programs, ``title`` a short translated summary of the type, ``detail``
the translated explanation of this occurrence, ``errors`` the per-field messages (``{}`` when none;
errors not tied to a field are under ``non_field_errors``; nested fields are joined with dots).
``LocaleMiddleware`` has already activated the language from ``Accept-Language`` (Chinese by default).

Mapping: DRF's own exceptions keep their status; Django's ``ValidationError`` raised by services → 400
(``HazardStateError`` → 409; an evidence error with code ``too_large`` → 413); ``PermissionDenied`` →
403; ``Http404`` and ``ObjectDoesNotExist`` → 404; viewflow's ``FlowLockFailed`` → 409;
``RequestDataTooBig`` → 413; a database ``DataError`` (a NUL byte, a number out of range) → 400; other ``SuspiciousOperation``s (too many fields, a bad multipart body) and
``UnreadablePostError`` → 400; ``IdempotencyKeyReused`` → 422; throttling → 429 with ``Retry-After``.
Anything else is a bug and stays a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, JsonResponse, UnreadablePostError
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback
from viewflow.workflow.exceptions import FlowLockFailed

from workflows.hazards.services import HazardStateError

from .services import IdempotencyKeyReused

NON_FIELD = "non_field_errors"

TITLES: dict[str, Promise] = {
    "validation_error": _("The request has invalid fields."),
    "bad_request": _("The request is malformed."),
    "parse_error": _("The request body could not be parsed."),
    "not_authenticated": _("Authentication is required."),
    "authentication_failed": _("Authentication failed."),
    "permission_denied": _("You may not do this."),
    "not_found": _("Not found."),
    "method_not_allowed": _("This method is not allowed here."),
    "not_acceptable": _("The requested response format is not available."),
    "conflict": _("Someone else is working on this hazard; please try again."),
    "payload_too_large": _("The request is too large."),
    "unsupported_media_type": _("This content type is not accepted."),
    "idempotency_key_reused": _(
        "This Idempotency-Key was already used with a different request body."
    ),
    "throttled": _("Too many requests."),
    "error": _("The request could not be processed."),
}

DRF_TYPES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "parse_error"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]
STATUS_TYPES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    422: "idempotency_key_reused",
    429: "throttled",
}


@dataclass
class Problem:
    """An error response before rendering."""

    status: int
    type: str
    detail: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": str(TITLES.get(self.type, TITLES["error"])),
            "detail": self.detail,
            "errors": self.errors,
        }


class ErrorSerializer(serializers.Serializer[Any]):
    """The error shape, for the OpenAPI schema."""

    type = serializers.CharField(help_text="A stable slug, e.g. validation_error, not_found.")
    title = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field; non_field_errors for the others.",
    )


# --- flattening ------------------------------------------------------------------------------


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF error details (dicts, lists, nested) as {dotted.field: [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = NON_FIELD if key in (api_settings.NON_FIELD_ERRORS_KEY, "__all__") else str(key)
            for sub, messages in _flatten(value, f"{prefix}.{name}" if prefix else name).items():
                out.setdefault(sub, []).extend(messages)
    elif isinstance(detail, list | tuple):
        for index, item in enumerate(detail):
            if isinstance(item, Mapping):
                for sub, messages in _flatten(
                    item, f"{prefix}.{index}" if prefix else str(index)
                ).items():
                    out.setdefault(sub, []).extend(messages)
            elif isinstance(item, list | tuple):
                for sub, messages in _flatten(item, prefix).items():
                    out.setdefault(sub, []).extend(messages)
            else:
                out.setdefault(prefix or NON_FIELD, []).append(str(item))
    else:
        out.setdefault(prefix or NON_FIELD, []).append(str(detail))
    return out


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ``ValidationError`` as {field: [messages]} (``__all__`` → non_field_errors)."""
    if hasattr(exc, "error_dict"):
        return _flatten({key: list(value) for key, value in exc.message_dict.items()})
    return {NON_FIELD: [str(message) for message in exc.messages]}


def _codes(exc: DjangoValidationError) -> set[str]:
    if hasattr(exc, "error_dict"):
        return {e.code for errors in exc.error_dict.values() for e in errors if e.code}
    if hasattr(exc, "error_list"):
        return {e.code for e in exc.error_list if e.code}
    return {str(exc.code)} if getattr(exc, "code", None) else set()


def _detail_from(errors: dict[str, list[str]], fallback: str) -> str:
    non_field = errors.get(NON_FIELD)
    if non_field and len(errors) == 1:
        return " ".join(non_field)
    return fallback


# --- the handler -----------------------------------------------------------------------------


def to_problem(exc: BaseException) -> Problem | None:
    """The ``Problem`` for ``exc``, or None when it is not a client error (a bug: let it be a 500)."""
    if isinstance(exc, HazardStateError | FlowLockFailed):
        detail = (
            " ".join(str(m) for m in exc.messages)
            if isinstance(exc, HazardStateError)
            else gettext(
                "Another action on this hazard is in progress. Wait a moment and try again."
            )
        )
        return Problem(status.HTTP_409_CONFLICT, "conflict", detail)
    if isinstance(exc, IdempotencyKeyReused):
        return Problem(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            gettext("Send a new Idempotency-Key for a different alert."),
            {"Idempotency-Key": [str(TITLES["idempotency_key_reused"])]},
        )
    if isinstance(exc, DjangoValidationError):
        errors = django_errors(exc)
        if "too_large" in _codes(exc):
            return Problem(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                "payload_too_large",
                _detail_from(errors, " ".join(m for ms in errors.values() for m in ms)),
                errors,
            )
        return Problem(
            status.HTTP_400_BAD_REQUEST,
            "validation_error",
            _detail_from(errors, str(TITLES["validation_error"])),
            errors,
        )
    if isinstance(exc, RequestDataTooBig):
        return Problem(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            "payload_too_large",
            gettext("The request body exceeds the size this endpoint accepts."),
        )
    if isinstance(exc, DataError):
        # A value the database cannot hold (a NUL byte, a number out of range) that slipped past
        # validation: the client's input, not a server fault.
        return Problem(
            status.HTTP_400_BAD_REQUEST,
            "bad_request",
            gettext("The request contains a value that cannot be stored."),
        )
    if isinstance(exc, SuspiciousOperation | UnreadablePostError):
        return Problem(status.HTTP_400_BAD_REQUEST, "bad_request", str(TITLES["bad_request"]))
    if isinstance(exc, DjangoPermissionDenied):
        message = " ".join(str(arg) for arg in exc.args if arg) or str(
            exceptions.PermissionDenied.default_detail
        )
        return Problem(status.HTTP_403_FORBIDDEN, "permission_denied", message)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        # Never echo the message: Http404 texts name models and lookups.
        return Problem(
            status.HTTP_404_NOT_FOUND, "not_found", str(exceptions.NotFound.default_detail)
        )
    if isinstance(exc, exceptions.APIException):
        return _drf_problem(exc)
    return None


def _drf_problem(exc: exceptions.APIException) -> Problem:
    code = int(exc.status_code)
    kind = next(
        (slug for cls, slug in DRF_TYPES if isinstance(exc, cls)), STATUS_TYPES.get(code, "error")
    )
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = str(exc.auth_header)  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    if isinstance(exc.detail, dict | list):
        errors = _flatten(exc.detail)
        detail = _detail_from(errors, str(TITLES.get(kind, TITLES["error"])))
        return Problem(code, kind, detail, errors, headers)
    return Problem(code, kind, str(exc.detail), {}, headers)


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every client error in the one shape (see the module docstring)."""
    problem = to_problem(exc)
    if problem is None:
        return None
    set_rollback()
    return Response(problem.body(), status=problem.status, headers=problem.headers)


def problem_response(problem: Problem) -> JsonResponse:
    """A plain Django response with the error shape (for code outside DRF views)."""
    response = JsonResponse(
        problem.body(), status=problem.status, json_dumps_params={"ensure_ascii": False}
    )
    for name, value in problem.headers.items():
        response[name] = value
    return response


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """A JSON 404 for any unknown path under /api/v1/ (mount it as the last pattern there)."""
    return problem_response(
        Problem(status.HTTP_404_NOT_FOUND, "not_found", str(exceptions.NotFound.default_detail))
    )


api_not_found.login_required = False  # type: ignore[attr-defined]
