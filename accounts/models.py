"""People and organisations: users, the region tree, departments, enterprises, memberships.

``accounts`` knows no workflow: the duty map and enterprise posts live in ``workflows.responsibility``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .uscc import validate_uscc

mobile_validator = RegexValidator(
    regex=r"^1[3-9]\d{9}$",
    message=_("Enter an 11-digit mainland China mobile number."),
    code="invalid_mobile",
)


class SafeChainUserManager(UserManager["User"]):
    """Creates users from a username; e-mail is optional (many enterprise users have none)."""

    def _create_user(
        self, username: str, email: str | None, password: str | None, **extra_fields: Any
    ) -> User:
        if not username:
            raise ValueError("The username must be set")
        user = self.model(
            username=self.model.normalize_username(username),
            email=self.normalize_email(email or ""),
            **extra_fields,
        )
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: department staff, enterprise staff, committee office, administrator."""

    username = models.CharField(
        _("username"),
        max_length=150,
        unique=True,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."),
        error_messages={"unique": _("A user with that username already exists.")},
    )
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    mobile = models.CharField(
        _("mobile phone"), max_length=11, blank=True, validators=[mobile_validator]
    )
    email = models.EmailField(_("email address"), blank=True)
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Designates whether the user can log into this admin site."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "Designates whether this user should be treated as active. Unselect this instead of deleting accounts."
        ),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[SafeChainUserManager] = SafeChainUserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ("username",)

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）" if self.full_name else self.username

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def get_short_name(self) -> str:
        return self.full_name or self.username


class Region(models.Model):
    """An administrative division (行政区划): city and county codes have 6 digits, townships 9."""

    class Level(models.TextChoices):
        CITY = "city", _("city")
        COUNTY = "county", _("county / district")
        TOWNSHIP = "township", _("township / street")

    CODE_LENGTH: ClassVar[dict[str, int]] = {"city": 6, "county": 6, "township": 9}
    PARENT_LEVEL: ClassVar[dict[str, str | None]] = {
        "city": None,
        "county": "city",
        "township": "county",
    }

    code = models.CharField(_("division code"), max_length=9, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    fictional = models.BooleanField(
        _("fictional code"),
        default=False,
        help_text=_("Demo data: a plausible code that is not an official one."),
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ("code",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level="city", parent__isnull=True)
                | models.Q(level__in=["county", "township"], parent__isnull=False),
                name="accounts_region_parent_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        length = self.CODE_LENGTH.get(self.level)
        if length and not (self.code.isdigit() and len(self.code) == length):
            errors.setdefault("code", []).append(
                _("A %(level)s code has exactly %(n)d digits.")
                % {"level": self.get_level_display(), "n": length}
            )
        wanted = self.PARENT_LEVEL.get(self.level)
        if self.parent is not None and (wanted is None or self.parent.level != wanted):
            errors.setdefault("parent", []).append(_("The parent region has the wrong level."))
        if wanted is not None and self.parent_id is None:
            errors.setdefault("parent", []).append(_("This level needs a parent region."))
        if (
            self.level == self.Level.TOWNSHIP
            and self.parent is not None
            and not self.code.startswith(self.parent.code)
        ):
            errors.setdefault("code", []).append(
                _("A township code starts with its county's code.")
            )
        if errors:
            raise ValidationError(errors)

    def ancestors(self) -> list[Region]:
        """This region and every region above it, nearest first."""
        chain: list[Region] = []
        node: Region | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def at_level(self, level: str) -> Region | None:
        """The region at ``level`` on the way up from here (itself included), or None."""
        return next((r for r in self.ancestors() if r.level == level), None)


class DepartmentKind(models.Model):
    """A kind of government department (应急管理, 住建 …) or one of the special kinds."""

    COMMITTEE_OFFICE = "committee_office"  # 安委办
    TOWNSHIP_GOV = "township_gov"  # 乡镇政府/街道办

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=100)

    class Meta:
        verbose_name = _("department kind")
        verbose_name_plural = _("department kinds")
        ordering = ("sort_order", "code")

    def __str__(self) -> str:
        return self.name

    @property
    def is_special(self) -> bool:
        return self.code in {self.COMMITTEE_OFFICE, self.TOWNSHIP_GOV}


class Department(models.Model):
    """A government department of one kind in one region (at most one per kind and region)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.ForeignKey(
        DepartmentKind, verbose_name=_("kind"), on_delete=models.PROTECT, related_name="departments"
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="departments"
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ("region__code", "kind__sort_order", "code")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "region"], name="accounts_department_one_per_kind_and_region"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Enterprise(models.Model):
    """A production and business unit (生产经营单位), identified by its USCC."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("operating")
        SUSPENDED = "suspended", _("suspended")
        CLOSED = "closed", _("closed")

    uscc = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="enterprises"
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    principal = models.ForeignKey(
        "User",
        verbose_name=_("principal"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="enterprises_as_principal",
        help_text=_("主要负责人: the person who answers for the enterprise's work safety."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ("uscc",)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.region_id is not None and self.region.level == Region.Level.CITY:
            raise ValidationError(
                {"region": _("An enterprise belongs to a county or a township, not a city.")}
            )


class Membership(models.Model):
    """A user's place in a department or an enterprise; one user may hold several."""

    class Role(models.TextChoices):
        STAFF = "staff", _("department staff")
        HEAD = "head", _("department head")
        COMMITTEE = "committee", _("committee office staff")
        PRINCIPAL = "principal", _("principal")
        DEPUTY = "deputy", _("deputy")
        SAFETY_MANAGER = "safety_manager", _("safety manager")
        EMPLOYEE = "employee", _("employee")

    DEPARTMENT_ROLES: ClassVar[tuple[str, ...]] = ("staff", "head", "committee")
    ENTERPRISE_ROLES: ClassVar[tuple[str, ...]] = (
        "principal",
        "deputy",
        "safety_manager",
        "employee",
    )

    user = models.ForeignKey(
        "User", verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ("user__username", "role")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        department__isnull=False,
                        enterprise__isnull=True,
                        role__in=["staff", "head", "committee"],
                    )
                    | models.Q(
                        department__isnull=True,
                        enterprise__isnull=False,
                        role__in=["principal", "deputy", "safety_manager", "employee"],
                    )
                ),
                name="accounts_membership_one_org_with_matching_role",
            ),
            models.UniqueConstraint(
                fields=["user", "department", "role"],
                condition=models.Q(department__isnull=False),
                name="accounts_membership_unique_department_role",
            ),
            models.UniqueConstraint(
                fields=["user", "enterprise", "role"],
                condition=models.Q(enterprise__isnull=False),
                name="accounts_membership_unique_enterprise_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organisation} · {self.get_role_display()}"

    @property
    def organisation(self) -> Department | Enterprise | None:
        return self.department or self.enterprise

    def clean(self) -> None:
        if (self.department_id is None) == (self.enterprise_id is None):
            raise ValidationError(_("Choose either a department or an enterprise."))
        allowed = self.DEPARTMENT_ROLES if self.department_id else self.ENTERPRISE_ROLES
        if self.role not in allowed:
            raise ValidationError({"role": _("This role does not exist in that organisation.")})
