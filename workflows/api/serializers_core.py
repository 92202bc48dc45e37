"""Serializers of the core API: parse and validate input, shape output. No rule lives here that a
service or selector already enforces."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Enterprise, Membership
from accounts.uscc import normalize_uscc, validate_uscc
from workflows.responsibility.models import Industry

from .models import ApiClientToken, PersonalToken, Scope

# An Idempotency-Key: 1–255 visible ASCII characters (a UUID is the usual choice).
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class CodeField(serializers.SlugRelatedField):  # type: ignore[type-arg]
    """A related object by its code; a value no code can have (a NUL byte, hundreds of characters)
    is "not found" without a query (PostgreSQL refuses NUL bytes)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and ("\x00" in data or len(data) > 100):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data[:100])
        return super().to_internal_value(data)


# --- /me ---------------------------------------------------------------------------------------


class RegionRefSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()


class OrgRefSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()


class EnterpriseRefSerializer(serializers.Serializer[Any]):
    uscc = serializers.CharField()
    name = serializers.CharField()


class MembershipSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    department = serializers.SerializerMethodField()
    enterprise = serializers.SerializerMethodField()

    def get_department(self, obj: Membership) -> dict[str, Any] | None:
        department = obj.department
        if department is None:
            return None
        return {
            "code": department.code,
            "name": department.name,
            "kind": department.kind.code,
            "region": {"code": department.region.code, "name": department.region.name},
        }

    def get_enterprise(self, obj: Membership) -> dict[str, Any] | None:
        enterprise = obj.enterprise
        return {"uscc": enterprise.uscc, "name": enterprise.name} if enterprise else None


class _DepartmentOutSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    region = RegionRefSerializer()


class _MembershipOutSerializer(serializers.Serializer[Any]):
    """Schema of ``MembershipSerializer``'s output."""

    role = serializers.ChoiceField(choices=Membership.Role.choices)
    department = _DepartmentOutSerializer(allow_null=True)
    enterprise = EnterpriseRefSerializer(allow_null=True)


class ClientInfoSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    department = OrgRefSerializer()


class MeSerializer(serializers.Serializer[Any]):
    """Who is calling: the user, how they authenticated, their memberships and scopes."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    auth = serializers.ChoiceField(
        choices=["session", "personal_token", "client_token"],
        help_text="How this request was authenticated.",
    )
    client = ClientInfoSerializer(
        allow_null=True, help_text="The API client behind a client token; null for people."
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices),
        help_text="The client's scopes; every scope for people (they act with their own rights).",
    )
    memberships = _MembershipOutSerializer(many=True)


# --- personal tokens ---------------------------------------------------------------------------


class PersonalTokenSerializer(serializers.ModelSerializer[PersonalToken]):
    """A personal token as listed (never its secret)."""

    active = serializers.SerializerMethodField()

    class Meta:
        model = PersonalToken
        fields: tuple[str, ...] = (
            "id",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "active",
        )
        read_only_fields = fields

    def get_active(self, obj: PersonalToken) -> bool:
        return obj.is_usable()


class PersonalTokenCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=366,
        required=False,
        allow_null=True,
        help_text="Days until the token expires; omit or null for a token that does not expire.",
    )


class PersonalTokenCreatedSerializer(PersonalTokenSerializer):
    """A new token, with its secret: shown this once and never again."""

    token = serializers.SerializerMethodField(
        help_text="The secret. Store it now: it is shown once."
    )

    class Meta(PersonalTokenSerializer.Meta):
        fields = (*PersonalTokenSerializer.Meta.fields, "token")
        read_only_fields = fields

    def get_token(self, obj: PersonalToken) -> str:
        return str(self.context["secret"])


class ClientTokenSerializer(serializers.ModelSerializer[ApiClientToken]):
    class Meta:
        model = ApiClientToken
        fields = ("id", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
        read_only_fields = fields


# --- enterprises -------------------------------------------------------------------------------


class IndustryLinkSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(source="industry.code")
    name = serializers.CharField(source="industry.name")
    position = serializers.IntegerField()


class PrincipalSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    full_name = serializers.CharField(allow_blank=True)


class EnterpriseSerializer(serializers.ModelSerializer[Enterprise]):
    region = RegionRefSerializer()
    principal = PrincipalSerializer(allow_null=True)
    industries = IndustryLinkSerializer(many=True, source="industry_links")

    class Meta:
        model = Enterprise
        fields: tuple[str, ...] = (
            "uscc",
            "name",
            "region",
            "address",
            "status",
            "principal",
            "industries",
        )
        read_only_fields = fields


class PostSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    title = serializers.CharField()
    holder = PrincipalSerializer(allow_null=True)
    reports_to = serializers.CharField(
        source="reports_to.code", allow_null=True, default=None, help_text="Code of the post above."
    )


class EnterpriseDetailSerializer(EnterpriseSerializer):
    posts = PostSerializer(many=True)

    class Meta(EnterpriseSerializer.Meta):
        fields = (*EnterpriseSerializer.Meta.fields, "posts")
        read_only_fields = fields


# --- responsibility chain ----------------------------------------------------------------------


class ChainQuerySerializer(serializers.Serializer[Any]):
    """Query parameters of the chain endpoint (the options of ``manage.py chain``)."""

    industry = CodeField(
        slug_field="code",
        queryset=Industry.objects.all(),
        required=False,
        help_text="Industry code (default: the enterprise's primary industry).",
    )
    grade = serializers.ChoiceField(choices=["general", "major"], default="general")
    on = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="Explain the chain as the duty map stood on this day (default: today).",
    )
    post = serializers.CharField(
        required=False, max_length=40, help_text="Code of the responsible post in the enterprise."
    )


class ChainRuleSerializer(serializers.Serializer[Any]):
    duty_id = serializers.IntegerField(allow_null=True)
    decision = serializers.CharField(allow_blank=True)
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)
    fallback = serializers.BooleanField()


class ChainLinkSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(
        choices=["post", "principal", "lead", "cooperating", "territorial", "committee"]
    )
    org_code = serializers.CharField()
    org_name = serializers.CharField()
    person = serializers.CharField(allow_null=True)
    basis = serializers.CharField(allow_blank=True)
    rule = ChainRuleSerializer(allow_null=True)


class ChainSerializer(serializers.Serializer[Any]):
    """Schema of ``Chain.as_dict()`` — exactly what ``manage.py chain --format json`` prints."""

    enterprise = EnterpriseRefSerializer()
    industry = serializers.CharField(allow_null=True)
    grade = serializers.ChoiceField(choices=["general", "major"])
    on = serializers.DateField()
    blind_spot = serializers.BooleanField()
    links = ChainLinkSerializer(many=True)


# --- alerts ------------------------------------------------------------------------------------


class AlertSerializer(serializers.Serializer[Any]):
    """An alarm reported by a monitoring or early-warning system."""

    uscc = serializers.CharField(
        max_length=40, help_text="Unified social credit code of the enterprise (18 characters)."
    )
    point_id = serializers.CharField(max_length=64, help_text="Sensor or monitoring point id.")
    type = serializers.CharField(max_length=64, help_text="Alarm type, e.g. gas_concentration.")
    value = serializers.FloatField(required=False, allow_null=True, help_text="Measured value.")
    threshold = serializers.FloatField(
        required=False, allow_null=True, help_text="The threshold that was exceeded."
    )
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(help_text="When the alarm went off (ISO 8601).")
    description = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    location = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="Where in the enterprise (default: the monitoring point).",
    )
    industry = CodeField(
        slug_field="code",
        queryset=Industry.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Industry code (default: the enterprise's primary industry).",
    )

    def validate_uscc(self, value: str) -> str:
        uscc = normalize_uscc(value)
        try:
            validate_uscc(uscc)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from None
        return uscc


class HazardRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    source = serializers.CharField()
    grade = serializers.CharField()
    stage = serializers.CharField()
    found_at = serializers.DateTimeField()
    enterprise = EnterpriseRefSerializer()
    department = OrgRefSerializer(allow_null=True)


class AlertAcceptedSerializer(serializers.Serializer[Any]):
    """The answer to an accepted alert; a replay with the same key returns it unchanged."""

    idempotency_key = serializers.CharField()
    hazard = HazardRefSerializer()


IDEMPOTENCY_KEY_HELP = _(
    "A unique key per alert (e.g. a UUID): the same key and body again return the first answer."
)
