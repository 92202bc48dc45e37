"""Heartbeats: the last moment each background component proved it is alive."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """One row per component (``beat``, ``worker``), overwritten on every tick."""

    class Component(models.TextChoices):
        BEAT = "beat", _("Scheduler (beat)")
        WORKER = "worker", _("Background worker")

    component = models.CharField(
        _("component"), max_length=20, choices=Component.choices, primary_key=True
    )
    beat_at = models.DateTimeField(_("last heartbeat at"))
    count = models.PositiveBigIntegerField(_("heartbeats"), default=0)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.get_component_display()} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"
