"""The admin console: what each role sees and may change, the duty map's add/end-only rule, the
explain-chain and duty-history pages, and changelists whose query count does not grow with rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.admin import admin_access
from accounts.models import Department, Enterprise, Membership, User
from tests.factories import (
    DepartmentFactory,
    DutyFactory,
    EnterpriseFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
    city,
    county,
    industry,
    kind,
    link_industries,
    make_uscc,
    township,
)
from workflows.responsibility import permissions
from workflows.responsibility.models import Duty, EnterpriseIndustry, Industry, Post

pytestmark = pytest.mark.django_db

STRONG = "Str0ng-Passw0rd!x"


def url(name: str, *args: object, **kwargs: object) -> str:
    return reverse(f"admin:{name}", args=args or None, kwargs=kwargs or None)


# --- Personas --------------------------------------------------------------------------------------


@pytest.fixture
def places():
    c = city()
    yd = county(parent=c)
    return {"city": c, "county": yd, "township": township(parent=yd)}


@pytest.fixture
def departments(places):
    return {
        "office": DepartmentFactory(region=places["city"], kind=kind("committee_office")),
        "county_office": DepartmentFactory(region=places["county"], kind=kind("committee_office")),
        "emergency": DepartmentFactory(region=places["county"], kind=kind("emergency")),
        "housing": DepartmentFactory(region=places["county"], kind=kind("housing")),
        "township_gov": DepartmentFactory(region=places["township"], kind=kind("township_gov")),
    }


def staff_user(username: str, **extra: object) -> User:
    return UserFactory(username=username, is_staff=True, **extra)


@pytest.fixture
def superuser(db):
    return staff_user("root", is_superuser=True)


@pytest.fixture
def committee(departments):
    user = staff_user("office.clerk")
    MembershipFactory(user=user, department=departments["office"], role=Membership.Role.COMMITTEE)
    return user


@pytest.fixture
def head(departments):
    """Head of the county emergency department (应急管理局局长)."""
    user = staff_user("emergency.head")
    MembershipFactory(user=user, department=departments["emergency"], role=Membership.Role.HEAD)
    return user


@pytest.fixture
def emergency_staff(departments):
    user = UserFactory(username="emergency.inspector")
    MembershipFactory(user=user, department=departments["emergency"], role=Membership.Role.STAFF)
    return user


@pytest.fixture
def housing_staff(departments):
    user = UserFactory(username="housing.inspector")
    MembershipFactory(user=user, department=departments["housing"], role=Membership.Role.STAFF)
    return user


@pytest.fixture
def plain_staff(departments):
    """Staff of the housing department with admin entry but no head or committee role."""
    user = staff_user("housing.clerk")
    MembershipFactory(user=user, department=departments["housing"], role=Membership.Role.STAFF)
    return user


@pytest.fixture
def outsider(db):
    """is_staff, but no membership at all."""
    return staff_user("stray.staff")


@pytest.fixture
def enterprise(places):
    ent = EnterpriseFactory(
        uscc=make_uscc(7001), name="尧都焦化有限公司", region=places["township"]
    )
    link_industries(ent, "hazchem")
    return ent


@pytest.fixture
def lead_duty(departments):
    return DutyFactory(industry=industry("hazchem"), department_kind=kind("emergency"))


def as_user(client, user):
    client.force_login(user)
    return client


def duty_post_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "industry": industry("energy_storage").pk,
        "department_kind": kind("energy").pk,
        "role": "lead",
        "general_level": "county",
        "major_level": "city",
        "valid_from": "2025-03-01",
        "valid_to": "",
        "decision": "临安委〔2025〕3号",
        "position": "0",
        "_save": "Save",
    }
    data.update(overrides)
    return data


# --- Superuser: everything renders ---------------------------------------------------------------


@pytest.fixture
def one_of_everything(departments, enterprise, lead_duty, emergency_staff):
    post = PostFactory(enterprise=enterprise, code="P-SAFE")
    return {
        "user": emergency_staff,
        "region": departments["emergency"].region,
        "departmentkind": departments["emergency"].kind,
        "department": departments["emergency"],
        "enterprise": enterprise,
        "membership": Membership.objects.filter(user=emergency_staff).get(),
        "industry": industry("hazchem"),
        "duty": lead_duty,
        "post": post,
    }


def test_every_registered_model_renders_its_changelist_add_and_change_pages_for_a_superuser(
    client, superuser, one_of_everything
):
    as_user(client, superuser)
    registered = {
        m._meta.model_name: m
        for m in admin.site._registry
        if m._meta.app_label in ("accounts", "responsibility")
    }
    for name in ("user", "region", "departmentkind", "department", "enterprise", "membership"):
        assert name in registered
    for name in ("industry", "duty", "post"):
        assert name in registered
    for model in registered.values():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(url(f"{info}_changelist")).status_code == 200, info
        assert client.get(url(f"{info}_changelist"), {"q": "临"}).status_code == 200, info
        assert client.get(url(f"{info}_add")).status_code == 200, info
        obj = one_of_everything.get(model._meta.model_name)
        if obj is not None:
            assert client.get(url(f"{info}_change", obj.pk)).status_code == 200, info


def test_the_enterprise_admin_carries_the_industry_and_post_inlines_and_an_explain_button(
    client, superuser, one_of_everything
):
    enterprise = one_of_everything["enterprise"]
    response = as_user(client, superuser).get(url("accounts_enterprise_change", enterprise.pk))
    inline_models = {f.formset.model for f in response.context["inline_admin_formsets"]}
    assert {EnterpriseIndustry, Post, Membership} <= inline_models
    explain = url("responsibility_duty_explain") + f"?enterprise={enterprise.uscc}"
    assert explain in response.content.decode()


def test_the_committee_office_edits_an_enterprises_industries_and_posts_and_staff_only_view(
    client, committee, plain_staff, one_of_everything
):
    enterprise = one_of_everything["enterprise"]
    change = url("accounts_enterprise_change", enterprise.pk)

    def inline_rights(user):
        response = as_user(client, user).get(change)
        return {
            f.formset.model: (
                f.has_add_permission,
                f.has_change_permission,
                f.has_delete_permission,
            )
            for f in response.context["inline_admin_formsets"]
        }

    assert inline_rights(committee) == {
        EnterpriseIndustry: (True, True, True),
        Post: (True, True, True),
        Membership: (True, True, True),
    }
    staff_rights = inline_rights(plain_staff)
    assert staff_rights[EnterpriseIndustry] == (False, False, False)
    assert staff_rights[Post] == (False, False, False)
    assert Membership not in staff_rights  # department staff do not see enterprise people


def test_the_industry_page_links_to_its_duty_history(client, superuser):
    metallurgy = industry("metallurgy")
    response = as_user(client, superuser).get(url("responsibility_industry_change", metallurgy.pk))
    assert (
        url("responsibility_duty_industry_history", code="metallurgy") in response.content.decode()
    )


def test_an_industry_cannot_be_moved_under_its_own_sub_industry(client, superuser):
    trade = industry("industry_trade")
    response = as_user(client, superuser).post(
        url("responsibility_industry_change", trade.pk),
        {
            "code": trade.code,
            "name": trade.name,
            "parent": industry("metallurgy").pk,
            "sort_order": 1,
        },
    )
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    trade.refresh_from_db()
    assert trade.parent_id is None


def test_the_custom_duty_pages_of_other_helpers_have_their_urls():
    assert reverse("admin:responsibility_duty_coverage") == "/admin/responsibility/duty/coverage/"
    assert (
        reverse("admin:responsibility_duty_coverage_download", kwargs={"fmt": "csv"})
        == "/admin/responsibility/duty/coverage/csv/"
    )
    assert reverse("admin:responsibility_duty_import") == "/admin/responsibility/duty/import/"
    assert (
        reverse("admin:responsibility_duty_import_template")
        == "/admin/responsibility/duty/import/template/"
    )


def test_the_object_history_of_a_duty_still_works(client, superuser, lead_duty):
    """The duty-history page per industry must not shadow Django's per-object history view."""
    response = as_user(client, superuser).get(url("responsibility_duty_history", lead_duty.pk))
    assert response.status_code == 200


# --- The duty map: added, end-dated, replaced, never deleted ---------------------------------------


def test_the_committee_office_adds_a_duty_through_the_admin(client, committee):
    response = as_user(client, committee).post(url("responsibility_duty_add"), duty_post_data())
    assert response.status_code == 302
    duty = Duty.objects.get(industry__code="energy_storage")
    assert (duty.department_kind.code, duty.role, duty.valid_from) == (
        "energy",
        "lead",
        date(2025, 3, 1),
    )
    assert duty.created_by == committee
    assert LogEntry.objects.filter(object_id=str(duty.pk), user=committee).exists()


def test_an_overlapping_lead_duty_is_a_form_error_not_a_crash(client, committee):
    DutyFactory(industry=industry("energy_storage"), department_kind=kind("emergency"))
    response = as_user(client, committee).post(url("responsibility_duty_add"), duty_post_data())
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.non_field_errors()
    assert Duty.objects.filter(industry__code="energy_storage").count() == 1


def test_nobody_deletes_a_duty_row_not_even_a_superuser(client, superuser, committee, lead_duty):
    for user in (superuser, committee):
        as_user(client, user)
        assert client.get(url("responsibility_duty_delete", lead_duty.pk)).status_code == 403
        assert (
            client.post(
                url("responsibility_duty_delete", lead_duty.pk), {"post": "yes"}
            ).status_code
            == 403
        )
        changelist = client.get(url("responsibility_duty_changelist"))
        action_form = changelist.context["action_form"]
        if action_form is not None:
            assert "delete_selected" not in dict(action_form.fields["action"].choices)
        bulk = client.post(
            url("responsibility_duty_changelist"),
            {"action": "delete_selected", "_selected_action": [lead_duty.pk], "post": "yes"},
        )
        assert bulk.status_code in (200, 302)
    assert Duty.objects.filter(pk=lead_duty.pk).exists()


def test_a_duty_row_can_only_be_end_dated_and_other_posted_fields_are_ignored(
    client, committee, lead_duty
):
    as_user(client, committee)
    change = url("responsibility_duty_change", lead_duty.pk)
    form = client.get(change).context["adminform"].form
    assert list(form.fields) == ["valid_to"]
    response = client.post(
        change,
        {"valid_to": "2025-06-30", "decision": "篡改", "role": "cooperating", "_save": "Save"},
    )
    assert response.status_code == 302
    lead_duty.refresh_from_db()
    assert lead_duty.valid_to == date(2025, 6, 30)
    assert (lead_duty.decision, lead_duty.role) == ("临安委〔2024〕5号", "lead")


@pytest.mark.parametrize(
    ("valid_to", "field"),
    [("2025-12-31", "valid_to"), ("", "valid_to"), ("2023-06-01", None)],
    ids=["moved-later", "reopened", "before-start"],
)
def test_an_end_date_is_never_moved_later_removed_or_put_before_the_start(
    client, committee, valid_to, field
):
    duty = DutyFactory(valid_to=date(2025, 6, 30))
    response = as_user(client, committee).post(
        url("responsibility_duty_change", duty.pk), {"valid_to": valid_to, "_save": "Save"}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors
    if field:
        assert field in errors
    duty.refresh_from_db()
    assert duty.valid_to == date(2025, 6, 30)


def test_replacing_a_duty_ends_the_old_row_the_day_before_and_starts_a_new_one(
    client, committee, lead_duty
):
    response = as_user(client, committee).post(
        url("responsibility_duty_replace", lead_duty.pk),
        {
            "changed_on": "2025-07-01",
            "department_kind": kind("housing").pk,
            "role": "lead",
            "general_level": "county",
            "major_level": "city",
            "position": "0",
            "decision": "临安委〔2025〕9号",
        },
    )
    assert response.status_code == 302
    lead_duty.refresh_from_db()
    assert lead_duty.valid_to == date(2025, 6, 30)
    new = Duty.objects.exclude(pk=lead_duty.pk).get()
    assert (new.department_kind.code, new.valid_from, new.valid_to, new.decision) == (
        "housing",
        date(2025, 7, 1),
        None,
        "临安委〔2025〕9号",
    )
    assert new.created_by == committee
    assert response.url == url("responsibility_duty_change", new.pk)


def test_a_replacement_starting_on_or_before_the_first_day_is_a_form_error(
    client, committee, lead_duty
):
    response = as_user(client, committee).post(
        url("responsibility_duty_replace", lead_duty.pk),
        {
            "changed_on": lead_duty.valid_from.isoformat(),
            "department_kind": kind("housing").pk,
            "role": "lead",
            "general_level": "county",
            "major_level": "city",
            "position": "0",
            "decision": "临安委〔2025〕9号",
        },
    )
    assert response.status_code == 200
    assert "changed_on" in response.context["form"].errors
    assert Duty.objects.count() == 1


def test_the_duty_changelist_filters_by_validity_today(client, superuser):
    today = timezone.localdate()
    valid = DutyFactory(valid_from=today - timedelta(days=10))
    expired = DutyFactory(
        industry=industry("coal"),
        valid_from=today - timedelta(days=30),
        valid_to=today - timedelta(days=1),
    )
    future = DutyFactory(industry=industry("fireworks"), valid_from=today + timedelta(days=1))
    as_user(client, superuser)
    for value, expected in (("valid", valid), ("expired", expired), ("future", future)):
        response = client.get(url("responsibility_duty_changelist"), {"validity": value})
        assert list(response.context["cl"].result_list) == [expected], value


# --- Department heads -------------------------------------------------------------------------------


def test_a_head_sees_only_the_memberships_of_their_department(
    client, head, emergency_staff, housing_staff
):
    response = as_user(client, head).get(url("accounts_membership_changelist"))
    assert response.status_code == 200
    shown = {m.user.username for m in response.context["cl"].result_list}
    assert shown == {"emergency.head", "emergency.inspector"}


def test_a_head_adds_a_staff_membership_to_their_department(client, head, departments):
    newcomer = UserFactory(username="new.inspector")
    response = as_user(client, head).post(
        url("accounts_membership_add"),
        {"user": newcomer.pk, "department": departments["emergency"].pk, "role": "staff"},
    )
    assert response.status_code == 302
    assert Membership.objects.filter(
        user=newcomer, department=departments["emergency"], role="staff"
    ).exists()


@pytest.mark.parametrize(
    ("department", "role"),
    [("housing", "staff"), ("emergency", "committee")],
    ids=["other-department", "committee-role"],
)
def test_a_head_cannot_add_a_membership_outside_their_department_or_role(
    client, head, departments, department, role
):
    newcomer = UserFactory(username="new.inspector")
    response = as_user(client, head).post(
        url("accounts_membership_add"),
        {"user": newcomer.pk, "department": departments[department].pk, "role": role},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Membership.objects.filter(user=newcomer).exists()


def test_a_heads_membership_form_offers_only_their_departments_and_roles(client, head, departments):
    form = as_user(client, head).get(url("accounts_membership_add")).context["adminform"].form
    assert list(form.fields) == ["user", "department", "role"]
    assert list(form.fields["department"].queryset) == [departments["emergency"]]
    assert [value for value, _label in form.fields["role"].choices if value] == ["staff", "head"]


def test_another_departments_membership_is_not_found_for_a_head(client, head, housing_staff):
    other = Membership.objects.get(user=housing_staff)
    as_user(client, head)
    assert client.get(url("accounts_membership_change", other.pk)).status_code == 404
    assert (
        client.post(url("accounts_membership_delete", other.pk), {"post": "yes"}).status_code == 404
    )
    assert Membership.objects.filter(pk=other.pk).exists()


def test_a_head_removes_a_membership_of_their_department(client, head, emergency_staff):
    membership = Membership.objects.get(user=emergency_staff)
    response = as_user(client, head).post(
        url("accounts_membership_delete", membership.pk), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_a_head_cannot_change_the_duty_map_or_the_organisations(
    client, head, departments, enterprise, lead_duty
):
    as_user(client, head)
    assert client.get(url("responsibility_duty_add")).status_code == 403
    assert client.post(url("responsibility_duty_add"), duty_post_data()).status_code == 403
    assert client.get(url("responsibility_duty_replace", lead_duty.pk)).status_code == 403
    assert client.get(url("accounts_enterprise_add")).status_code == 403
    assert client.get(url("accounts_department_add")).status_code == 403
    emergency = departments["emergency"]
    page = client.get(url("accounts_department_change", emergency.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    posted = client.post(
        url("accounts_department_change", emergency.pk),
        {
            "code": emergency.code,
            "name": "改名",
            "kind": emergency.kind_id,
            "region": emergency.region_id,
        },
    )
    assert posted.status_code == 403
    assert (
        client.post(url("accounts_enterprise_change", enterprise.pk), {"name": "x"}).status_code
        == 403
    )
    emergency.refresh_from_db()
    assert emergency.name != "改名"


def test_a_head_manages_their_staff_but_not_their_privileges(client, head, emergency_staff):
    as_user(client, head)
    change = url("accounts_user_change", emergency_staff.pk)
    page = client.get(change)
    assert page.status_code == 200
    form_fields = set(page.context["adminform"].form.fields)
    assert {"is_superuser", "is_staff", "groups", "user_permissions"}.isdisjoint(form_fields)
    response = client.post(
        change,
        {
            "username": emergency_staff.username,
            "full_name": "新名字",
            "mobile": "13800000099",
            "email": "",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2025-01-01",
            "date_joined_1": "08:00:00",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    emergency_staff.refresh_from_db()
    assert emergency_staff.full_name == "新名字"
    assert not emergency_staff.is_superuser
    assert not emergency_staff.is_staff


def test_a_head_does_not_see_or_change_users_outside_their_department(
    client, head, housing_staff, committee, departments
):
    as_user(client, head)
    assert client.get(url("accounts_user_change", housing_staff.pk)).status_code == 404
    # A committee office clerk who also sits in the head's department stays out of the head's hands.
    MembershipFactory(user=committee, department=departments["emergency"], role="staff")
    page = client.get(url("accounts_user_change", committee.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    users = client.get(url("accounts_user_changelist")).context["cl"].result_list
    assert housing_staff not in users


def test_a_head_creates_a_user_who_joins_their_department(client, head, departments):
    response = as_user(client, head).post(
        url("accounts_user_add"),
        {
            "username": "fresh.inspector",
            "full_name": "新人",
            "mobile": "13900000001",
            "password1": STRONG,
            "password2": STRONG,
            "department": departments["emergency"].pk,
        },
    )
    assert response.status_code == 302
    fresh = User.objects.get(username="fresh.inspector")
    assert not fresh.is_staff
    assert Membership.objects.filter(
        user=fresh, department=departments["emergency"], role="staff"
    ).exists()


def test_a_head_picks_any_active_user_for_a_new_membership(client, head, housing_staff):
    response = as_user(client, head).get(
        reverse("admin:autocomplete"),
        {
            "app_label": "accounts",
            "model_name": "membership",
            "field_name": "user",
            "term": "housing",
        },
    )
    assert response.status_code == 200
    assert str(housing_staff.pk) in {r["id"] for r in response.json()["results"]}


def test_the_enterprise_region_picker_offers_no_city(client, superuser, places):
    response = as_user(client, superuser).get(
        reverse("admin:autocomplete"),
        {"app_label": "accounts", "model_name": "enterprise", "field_name": "region", "term": ""},
    )
    offered = {r["id"] for r in response.json()["results"]}
    assert str(places["city"].pk) not in offered
    assert {str(places["county"].pk), str(places["township"].pk)} <= offered


# --- Everyone else -----------------------------------------------------------------------------


def test_plain_staff_view_the_duty_map_and_organisations_but_change_nothing(
    client, plain_staff, enterprise, lead_duty, departments
):
    as_user(client, plain_staff)
    assert client.get(url("responsibility_duty_changelist")).status_code == 200
    assert client.get(url("accounts_enterprise_changelist")).status_code == 200
    for name in (
        "responsibility_duty_add",
        "responsibility_industry_add",
        "responsibility_post_add",
        "accounts_enterprise_add",
        "accounts_region_add",
        "accounts_departmentkind_add",
        "accounts_department_add",
        "accounts_membership_add",
        "accounts_user_add",
    ):
        assert client.get(url(name)).status_code == 403, name
    assert client.get(url("accounts_membership_changelist")).status_code == 403
    assert client.get(url("accounts_user_changelist")).status_code == 403
    posted = client.post(
        url("responsibility_duty_change", lead_duty.pk), {"valid_to": "2025-01-31"}
    )
    assert posted.status_code == 403
    lead_duty.refresh_from_db()
    assert lead_duty.valid_to is None


def test_staff_without_any_membership_see_nothing(client, outsider, lead_duty):
    as_user(client, outsider)
    index = client.get(url("index"))
    assert index.status_code == 200
    assert index.context["app_list"] == []
    assert client.get(url("responsibility_duty_changelist")).status_code == 403
    assert client.get(url("responsibility_duty_explain")).status_code == 403
    assert client.get(url("responsibility_duty_industry_history", code="coal")).status_code == 403


def test_the_admin_index_lists_what_a_head_may_reach(client, head):
    index = as_user(client, head).get(url("index"))
    models = {m["object_name"] for app in index.context["app_list"] for m in app["models"]}
    assert {"Membership", "User", "Duty", "Enterprise"} <= models


# --- Explain a chain --------------------------------------------------------------------------------


def test_the_explain_page_shows_the_chain_of_an_enterprise(
    client, superuser, enterprise, lead_duty, departments
):
    response = as_user(client, superuser).get(
        url("responsibility_duty_explain"), {"enterprise": enterprise.uscc, "grade": "general"}
    )
    assert response.status_code == 200
    chain = response.context["chain"]
    assert chain is not None
    assert chain.blind_spot is False
    roles = [(row["link"].role, row["link"].org_code) for row in response.context["rows"]]
    assert roles[0] == ("principal", enterprise.uscc)
    assert ("lead", departments["emergency"].code) in roles
    assert ("territorial", departments["township_gov"].code) in roles
    page = response.content.decode()
    assert departments["emergency"].name in page
    assert 'id="blind-spot"' not in page
    # The autocomplete shows the enterprise picked by USCC.
    assert response.context["form"]["enterprise"].value() == str(enterprise.pk)


def test_the_explain_page_flags_a_blind_spot(client, committee, enterprise, departments):
    response = as_user(client, committee).get(
        url("responsibility_duty_explain"), {"enterprise": enterprise.pk}
    )
    assert response.status_code == 200
    assert response.context["chain"].blind_spot is True
    assert 'id="blind-spot"' in response.content.decode()


def test_the_explain_page_uses_the_post_and_the_day(client, superuser, enterprise, lead_duty):
    post = PostFactory(enterprise=enterprise, code="P-SAFE")
    response = as_user(client, superuser).get(
        url("responsibility_duty_explain"),
        {"enterprise": enterprise.uscc, "post": "P-SAFE", "on": "2023-06-01", "grade": "major"},
    )
    chain = response.context["chain"]
    assert chain.on == date(2023, 6, 1)
    assert chain.grade == "major"
    assert chain.links[0].role == "post"
    assert chain.links[0].person == post.holder.username
    assert chain.blind_spot is True  # the lead duty starts in 2024


def test_the_explain_page_answers_json(client, superuser, enterprise, lead_duty):
    response = as_user(client, superuser).get(
        url("responsibility_duty_explain"), {"enterprise": enterprise.uscc, "format": "json"}
    )
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["enterprise"]["uscc"] == enterprise.uscc
    assert body["industry"] == "hazchem"
    assert body["links"][1]["rule"]["duty_id"] == lead_duty.pk


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, None),
        ({"enterprise": "91141000MA0XXXXXX1"}, "enterprise"),
        ({"enterprise": "not-a-code"}, "enterprise"),
        ({"enterprise": "999999"}, "enterprise"),
        ({"enterprise": "@USCC", "grade": "catastrophic"}, "grade"),
        ({"enterprise": "@USCC", "on": "2024-13-45"}, "on"),
        ({"enterprise": "@USCC", "industry": "no_such_industry"}, "industry"),
        ({"enterprise": "@USCC", "post": "NOPE"}, "post"),
    ],
    ids=["empty", "unknown-uscc", "garbage", "unknown-id", "grade", "date", "industry", "post"],
)
def test_bad_explain_input_is_shown_as_form_errors(client, superuser, enterprise, params, field):
    params = {k: (enterprise.uscc if v == "@USCC" else v) for k, v in params.items()}
    response = as_user(client, superuser).get(url("responsibility_duty_explain"), params)
    assert response.status_code == 200
    assert response.context["chain"] is None
    form = response.context["form"]
    if params:
        assert form.errors
        assert field in form.errors
    else:
        assert not form.is_bound


def test_the_explain_form_rejects_a_post_of_another_enterprise(client, superuser, enterprise):
    PostFactory(code="ELSEWHERE")
    response = as_user(client, superuser).get(
        url("responsibility_duty_explain"), {"enterprise": enterprise.uscc, "post": "ELSEWHERE"}
    )
    assert "post" in response.context["form"].errors


def test_department_staff_may_explain_a_chain(client, plain_staff, enterprise, lead_duty):
    response = as_user(client, plain_staff).get(
        url("responsibility_duty_explain"), {"enterprise": enterprise.uscc}
    )
    assert response.status_code == 200
    assert response.context["chain"] is not None


# --- Duty history -------------------------------------------------------------------------------


def test_the_duty_history_lists_the_rows_of_the_industry_and_its_ancestors(client, superuser):
    today = timezone.localdate()
    trade_lead = DutyFactory(industry=industry("industry_trade"), valid_from=date(2020, 1, 1))
    old = DutyFactory(
        industry=industry("metallurgy"),
        valid_from=date(2019, 1, 1),
        valid_to=date(2019, 12, 31),
        decision="临安委〔2019〕1号",
    )
    coop = DutyFactory(
        industry=industry("metallurgy"),
        department_kind=kind("market"),
        role="cooperating",
        valid_from=date(2021, 5, 1),
    )
    future = DutyFactory(
        industry=industry("metallurgy"),
        department_kind=kind("housing"),
        valid_from=today + timedelta(days=30),
    )
    DutyFactory(industry=industry("textile"))  # a sibling: not shown
    DutyFactory(industry=industry("coal"))  # unrelated: not shown
    response = as_user(client, superuser).get(
        url("responsibility_duty_industry_history", code="metallurgy")
    )
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["duty"] for r in rows] == [old, trade_lead, coop, future]
    by_duty = {r["duty"]: r for r in rows}
    assert by_duty[old]["state"] == "expired"
    assert by_duty[future]["state"] == "future"
    assert by_duty[trade_lead]["state"] == "valid"
    assert by_duty[trade_lead]["inherited"] is True
    # Today the lead is inherited from 工贸 and the cooperating row is metallurgy's own.
    assert by_duty[trade_lead]["in_effect"]
    assert by_duty[coop]["in_effect"]
    assert not by_duty[old]["in_effect"]
    assert "临安委〔2019〕1号" in response.content.decode()


def test_the_duty_history_of_an_unknown_industry_is_not_found(client, superuser):
    response = as_user(client, superuser).get(
        url("responsibility_duty_industry_history", code="nope")
    )
    assert response.status_code == 404


def test_department_staff_may_read_the_duty_history(client, plain_staff):
    response = as_user(client, plain_staff).get(
        url("responsibility_duty_industry_history", code="coal")
    )
    assert response.status_code == 200


# --- No N+1 on changelists --------------------------------------------------------------------------


def _changelist_queries(client, name: str) -> int:
    client.get(url(name))  # warm-up: the session's first write happens at most once a minute
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url(name))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _more_enterprises(places, start: int, count: int) -> None:
    for n in range(start, start + count):
        ent = EnterpriseFactory(uscc=make_uscc(n), region=places["township"])
        link_industries(ent, "coal")
        MembershipFactory(enterprise=ent, user=ent.principal, role="principal")


def _more_duties(start: int, count: int) -> None:
    for n in range(start, start + count):
        DutyFactory(
            industry=industry("coal"),
            role="cooperating",
            department_kind=kind("housing" if n % 2 else "market"),
            valid_from=date(2020, 1, 1) + timedelta(days=n),
            position=n,
        )


@pytest.mark.parametrize(
    "changelist",
    [
        "accounts_enterprise_changelist",
        "responsibility_duty_changelist",
        "accounts_membership_changelist",
    ],
)
def test_changelist_queries_do_not_grow_with_rows(client, superuser, places, changelist):
    as_user(client, superuser)
    _more_enterprises(places, 100, 5)
    _more_duties(0, 5)
    few = _changelist_queries(client, changelist)
    _more_enterprises(places, 200, 45)
    _more_duties(5, 45)
    assert Enterprise.objects.count() == 50
    assert Duty.objects.count() == 50
    assert Membership.objects.count() == 50
    many = _changelist_queries(client, changelist)
    assert many == few


def test_the_heads_membership_changelist_queries_do_not_grow_with_rows(client, head, departments):
    as_user(client, head)
    few = _changelist_queries(client, "accounts_membership_changelist")
    for _n in range(40):
        MembershipFactory(user=UserFactory(), department=departments["emergency"])
    many = _changelist_queries(client, "accounts_membership_changelist")
    assert many == few


# --- The rules agree with workflows.responsibility.permissions -----------------------------------


def test_the_admin_rules_agree_with_the_permissions_module(
    superuser, committee, head, plain_staff, outsider, emergency_staff, departments
):
    rf = RequestFactory()
    for user in (superuser, committee, head, plain_staff, outsider, emergency_staff):
        request = rf.get("/admin/")
        request.user = user
        access = admin_access(request)
        assert access.manages_organisations == permissions.can_change_duty_map(user), user
        assert access.headed_department_ids == set(
            permissions.departments_headed_by(user).values_list("pk", flat=True)
        ), user
        assert access.heads_departments == permissions.is_department_head(user)
    assert permissions.can_change_duty_map(superuser)
    assert permissions.can_change_duty_map(committee)
    assert not permissions.can_change_duty_map(head)
    assert list(permissions.departments_headed_by(head)) == [departments["emergency"]]
    assert permissions.can_view_admin_reports(plain_staff)
    assert not permissions.can_view_admin_reports(outsider)
    assert not permissions.can_view_admin_reports(emergency_staff)  # not is_staff


def test_an_inactive_superuser_or_clerk_may_change_nothing(superuser, committee):
    for user in (superuser, committee):
        user.is_active = False
        user.save()
        assert not permissions.can_change_duty_map(user)
        assert not permissions.can_view_admin_reports(user)


def test_a_committee_role_outside_the_committee_office_grants_nothing(departments):
    user = staff_user("misfiled")
    # The model's constraint allows role "committee" in any department; only the office's counts.
    Membership.objects.create(user=user, department=departments["housing"], role="committee")
    assert not permissions.can_change_duty_map(user)
    assert Department.objects.filter(memberships__user=user).count() == 1
    assert Industry.objects.exists()
