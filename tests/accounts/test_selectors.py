"""Membership selectors shared by the admin console and the workflow permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from accounts import selectors
from accounts.admin import admin_access
from accounts.models import Membership
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    MembershipFactory,
    UserFactory,
    city,
    county,
    kind,
    make_uscc,
)
from workflows.responsibility import permissions

pytestmark = pytest.mark.django_db


@pytest.fixture
def departments():
    c = city()
    yd = county(parent=c)
    return {
        "office": DepartmentFactory(region=c, kind=kind("committee_office")),
        "emergency": DepartmentFactory(region=yd, kind=kind("emergency")),
        "housing": DepartmentFactory(region=yd, kind=kind("housing")),
    }


def member(department, role: str, **user_fields: object):
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, department=department, role=role)
    return user


def test_the_committee_role_counts_only_in_the_committee_office(departments):
    clerk = member(departments["office"], Membership.Role.COMMITTEE)
    misfiled = member(departments["housing"], Membership.Role.COMMITTEE)
    office_staff = member(departments["office"], Membership.Role.STAFF)
    assert selectors.is_committee_office(clerk)
    assert not selectors.is_committee_office(misfiled)
    assert not selectors.is_committee_office(office_staff)


def test_department_roles_are_read_in_one_query(departments, django_assert_num_queries):
    user = member(departments["emergency"], Membership.Role.HEAD)
    MembershipFactory(user=user, department=departments["office"], role=Membership.Role.COMMITTEE)
    MembershipFactory(user=user, department=departments["housing"], role=Membership.Role.STAFF)
    with django_assert_num_queries(1):
        roles = selectors.department_roles_of(user)
    assert roles.committee_office
    assert roles.headed_department_ids == {departments["emergency"].pk}
    assert roles.department_ids == {d.pk for d in departments.values()}
    assert roles.department_member


def test_an_inactive_or_anonymous_user_has_no_department_roles(
    departments, django_assert_num_queries
):
    inactive = member(departments["office"], Membership.Role.COMMITTEE, is_active=False)
    head = member(departments["emergency"], Membership.Role.HEAD, is_active=False)
    for user in (inactive, head, AnonymousUser()):
        with django_assert_num_queries(0):
            assert selectors.department_roles_of(user) == selectors.NO_DEPARTMENT_ROLES
        assert not selectors.is_committee_office(user)
        assert not selectors.departments_headed_by(user).exists()


def test_departments_headed_by_lists_each_headed_department_once(departments):
    head = member(departments["emergency"], Membership.Role.HEAD)
    MembershipFactory(user=head, department=departments["housing"], role=Membership.Role.HEAD)
    MembershipFactory(user=head, department=departments["housing"], role=Membership.Role.STAFF)
    MembershipFactory(user=head, department=departments["office"], role=Membership.Role.STAFF)
    headed = list(selectors.departments_headed_by(head).order_by("pk"))
    assert headed == [departments["emergency"], departments["housing"]]


def test_id_lists_separate_departments_from_enterprises_and_ignore_the_active_flag(departments):
    user = member(departments["emergency"], Membership.Role.STAFF, is_active=False)
    enterprise = EnterpriseFactory(uscc=make_uscc(8101))
    MembershipFactory(user=user, enterprise=enterprise, role=Membership.Role.SAFETY_MANAGER)
    assert selectors.department_ids_of(user) == {departments["emergency"].pk}
    assert selectors.enterprise_ids_of(user) == {enterprise.pk}
    assert selectors.department_ids_of(UserFactory()) == set()


def test_the_admin_and_the_duty_map_permissions_read_the_same_rules(departments):
    people = [
        UserFactory(is_superuser=True, is_staff=True),
        member(departments["office"], Membership.Role.COMMITTEE, is_staff=True),
        member(departments["housing"], Membership.Role.COMMITTEE, is_staff=True),
        member(departments["emergency"], Membership.Role.HEAD, is_staff=True),
        member(departments["housing"], Membership.Role.STAFF, is_staff=True),
        member(departments["housing"], Membership.Role.STAFF),
        UserFactory(is_staff=True),
        member(departments["office"], Membership.Role.COMMITTEE, is_active=False),
    ]
    for user in people:
        request = RequestFactory().get("/admin/")
        request.user = user
        access = admin_access(request)
        roles = selectors.department_roles_of(user)
        assert (
            access.committee_office
            == roles.committee_office
            == permissions.is_committee_office(user)
        )
        assert access.headed_department_ids == roles.headed_department_ids
        assert access.manages_organisations == permissions.can_change_duty_map(user)
        assert access.heads_departments == permissions.is_department_head(user)


def test_reading_the_report_permission_costs_one_query(departments, django_assert_num_queries):
    clerk = member(departments["housing"], Membership.Role.STAFF, is_staff=True)
    not_staff = member(departments["housing"], Membership.Role.STAFF)
    superuser = UserFactory(is_superuser=True)
    with django_assert_num_queries(1):
        assert permissions.can_view_admin_reports(clerk)
    with django_assert_num_queries(1):
        assert not permissions.can_view_admin_reports(not_staff)
    with django_assert_num_queries(0):
        assert permissions.can_view_admin_reports(superuser)


def test_memberships_are_read_once_per_user_object_and_forgotten_on_request(
    departments, django_assert_num_queries
):
    user = member(departments["emergency"], "staff")
    fresh = type(user).objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert selectors.department_ids_of(fresh) == {departments["emergency"].pk}
        assert selectors.enterprise_ids_of(fresh) == set()
        assert selectors.department_roles_of(fresh).department_member
    MembershipFactory(user=fresh, department=departments["housing"], role="head")
    assert selectors.department_ids_of(fresh) == {departments["emergency"].pk}  # cached
    selectors.forget_memberships(fresh)
    assert selectors.department_ids_of(fresh) == {
        departments["emergency"].pk,
        departments["housing"].pk,
    }
    assert selectors.department_roles_of(fresh).headed_department_ids == {departments["housing"].pk}
    assert selectors.memberships_of(AnonymousUser()) == ()


def test_regions_below_walks_the_whole_tree_in_one_query(django_assert_num_queries):
    from tests.factories import township

    c = city()
    yd = county(parent=c)
    other = county(code="141021", name="曲沃县", parent=c)
    town = township(parent=yd)
    with django_assert_num_queries(1):
        below_city = selectors.regions_below({c.pk})
    assert below_city >= {c.pk, yd.pk, other.pk, town.pk}
    assert selectors.regions_below({yd.pk}) == {yd.pk, town.pk}
    assert selectors.regions_below({other.pk, town.pk}) == {other.pk, town.pk}
    with django_assert_num_queries(0):
        assert selectors.regions_below(set()) == set()
