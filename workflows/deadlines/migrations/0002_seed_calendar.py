"""Seed the working-day calendar from the chinese-calendar package (2004 to its last year).

Only the exceptions to the Monday–Friday week are stored: public holidays that fall on a weekday and
weekend days made working days (调休). Later years are entered in the admin from the State Council's
notice.
"""

from django.db import migrations

# The package names holidays in English; the table holds the names the notices use.
NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def seed(apps, schema_editor):
    from chinese_calendar import constants

    CalendarDay = apps.get_model("deadlines", "CalendarDay")
    rows = []
    for day, name in constants.holidays.items():
        if day.weekday() < 5:
            rows.append(CalendarDay(date=day, kind="holiday", name=NAMES.get(name, name), source="package"))
    for day, name in constants.workdays.items():
        if day.weekday() >= 5:
            rows.append(CalendarDay(date=day, kind="workday", name=NAMES.get(name, name), source="package"))
    rows.sort(key=lambda row: row.date)
    CalendarDay.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


def unseed(apps, schema_editor):
    apps.get_model("deadlines", "CalendarDay").objects.filter(source="package").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("deadlines", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
