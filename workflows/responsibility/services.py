"""State changes of the duty map: rows are only ever added or end-dated, never edited or deleted."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import DepartmentKind, User

from .models import Duty, Industry
from .selectors import lead_overlaps


@transaction.atomic
def duty_create(
    *,
    industry: Industry,
    department_kind: DepartmentKind,
    role: str,
    general_level: str,
    major_level: str,
    valid_from: date,
    valid_to: date | None = None,
    decision: str = "",
    position: int = 0,
    created_by: User | None = None,
) -> Duty:
    """Add a duty row. Refuses a lead row that would overlap another lead row of the industry."""
    duty = Duty(
        industry=industry,
        department_kind=department_kind,
        role=role,
        general_level=general_level,
        major_level=major_level,
        valid_from=valid_from,
        valid_to=valid_to,
        decision=decision,
        position=position,
        created_by=created_by,
    )
    duty.full_clean()
    if role == Duty.Role.LEAD:
        others = list(Duty.objects.select_for_update().filter(industry=industry, role=role))
        if any(any(d is duty for d in o.duties) for o in lead_overlaps([*others, duty])):
            raise ValidationError(
                _("This lead duty overlaps another lead duty of %(industry)s at the same level.")
                % {"industry": industry.name}
            )
    duty.save()
    return duty


@transaction.atomic
def duty_end(*, duty: Duty, last_day: date) -> Duty:
    """End-date a duty row: ``last_day`` is its last valid day (the row is kept for history)."""
    duty = Duty.objects.select_for_update().get(pk=duty.pk)
    if last_day < duty.valid_from - timedelta(days=1):
        raise ValidationError(_("A duty cannot end before it starts."))
    if duty.valid_to is not None and duty.valid_to <= last_day:
        return duty
    duty.valid_to = last_day
    duty.full_clean()
    duty.save(update_fields=["valid_to"])
    return duty


@transaction.atomic
def duty_replace(
    *,
    duty: Duty,
    changed_on: date,
    created_by: User | None = None,
    decision: str = "",
    **changes: object,
) -> Duty:
    """A committee decision changes a duty from ``changed_on``: the old row ends the day before and a
    new row with ``changes`` applied starts on ``changed_on``."""
    duty_end(duty=duty, last_day=changed_on - timedelta(days=1))
    fields = {
        "industry": duty.industry,
        "department_kind": duty.department_kind,
        "role": duty.role,
        "general_level": duty.general_level,
        "major_level": duty.major_level,
        "valid_to": None,
        "position": duty.position,
    }
    fields.update(changes)
    return duty_create(
        valid_from=changed_on,
        decision=decision,
        created_by=created_by,
        **fields,  # type: ignore[arg-type]
    )
