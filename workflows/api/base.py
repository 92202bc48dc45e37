"""Base classes of every API view: authentication, permissions, scopes, throttles, errors, paging.

Subclass ``ApiView`` (a plain ``APIView``), ``ApiGenericView`` (``GenericAPIView``, with paging and
django-filter) or ``ApiViewSet`` (``GenericViewSet``) and declare ``scopes_required`` — the scope an API
client needs per action or HTTP method, e.g. ``{"GET": "hazards:read", "POST": "hazards:write"}``
(``None``: any client; undeclared: no client; see ``permissions``). Every such view:

- is exempt from the site's ``LoginRequiredMiddleware`` (DRF authenticates: a Bearer token first,
  then the session, with CSRF enforced for session writes) and answers 401 without credentials;
- requires an authenticated active user, then the client scope (personal tokens and sessions act as
  their user; scoping is done by the selectors, so anything outside a user's scope is 404);
- is throttled per token and per user (``throttling``);
- answers every error in the one JSON shape of ``errors`` and documents those errors in the schema;
- accepts JSON (bodies above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` → 413), forms and multipart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.urls import register_converter
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .auth import TokenAuthentication
from .errors import ErrorSerializer, api_exception_handler
from .permissions import ScopePermission
from .throttling import TokenRateThrottle, UserRateThrottle

MAX_PAGE_SIZE = 100
MAX_ID = 2**63 - 1  # the largest BigAutoField value
READ_ERRORS = ("400", "401", "403", "404", "429")
WRITE_ERRORS = ("400", "401", "403", "404", "409", "413", "415", "429")


class ApiIdConverter:
    """``<api_id:pk>``: any path segment; a valid positive id becomes an int, anything else 0 (which
    matches no row). Unlike ``<int:…>`` the view always runs, so "-1", "abc" or an id past the
    database's integer range answer the JSON 404 of the API, never Django's HTML page or a 500."""

    regex = "[^/]+"

    def to_python(self, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            return 0
        return number if 0 < number <= MAX_ID else 0

    def to_url(self, value: int | str) -> str:
        return str(value)


class ApiTextConverter:
    """``<api_text:…>``: any non-empty text, even with slashes or newlines (``<str:…>`` and
    ``<path:…>`` stop at those, and an unmatched URL gets Django's HTML 404 page); the view
    validates it and answers the API's JSON 404. For codes in paths (USCC, hazard code)."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


register_converter(ApiIdConverter, "api_id")
register_converter(ApiTextConverter, "api_text")


def id_parameter(name: str = "pk", description: str = "") -> OpenApiParameter:
    """The OpenAPI declaration of an ``<api_id:…>`` path segment (an integer id); drf-spectacular
    calls a ``pk`` segment ``id``, and so does this."""
    return OpenApiParameter(
        "id" if name == "pk" else name,
        OpenApiTypes.INT,
        OpenApiParameter.PATH,
        description=description,
    )


class LimitedJSONParser(JSONParser):
    """JSON, refused with 413 above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (DRF reads the stream directly,
    so Django's own limit does not apply to JSON bodies)."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        if limit is not None and request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise RequestDataTooBig("JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE")
        return super().parse(stream, media_type, parser_context)


class ApiPagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (default 20, at most 100); a page past the end is 404."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class ApiAutoSchema(AutoSchema):
    """Adds the error responses (the one error shape) to every operation of the schema."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes = READ_ERRORS if self.method in ("GET", "HEAD") else WRITE_ERRORS
        for code in (*codes, *getattr(self.view, "extra_error_statuses", ())):
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
        return responses


class ApiMixin:
    """The policies shared by every API view (see the module docstring)."""

    authentication_classes: ClassVar[list[type]] = [TokenAuthentication, SessionAuthentication]
    permission_classes: ClassVar[list[type]] = [IsAuthenticated, ScopePermission]
    throttle_classes: ClassVar[list[type]] = [TokenRateThrottle, UserRateThrottle]
    parser_classes: ClassVar[list[type]] = [LimitedJSONParser, FormParser, MultiPartParser]
    renderer_classes: ClassVar[list[type]] = [JSONRenderer]
    scopes_required: ClassVar[Mapping[str, str | None]] = {}
    # Extra status codes to document on every operation of the view (e.g. ("422",)).
    extra_error_statuses: ClassVar[tuple[str, ...]] = ()
    schema = ApiAutoSchema()

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return api_exception_handler

    @classmethod
    def as_view(cls, *args: Any, **kwargs: Any) -> Any:
        view = super().as_view(*args, **kwargs)  # type: ignore[misc]
        view.login_required = False  # DRF authenticates (LoginRequiredMiddleware would redirect)
        return view


class ApiView(ApiMixin, APIView):
    """A plain API view."""


class ApiGenericView(ApiMixin, generics.GenericAPIView):  # type: ignore[type-arg]
    """A generic API view with paging (``ApiPagination``) and django-filter filtersets."""

    pagination_class = ApiPagination
    filter_backends: ClassVar[list[type]] = [DjangoFilterBackend]


class ApiViewSet(ApiMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    """A generic view set with paging and django-filter; ``scopes_required`` may name actions."""

    pagination_class = ApiPagination
    filter_backends: ClassVar[list[type]] = [DjangoFilterBackend]
