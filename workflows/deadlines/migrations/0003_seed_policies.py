"""Seed the deadline policies (every grade × stage) with defaults from practice.

- triage 3 working days; plan 10 working days; plan approval 5 working days; extension decision 10
  working days (DOMAIN §2); verification 10 calendar days after the completion request (16号令);
  close-out 5 working days; rectification: the date set at triage/plan approval, else 15 (general) or
  90 (major) calendar days.
- reminders 3 days (in-app, e-mail) and 1 day (in-app, SMS) before due, to the assignee.
- the ladder: at due chase; +3 working days supervision letter to the department head; +7 working
  days circular to the territorial government and the county committee office; +15 working days the
  city committee office (admonition; listing for major hazards). Stages the enterprise works on
  (plan, rectify) chase the enterprise principal too; the others chase the assignee (department).
"""

import datetime

from django.db import migrations

EFFECTIVE_FROM = datetime.date(2020, 1, 1)
STAGES = {
    # stage: (duration, unit, enterprise side?)
    "triage": (3, "working_days", False),
    "plan": (10, "working_days", True),
    "plan_approval": (5, "working_days", False),
    "rectify": (None, "explicit", True),
    "extension_decision": (10, "working_days", False),
    "verify": (10, "calendar_days", False),
    "close_out": (5, "working_days", False),
}
RECTIFY_FALLBACK_DAYS = {"general": 15, "major": 90}
REMINDERS = [
    {"value": 3, "unit": "calendar_days", "roles": ["assignee"], "channels": ["inapp", "email"]},
    {"value": 1, "unit": "calendar_days", "roles": ["assignee"], "channels": ["inapp", "sms"]},
]


def ladder(grade, enterprise_side):
    chase_roles = ["assignee", "enterprise_principal"] if enterprise_side else ["assignee"]
    return [
        (1, 0, "chase", chase_roles, ["inapp", "sms"], False),
        (2, 3, "supervision_letter", ["department_head"], ["inapp", "email"], True),
        (3, 7, "circular", ["territorial", "county_committee"], ["inapp", "email"], True),
        (
            4,
            15,
            "listing" if grade == "major" else "admonition",
            ["city_committee"],
            ["inapp", "email", "webhook"],
            True,
        ),
    ]


def seed(apps, schema_editor):
    Policy = apps.get_model("deadlines", "DeadlinePolicy")
    Rung = apps.get_model("deadlines", "EscalationRung")
    for grade in ("general", "major"):
        for stage, (duration, unit, enterprise_side) in STAGES.items():
            policy = Policy.objects.create(
                grade=grade,
                stage=stage,
                effective_from=EFFECTIVE_FROM,
                duration=duration or RECTIFY_FALLBACK_DAYS[grade],
                unit=unit,
                reminder_offsets=REMINDERS,
                note="默认策略（系统初始化）",
            )
            Rung.objects.bulk_create(
                Rung(
                    policy=policy,
                    step=step,
                    offset_value=offset,
                    offset_unit="working_days",
                    action=action,
                    roles=roles,
                    channels=channels,
                    digest=digest,
                )
                for step, offset, action, roles, channels, digest in ladder(grade, enterprise_side)
            )


def unseed(apps, schema_editor):
    apps.get_model("deadlines", "DeadlinePolicy").objects.filter(
        effective_from=EFFECTIVE_FROM, deadlines__isnull=True
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("deadlines", "0002_seed_calendar"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
