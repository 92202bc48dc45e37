"""Core API endpoints: who am I, personal tokens, enterprises, the responsibility chain, alert intake.

Views parse → call a selector or service → respond; every rule lives in ``selectors``/``services``
(or in the hazards and responsibility apps they call), exactly as for the web UI.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import django_filters
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Enterprise, Membership, Region
from accounts.selectors import regions_below
from workflows.responsibility.chain import ChainError, resolve_chain
from workflows.responsibility.models import EnterpriseIndustry, Industry, Post

from . import selectors, services
from .auth import api_client_of, auth_kind
from .base import ApiGenericView, ApiView, LimitedJSONParser, id_parameter
from .models import PersonalToken, Scope
from .permissions import IsApiClient, MintFromSession
from .serializers_core import (
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_KEY_HELP,
    AlertAcceptedSerializer,
    AlertSerializer,
    ChainQuerySerializer,
    ChainSerializer,
    EnterpriseDetailSerializer,
    EnterpriseSerializer,
    MembershipSerializer,
    MeSerializer,
    PersonalTokenCreatedSerializer,
    PersonalTokenCreateSerializer,
    PersonalTokenSerializer,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
USCC_PATH = OpenApiParameter(
    "uscc",
    {"type": "string", "pattern": "^[0-9A-Z]{18}$"},
    OpenApiParameter.PATH,
    description="Unified social credit code (18 characters).",
)


# --- /me ---------------------------------------------------------------------------------------


class MeView(ApiView):
    """The caller: user, memberships and what their credentials may do."""

    scopes_required: ClassVar[dict[str, str | None]] = {"GET": None}

    @extend_schema(operation_id="me_retrieve", responses=MeSerializer, tags=["me"])
    def get(self, request: Request) -> Response:
        user = request.user
        client = api_client_of(request)
        memberships = Membership.objects.filter(user=user).select_related(
            "department__kind", "department__region", "enterprise"
        )
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "full_name": getattr(user, "full_name", ""),
            "email": getattr(user, "email", ""),
            "auth": auth_kind(request),
            "client": (
                {
                    "name": client.name,
                    "department": {
                        "code": client.department.code,
                        "name": client.department.name,
                    },
                }
                if client
                else None
            ),
            "scopes": sorted(client.scopes) if client else list(Scope.values),
            "memberships": MembershipSerializer(memberships, many=True).data,
        }
        return Response(data)


# --- /me/tokens --------------------------------------------------------------------------------


class PersonalTokenListView(mixins.ListModelMixin, ApiGenericView):
    """List your personal tokens, or create one (from a signed-in session; the secret is shown once)."""

    # Personal tokens are for people: API clients may not list or mint them (not declared).
    scopes_required: ClassVar[dict[str, str | None]] = {}
    permission_classes: ClassVar[list[type]] = [*ApiGenericView.permission_classes, MintFromSession]
    serializer_class = PersonalTokenSerializer
    queryset = PersonalToken.objects.none()  # for the schema; the real rows come from the selector

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.personal_tokens_of(user=self.request.user)

    @extend_schema(operation_id="me_tokens_list", tags=["me"])
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        operation_id="me_tokens_create",
        request=PersonalTokenCreateSerializer,
        responses={201: PersonalTokenCreatedSerializer},
        tags=["me"],
    )
    def post(self, request: Request) -> Response:
        serializer = PersonalTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        days = serializer.validated_data.get("expires_in_days")
        token, secret = services.personal_token_create(
            user=request.user,
            name=serializer.validated_data["name"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        body = PersonalTokenCreatedSerializer(token, context={"secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)


class PersonalTokenDetailView(ApiView):
    """Revoke one of your personal tokens (at once; revoking twice is harmless)."""

    scopes_required: ClassVar[dict[str, str | None]] = {}

    @extend_schema(
        operation_id="me_tokens_destroy",
        parameters=[id_parameter("pk", "Id of the token.")],
        responses={204: OpenApiResponse(description="Revoked.")},
        tags=["me"],
    )
    def delete(self, request: Request, pk: int) -> Response:
        token = selectors.personal_tokens_of(user=request.user).filter(pk=pk).first()
        if token is None:
            raise Http404
        services.personal_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- enterprises -------------------------------------------------------------------------------


class EnterpriseFilter(django_filters.FilterSet):
    """Filters of the enterprise list; an unknown code or status is a 400 with field errors."""

    q = django_filters.CharFilter(
        method="filter_q", max_length=100, help_text="Part of the name, or the start of the USCC."
    )
    region = django_filters.ModelChoiceFilter(
        queryset=Region.objects.all(),
        to_field_name="code",
        method="filter_region",
        help_text="Region code: enterprises in it or in any region below it.",
    )
    industry = django_filters.ModelChoiceFilter(
        queryset=Industry.objects.all(),
        to_field_name="code",
        method="filter_industry",
        help_text="Industry code: enterprises with it or one of its sub-industries.",
    )
    status = django_filters.ChoiceFilter(choices=Enterprise.Status.choices)

    class Meta:
        model = Enterprise
        fields = ("q", "region", "industry", "status")

    def filter_q(
        self, queryset: QuerySet[Enterprise], name: str, value: str
    ) -> QuerySet[Enterprise]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(uscc__startswith=value.upper()))

    def filter_region(
        self, queryset: QuerySet[Enterprise], name: str, value: Region | None
    ) -> QuerySet[Enterprise]:
        if value is None:
            return queryset
        return queryset.filter(region_id__in=regions_below({value.pk}))

    def filter_industry(
        self, queryset: QuerySet[Enterprise], name: str, value: Industry | None
    ) -> QuerySet[Enterprise]:
        if value is None:
            return queryset
        codes = {value.pk}
        frontier = {value.pk}
        while frontier:
            frontier = (
                set(Industry.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
                - codes
            )
            codes |= frontier
        return queryset.filter(industry_links__industry_id__in=codes).distinct()


def _with_industries(queryset: QuerySet[Enterprise]) -> QuerySet[Enterprise]:
    return queryset.select_related("region", "principal").prefetch_related(
        Prefetch(
            "industry_links",
            queryset=EnterpriseIndustry.objects.select_related("industry").order_by("position"),
        )
    )


class EnterpriseListView(mixins.ListModelMixin, ApiGenericView):
    """Enterprises in your scope (department: its region and below; enterprise staff: their own)."""

    scopes_required: ClassVar[dict[str, str | None]] = {"GET": Scope.ENTERPRISES_READ}
    serializer_class = EnterpriseSerializer
    filterset_class = EnterpriseFilter

    def get_queryset(self) -> QuerySet[Enterprise]:
        return _with_industries(selectors.enterprises_visible_to(user=self.request.user)).order_by(
            "uscc"
        )

    @extend_schema(operation_id="enterprises_list", tags=["enterprises"])
    def get(self, request: Request) -> Response:
        return self.list(request)


class EnterpriseDetailView(ApiView):
    """One enterprise in your scope, with its industries and posts (404 outside your scope)."""

    scopes_required: ClassVar[dict[str, str | None]] = {"GET": Scope.ENTERPRISES_READ}

    @extend_schema(
        operation_id="enterprises_retrieve",
        parameters=[USCC_PATH],
        responses=EnterpriseDetailSerializer,
        tags=["enterprises"],
    )
    def get(self, request: Request, uscc: str) -> Response:
        enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
        enterprise = (
            _with_industries(Enterprise.objects.filter(pk=enterprise.pk))
            .prefetch_related(
                Prefetch(
                    "posts",
                    queryset=Post.objects.select_related("holder", "reports_to").order_by("code"),
                )
            )
            .get()
        )
        return Response(EnterpriseDetailSerializer(enterprise).data)


class EnterpriseChainView(ApiView):
    """The responsibility chain of an enterprise: exactly the JSON of ``manage.py chain``."""

    scopes_required: ClassVar[dict[str, str | None]] = {"GET": Scope.ENTERPRISES_READ}

    @extend_schema(
        operation_id="enterprises_chain",
        parameters=[USCC_PATH, ChainQuerySerializer],
        responses=ChainSerializer,
        tags=["enterprises"],
    )
    def get(self, request: Request, uscc: str) -> Response:
        enterprise = selectors.enterprise_get(user=request.user, uscc=uscc)
        query = ChainQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        post = None
        if params.get("post"):
            post = (
                Post.objects.select_related("holder")
                .filter(enterprise=enterprise, code=params["post"])
                .first()
            )
            if post is None:
                raise serializers.ValidationError(
                    {
                        "post": [
                            _("%(enterprise)s has no post with code %(code)s.")
                            % {"enterprise": enterprise.name, "code": params["post"]}
                        ]
                    }
                )
        try:
            chain = resolve_chain(
                enterprise=enterprise,
                industry=params.get("industry"),
                grade=params["grade"],
                post=post,
                on=params.get("on"),
            )
        except ChainError as exc:
            raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from None
        return Response(chain.as_dict())


# --- alerts ------------------------------------------------------------------------------------


class AlertView(ApiView):
    """Alert intake for monitoring systems: opens and routes exactly one hazard per Idempotency-Key.

    API clients with ``alerts:write`` only. The enterprise must be in the client's scope (its
    department's region). The same key with the same body replays the first answer (with the header
    ``Idempotent-Replayed: true``); the same key with another body is a 422; no key is a 400.
    """

    scopes_required: ClassVar[dict[str, str | None]] = {"POST": Scope.ALERTS_WRITE}
    permission_classes: ClassVar[list[type]] = [*ApiView.permission_classes, IsApiClient]
    parser_classes: ClassVar[list[type]] = [LimitedJSONParser]
    extra_error_statuses = ("422",)

    @extend_schema(
        operation_id="alerts_create",
        request=AlertSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description=str(IDEMPOTENCY_KEY_HELP),
            )
        ],
        responses={201: AlertAcceptedSerializer},
        tags=["alerts"],
    )
    def post(self, request: Request) -> Response:
        client = api_client_of(request)
        if client is None:  # IsApiClient already refused; keeps the type checker honest
            raise Http404
        key = _idempotency_key(request)
        request_hash = services.request_fingerprint(request.data)
        record = selectors.idempotency_record_get(client=client, key=key)
        if record is not None:
            return _alert_response(
                services.idempotent_replay(record=record, request_hash=request_hash)
            )
        serializer = AlertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        enterprise = (
            selectors.enterprises_visible_to(user=request.user)
            .select_related("region")
            .filter(uscc=data["uscc"])
            .first()
        )
        if enterprise is None:
            raise serializers.ValidationError(
                {"uscc": [_("No enterprise in your scope has this unified social credit code.")]}
            )
        alert = services.Alert(
            enterprise=enterprise,
            point_id=data["point_id"],
            type=data["type"],
            occurred_at=data["occurred_at"],
            value=data.get("value"),
            threshold=data.get("threshold"),
            unit=data.get("unit", ""),
            description=data.get("description", ""),
            location=data.get("location", ""),
            industry=data.get("industry"),
        )
        outcome = services.alert_report(
            client=client, key=key, request_hash=request_hash, alert=alert
        )
        return _alert_response(outcome)


def _idempotency_key(request: Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if not key:
        raise serializers.ValidationError(
            {
                IDEMPOTENCY_HEADER: [
                    _("Send an Idempotency-Key header (e.g. a UUID) with each alert.")
                ]
            }
        )
    if not IDEMPOTENCY_KEY.match(key):
        raise serializers.ValidationError(
            {
                IDEMPOTENCY_HEADER: [
                    _("The Idempotency-Key must be 1 to 255 visible ASCII characters.")
                ]
            }
        )
    return key


def _alert_response(outcome: services.AlertOutcome) -> Response:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return Response(outcome.body, status=outcome.status, headers=headers)
