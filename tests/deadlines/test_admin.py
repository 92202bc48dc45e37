"""The admin console: calendar entries (2027's notice), policies read-only once used, deadline list."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory, county, kind
from workflows.deadlines.calendar import is_working_day
from workflows.deadlines.models import CalendarDay, Deadline, DeadlinePolicy
from workflows.deadlines.selectors import policy_for
from workflows.deadlines.services import deadline_open

from .conftest import SUBJECT, local

pytestmark = pytest.mark.django_db


def url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args)


@pytest.fixture
def superuser():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def committee():
    user = UserFactory(username="office.clerk", is_staff=True)
    office = DepartmentFactory(region=county(), kind=kind("committee_office"))
    MembershipFactory(user=user, department=office, role=Membership.Role.COMMITTEE)
    return user


@pytest.fixture
def department_staff():
    user = UserFactory(username="housing.clerk", is_staff=True)
    housing = DepartmentFactory(region=county(), kind=kind("housing"))
    MembershipFactory(user=user, department=housing, role=Membership.Role.STAFF)
    return user


@pytest.fixture
def outsider():
    return UserFactory(username="stray.staff", is_staff=True)


def warnings_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]


@time_machine.travel(local(2026, 11, 28, 10), tick=False)
def test_the_calendar_list_warns_that_2027_is_missing(client, superuser):
    client.force_login(superuser)
    response = client.get(url("deadlines_calendarday_changelist"), {"year": "2026"})
    assert response.status_code == 200
    warnings = warnings_of(response)
    assert len(warnings) == 1
    assert "2027" in warnings[0]
    assert "2026-10-01" in response.content.decode() or "2026年10月1日" in response.content.decode()


@time_machine.travel(local(2026, 11, 28, 10), tick=False)
def test_the_committee_office_enters_2027s_notice_and_working_days_follow(client, committee):
    client.force_login(committee)
    assert is_working_day(date(2027, 2, 8))
    response = client.post(
        url("deadlines_calendarday_add"), {"date": "2027-02-08", "kind": "holiday", "name": "春节"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = CalendarDay.objects.get(date=date(2027, 2, 8))
    assert (row.kind, row.source) == ("holiday", "admin")
    assert not is_working_day(date(2027, 2, 8))
    response = client.get(url("deadlines_calendarday_changelist"))
    assert warnings_of(response) == []


def test_editing_a_seeded_day_makes_it_the_admins(client, committee):
    client.force_login(committee)
    row = CalendarDay.objects.get(date=date(2026, 10, 7))
    response = client.post(
        url("deadlines_calendarday_change", row.pk),
        {"date": "2026-10-07", "kind": "workday", "name": "示例更正"},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.kind, row.source) == ("workday", "admin")
    assert is_working_day(date(2026, 10, 7))


def test_department_staff_view_the_calendar_and_policies_but_change_nothing(
    client, department_staff
):
    client.force_login(department_staff)
    assert client.get(url("deadlines_calendarday_changelist")).status_code == 200
    assert client.get(url("deadlines_deadlinepolicy_changelist")).status_code == 200
    assert client.get(url("deadlines_deadline_changelist")).status_code == 200
    assert client.get(url("deadlines_calendarday_add")).status_code == 403
    response = client.post(
        url("deadlines_calendarday_add"), {"date": "2027-02-08", "kind": "holiday", "name": "春节"}
    )
    assert response.status_code == 403
    assert not CalendarDay.objects.filter(date=date(2027, 2, 8)).exists()


def test_an_outsider_sees_none_of_it(client, outsider):
    client.force_login(outsider)
    for name in ("calendarday", "deadlinepolicy", "deadline"):
        assert client.get(url(f"deadlines_{name}_changelist")).status_code == 403


def test_an_unused_policy_is_edited_with_its_ladder(client, committee):
    client.force_login(committee)
    policy = policy_for("general", "verify", date(2026, 1, 1))
    response = client.get(url("deadlines_deadlinepolicy_change", policy.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="duration"' in body
    assert 'name="rungs-0-roles"' in body


def test_a_policy_in_use_is_read_only_and_copied_as_a_new_version(client, committee):
    with time_machine.travel(local(2026, 2, 1, 10), tick=False):
        deadline = deadline_open(
            subject_type=SUBJECT, subject_id=1, stage="verify", grade="general"
        )
    policy = deadline.policy
    client.force_login(committee)
    response = client.get(url("deadlines_deadlinepolicy_change", policy.pk))
    assert response.status_code == 200
    assert 'name="duration"' not in response.content.decode()
    response = client.post(
        url("deadlines_deadlinepolicy_change", policy.pk),
        {
            "grade": "general",
            "stage": "verify",
            "effective_from": "2020-01-01",
            "duration": "1",
            "unit": "hours",
        },
    )
    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.duration == 10
    response = client.post(
        url("deadlines_deadlinepolicy_changelist"),
        {"action": "copy_as_new_version", "_selected_action": [policy.pk]},
    )
    assert response.status_code == 302
    tomorrow = timezone.localdate() + timedelta(days=1)
    copy = DeadlinePolicy.objects.get(grade="general", stage="verify", effective_from=tomorrow)
    assert [r.action for r in copy.rungs.all()] == [r.action for r in policy.rungs.all()]
    assert client.get(url("deadlines_deadlinepolicy_change", copy.pk)).status_code == 200
    assert (
        'name="duration"'
        in client.get(url("deadlines_deadlinepolicy_change", copy.pk)).content.decode()
    )


def test_the_deadline_list_filters_overdue_and_is_read_only(client, superuser):
    with time_machine.travel(local(2026, 2, 1, 10), tick=False):
        deadline_open(subject_type=SUBJECT, subject_id=1, stage="verify", grade="general")
        deadline_open(
            subject_type=SUBJECT,
            subject_id=2,
            stage="verify",
            grade="general",
            explicit_on=date(2099, 1, 1),
        )
    client.force_login(superuser)
    response = client.get(url("deadlines_deadline_changelist"), {"overdue": "yes"})
    assert response.status_code == 200
    assert [d.subject_id for d in response.context["cl"].result_list] == [1]
    response = client.get(
        url("deadlines_deadline_changelist"), {"overdue": "no", "open__exact": "1"}
    )
    assert [d.subject_id for d in response.context["cl"].result_list] == [2]
    assert client.get(url("deadlines_deadline_add")).status_code == 403
    first = Deadline.objects.get(subject_id=1)
    response = client.post(url("deadlines_deadline_change", first.pk), {"step": "5"})
    assert response.status_code == 403
    assert client.get(url("deadlines_deadline_change", first.pk)).status_code == 200
