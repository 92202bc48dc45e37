"""The duty map (三管三必须): who answers for which industry, at which level, since when and why.

Duty rows are never deleted: a change end-dates the old row and adds a new one, so the chain of any
past date can be explained. Enterprise posts (全员安全生产责任制) name the people inside an enterprise.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import DepartmentKind, Enterprise


class Industry(models.Model):
    """A work-safety sector in a tree (工贸 → 冶金 …); duties are inherited from the nearest ancestor."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent industry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=100)

    class Meta:
        verbose_name = _("industry")
        verbose_name_plural = _("industries")
        ordering = ("sort_order", "code")

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[Industry]:
        """This industry and every industry above it, nearest first."""
        chain: list[Industry] = []
        node: Industry | None = self
        seen: set[int] = set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            chain.append(node)
            node = node.parent
        return chain


class Level(models.TextChoices):
    COUNTY = "county", _("county")
    CITY = "city", _("city")


class Duty(models.Model):
    """One row of the duty map: an industry, a department kind, its role, levels and validity."""

    class Role(models.TextChoices):
        LEAD = "lead", _("lead")
        COOPERATING = "cooperating", _("cooperating")

    industry = models.ForeignKey(
        Industry, verbose_name=_("industry"), on_delete=models.PROTECT, related_name="duties"
    )
    department_kind = models.ForeignKey(
        DepartmentKind,
        verbose_name=_("department kind"),
        on_delete=models.PROTECT,
        related_name="duties",
    )
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    general_level = models.CharField(
        _("level for general hazards"), max_length=10, choices=Level.choices
    )
    major_level = models.CharField(
        _("level for major hazards"), max_length=10, choices=Level.choices
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("Last day of validity; empty: open.")
    )
    decision = models.CharField(
        _("decision reference"),
        max_length=100,
        blank=True,
        help_text=_("The committee decision that set this duty, e.g. 临安委〔2024〕5号."),
    )
    position = models.PositiveSmallIntegerField(
        _("order"), default=0, help_text=_("Order of cooperating departments in the chain.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("duty")
        verbose_name_plural = _("duty map")
        ordering = ("industry__code", "role", "position", "valid_from", "pk")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="responsibility_duty_valid_to_after_valid_from",
            ),
        ]
        indexes = [
            models.Index(fields=["industry", "role", "valid_from"], name="resp_duty_lookup"),
        ]

    def __str__(self) -> str:
        until = self.valid_to.isoformat() if self.valid_to else "…"
        return (
            f"{self.industry} · {self.department_kind} · {self.get_role_display()} "
            f"({self.valid_from.isoformat()}–{until})"
        )

    def is_valid_on(self, day) -> bool:  # type: ignore[no-untyped-def]
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class EnterpriseIndustry(models.Model):
    """An enterprise's industries in order; position 0 is the primary industry."""

    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        on_delete=models.CASCADE,
        related_name="industry_links",
    )
    industry = models.ForeignKey(
        Industry,
        verbose_name=_("industry"),
        on_delete=models.PROTECT,
        related_name="enterprise_links",
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("enterprise industry")
        verbose_name_plural = _("enterprise industries")
        ordering = ("enterprise", "position")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "industry"], name="responsibility_enterpriseindustry_unique"
            ),
            models.UniqueConstraint(
                fields=["enterprise", "position"],
                name="responsibility_enterpriseindustry_unique_position",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} · {self.industry}"


class Post(models.Model):
    """A post inside an enterprise with its written safety duties (全员安全生产责任制)."""

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.CASCADE, related_name="posts"
    )
    code = models.CharField(_("code"), max_length=40)
    title = models.CharField(_("title"), max_length=100)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("holder"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="posts",
    )
    reports_to = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    duties = models.TextField(_("written duties"), blank=True)

    class Meta:
        verbose_name = _("enterprise post")
        verbose_name_plural = _("enterprise posts")
        ordering = ("enterprise", "code")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "code"], name="responsibility_post_unique_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} · {self.title}"

    def clean(self) -> None:
        if self.reports_to is None:
            return
        if self.reports_to.enterprise_id != self.enterprise_id:
            raise ValidationError(
                {"reports_to": _("A post reports to a post of its own enterprise.")}
            )
        node: Post | None = self.reports_to
        while node is not None:
            if node.pk == self.pk:
                raise ValidationError(
                    {"reports_to": _("Posts cannot report to each other in a cycle.")}
                )
            node = node.reports_to
