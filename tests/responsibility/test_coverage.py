"""The coverage report: blind spots and lead overlaps of the duty map, its command and admin page."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Enterprise, Membership
from tests.factories import (
    DepartmentFactory,
    DutyFactory,
    EnterpriseFactory,
    MembershipFactory,
    UserFactory,
    city,
    county,
    industry,
    kind,
    link_industries,
    township,
)
from workflows.responsibility.coverage import (
    COLUMNS,
    DEPARTMENT_WITHOUT_STAFF,
    ENTERPRISE_LEAD_DEPARTMENT_MISSING,
    ENTERPRISE_WITHOUT_INDUSTRY,
    ENTERPRISE_WITHOUT_PRINCIPAL,
    INDUSTRY_WITHOUT_LEAD,
    _leads_by_industry,
    coverage_csv,
    coverage_report,
    coverage_rows,
)
from workflows.responsibility.models import Duty, Industry
from workflows.responsibility.selectors import duties_for_industry, duties_valid_on

ON = date(2025, 3, 1)

pytestmark = pytest.mark.django_db


def spots(report, spot_type, **match):
    return [
        s
        for s in report["blind_spots"]
        if s["type"] == spot_type and all(s.get(k) == v for k, v in match.items())
    ]


@pytest.fixture
def places():
    c = city()
    k = county(parent=c)
    return SimpleNamespace(city=c, county=k, township=township(parent=k))


def department(code, region):
    return DepartmentFactory(kind=kind(code), region=region)


def staffed(dept, *, active=True, role=Membership.Role.STAFF):
    MembershipFactory(user=UserFactory(is_active=active), department=dept, role=role)
    return dept


def enterprise(places, *codes, **kwargs):
    kwargs.setdefault("region", places.township)
    e = EnterpriseFactory(**kwargs)
    link_industries(e, *codes)
    return e


# --- industries without a lead ------------------------------------------------------------------


def test_an_industry_without_any_lead_duty_is_a_blind_spot_for_both_grades():
    report = coverage_report(on=ON)
    found = spots(report, INDUSTRY_WITHOUT_LEAD, industry="coal")
    assert [s["grade"] for s in found] == ["general", "major"]
    assert all(s["detail"] for s in found)
    assert set(found[0]) == {"type", "industry", "grade", "detail"}


def test_an_industry_with_a_lead_duty_valid_on_the_day_is_covered():
    DutyFactory(industry=industry("coal"), department_kind=kind("energy"))
    assert not spots(coverage_report(on=ON), INDUSTRY_WITHOUT_LEAD, industry="coal")


def test_a_cooperating_duty_alone_does_not_cover_an_industry():
    DutyFactory(industry=industry("coal"), role=Duty.Role.COOPERATING)
    assert len(spots(coverage_report(on=ON), INDUSTRY_WITHOUT_LEAD, industry="coal")) == 2


def test_a_lead_duty_that_expired_yesterday_leaves_a_blind_spot():
    DutyFactory(industry=industry("coal"), valid_to=ON - timedelta(days=1))
    assert len(spots(coverage_report(on=ON), INDUSTRY_WITHOUT_LEAD, industry="coal")) == 2


def test_a_lead_duty_ending_today_still_covers_today():
    DutyFactory(industry=industry("coal"), valid_to=ON)
    assert not spots(coverage_report(on=ON), INDUSTRY_WITHOUT_LEAD, industry="coal")


def test_a_lead_duty_starting_tomorrow_does_not_cover_today():
    DutyFactory(industry=industry("coal"), valid_from=ON + timedelta(days=1))
    assert spots(coverage_report(on=ON), INDUSTRY_WITHOUT_LEAD, industry="coal")
    assert not spots(
        coverage_report(on=ON + timedelta(days=1)), INDUSTRY_WITHOUT_LEAD, industry="coal"
    )


def test_an_industry_inherits_the_lead_of_its_nearest_ancestor():
    DutyFactory(industry=industry("hazchem"))
    DutyFactory(industry=industry("industry_trade"))
    report = coverage_report(on=ON)
    for code in ("hazchem", "coking", "industry_trade", "metallurgy", "commerce_trade"):
        assert not spots(report, INDUSTRY_WITHOUT_LEAD, industry=code), code


def test_a_parent_without_lead_is_a_blind_spot_even_if_its_children_have_one():
    DutyFactory(industry=industry("energy_storage"))
    report = coverage_report(on=ON)
    assert not spots(report, INDUSTRY_WITHOUT_LEAD, industry="energy_storage")
    assert spots(report, INDUSTRY_WITHOUT_LEAD, industry="emerging")
    assert spots(report, INDUSTRY_WITHOUT_LEAD, industry="script_entertainment")


def test_the_report_on_a_past_day_uses_the_duties_valid_then():
    DutyFactory(industry=industry("coal"), valid_from=date(2024, 1, 1))
    past = coverage_report(on=date(2023, 12, 31))
    assert past["on"] == "2023-12-31"
    assert spots(past, INDUSTRY_WITHOUT_LEAD, industry="coal")
    assert not spots(coverage_report(on=date(2024, 1, 1)), INDUSTRY_WITHOUT_LEAD, industry="coal")


def test_lead_resolution_agrees_with_the_chain_selector_for_every_industry():
    DutyFactory(industry=industry("hazchem"))
    DutyFactory(industry=industry("coking"), department_kind=kind("industry_it"))
    DutyFactory(industry=industry("industry_trade"), valid_to=ON - timedelta(days=1))
    DutyFactory(industry=industry("metallurgy"), valid_from=ON - timedelta(days=1))
    DutyFactory(industry=industry("emerging"))
    nodes = {i.pk: SimpleNamespace(id=i.pk, parent_id=i.parent_id) for i in Industry.objects.all()}
    leads = _leads_by_industry(nodes, duties_valid_on(ON).filter(role=Duty.Role.LEAD))
    for node in Industry.objects.all():
        _found_on, rows = duties_for_industry(node, on=ON, role=Duty.Role.LEAD)
        assert [d.pk for d in leads[node.pk]] == [d.pk for d in rows], node.code


# --- enterprises whose lead department does not exist --------------------------------------------


@pytest.fixture
def hazchem_lead():
    """Lead: emergency management, county level for general hazards, city level for major ones."""
    return DutyFactory(
        industry=industry("hazchem"),
        department_kind=kind("emergency"),
        general_level="county",
        major_level="city",
    )


def test_no_blind_spot_when_the_county_and_city_departments_exist(places, hazchem_lead):
    department("emergency", places.county)
    department("emergency", places.city)
    enterprise(places, "coking")
    assert not spots(coverage_report(on=ON), ENTERPRISE_LEAD_DEPARTMENT_MISSING)


def test_a_missing_county_department_falls_back_to_the_city(places, hazchem_lead):
    department("emergency", places.city)
    enterprise(places, "hazchem")
    assert not spots(coverage_report(on=ON), ENTERPRISE_LEAD_DEPARTMENT_MISSING)


def test_both_county_and_city_departments_missing_is_a_blind_spot_per_grade(places, hazchem_lead):
    e = enterprise(places, "coking")
    found = spots(coverage_report(on=ON), ENTERPRISE_LEAD_DEPARTMENT_MISSING, enterprise=e.uscc)
    assert [(s["industry"], s["grade"]) for s in found] == [
        ("coking", "general"),
        ("coking", "major"),
    ]
    assert set(found[0]) == {"type", "industry", "enterprise", "grade", "detail"}


def test_a_city_level_duty_needs_the_city_department(places, hazchem_lead):
    department("emergency", places.county)
    e = enterprise(places, "hazchem")
    found = spots(coverage_report(on=ON), ENTERPRISE_LEAD_DEPARTMENT_MISSING, enterprise=e.uscc)
    assert [s["grade"] for s in found] == ["major"]


def test_a_department_in_another_county_does_not_count(places, hazchem_lead):
    other = county("141021", "曲沃县", parent=places.city)
    department("emergency", other)
    e = enterprise(places, "hazchem", region=places.county)
    assert (
        len(spots(coverage_report(on=ON), ENTERPRISE_LEAD_DEPARTMENT_MISSING, enterprise=e.uscc))
        == 2
    )


def test_every_industry_of_an_enterprise_is_checked(places, hazchem_lead):
    department("emergency", places.county)
    department("emergency", places.city)
    DutyFactory(industry=industry("urban_gas"), department_kind=kind("housing"))
    e = enterprise(places, "hazchem", "urban_gas")
    found = spots(coverage_report(on=ON), ENTERPRISE_LEAD_DEPARTMENT_MISSING, enterprise=e.uscc)
    assert {s["industry"] for s in found} == {"urban_gas"}


def test_an_industry_without_lead_is_reported_once_not_per_enterprise(places):
    enterprise(places, "coal")
    enterprise(places, "coal")
    report = coverage_report(on=ON)
    assert not spots(report, ENTERPRISE_LEAD_DEPARTMENT_MISSING)
    assert len(spots(report, INDUSTRY_WITHOUT_LEAD, industry="coal")) == 2


def test_closed_enterprises_are_left_out(places, hazchem_lead):
    e = enterprise(places, "hazchem", principal=None, status=Enterprise.Status.CLOSED)
    report = coverage_report(on=ON)
    assert not [s for s in report["blind_spots"] if s.get("enterprise") == e.uscc]


def test_suspended_enterprises_are_still_checked(places, hazchem_lead):
    e = enterprise(places, "hazchem", status=Enterprise.Status.SUSPENDED)
    assert spots(coverage_report(on=ON), ENTERPRISE_LEAD_DEPARTMENT_MISSING, enterprise=e.uscc)


# --- enterprises without principal or industry ---------------------------------------------------


def test_an_enterprise_without_principal_is_a_blind_spot(places):
    e = enterprise(places, "coal", principal=None)
    found = spots(coverage_report(on=ON), ENTERPRISE_WITHOUT_PRINCIPAL, enterprise=e.uscc)
    assert len(found) == 1
    assert set(found[0]) == {"type", "enterprise", "detail"}


def test_an_inactive_principal_counts_as_no_principal(places):
    e = enterprise(places, "coal", principal=UserFactory(is_active=False))
    assert spots(coverage_report(on=ON), ENTERPRISE_WITHOUT_PRINCIPAL, enterprise=e.uscc)


def test_an_enterprise_with_an_active_principal_is_not_reported(places):
    e = enterprise(places, "coal")
    assert not spots(coverage_report(on=ON), ENTERPRISE_WITHOUT_PRINCIPAL, enterprise=e.uscc)


def test_an_enterprise_without_industry_is_a_blind_spot(places):
    bare = enterprise(places)
    linked = enterprise(places, "coal")
    report = coverage_report(on=ON)
    assert spots(report, ENTERPRISE_WITHOUT_INDUSTRY, enterprise=bare.uscc)
    assert not spots(report, ENTERPRISE_WITHOUT_INDUSTRY, enterprise=linked.uscc)


# --- departments without staff -------------------------------------------------------------------


def test_a_department_without_members_is_a_blind_spot(places):
    dept = department("emergency", places.county)
    found = spots(coverage_report(on=ON), DEPARTMENT_WITHOUT_STAFF, department=dept.code)
    assert len(found) == 1
    assert set(found[0]) == {"type", "department", "detail"}


@pytest.mark.parametrize("role", [Membership.Role.STAFF, Membership.Role.HEAD])
def test_a_department_with_an_active_member_is_staffed(places, role):
    dept = staffed(department("emergency", places.county), role=role)
    assert not spots(coverage_report(on=ON), DEPARTMENT_WITHOUT_STAFF, department=dept.code)


def test_a_department_whose_only_member_is_inactive_has_no_staff(places):
    dept = staffed(department("emergency", places.county), active=False)
    assert spots(coverage_report(on=ON), DEPARTMENT_WITHOUT_STAFF, department=dept.code)


# --- overlaps -------------------------------------------------------------------------------------


def test_two_lead_duties_at_the_same_level_on_the_same_day_overlap():
    a = DutyFactory(industry=industry("coal"), department_kind=kind("energy"))
    b = DutyFactory(industry=industry("coal"), department_kind=kind("mine_safety"))
    report = coverage_report(on=ON)
    assert [o["level"] for o in report["overlaps"]] == ["county", "city"]
    for overlap in report["overlaps"]:
        assert overlap == {
            "industry": "coal",
            "level": overlap["level"],
            "kinds": ["energy", "mine_safety"],
            "duty_ids": sorted([a.pk, b.pk]),
        }


def test_partially_overlapping_validity_overlaps_only_on_the_common_days():
    DutyFactory(industry=industry("coal"), valid_from=date(2024, 1, 1), valid_to=date(2024, 6, 30))
    DutyFactory(industry=industry("coal"), valid_from=date(2024, 6, 1), general_level="city")
    assert [o["level"] for o in coverage_report(on=date(2024, 6, 15))["overlaps"]] == ["city"]
    assert coverage_report(on=date(2024, 5, 31))["overlaps"] == []
    assert coverage_report(on=date(2024, 7, 1))["overlaps"] == []


def test_lead_duties_with_disjoint_validity_do_not_overlap():
    DutyFactory(industry=industry("coal"), valid_to=ON - timedelta(days=1))
    DutyFactory(industry=industry("coal"), valid_from=ON)
    assert coverage_report(on=ON)["overlaps"] == []
    assert coverage_report(on=ON - timedelta(days=1))["overlaps"] == []


def test_lead_duties_at_different_levels_do_not_overlap():
    DutyFactory(industry=industry("coal"), general_level="county", major_level="city")
    DutyFactory(industry=industry("coal"), general_level="city", major_level="county")
    assert coverage_report(on=ON)["overlaps"] == []


def test_a_lead_and_a_cooperating_duty_do_not_overlap():
    DutyFactory(industry=industry("coal"))
    DutyFactory(industry=industry("coal"), role=Duty.Role.COOPERATING)
    assert coverage_report(on=ON)["overlaps"] == []


# --- JSON and CSV ---------------------------------------------------------------------------------


@pytest.fixture
def mixed(places, hazchem_lead):
    """One blind spot of every type and one overlap."""
    enterprise(places, "hazchem", principal=None)
    enterprise(places)
    department("fire", places.county)
    DutyFactory(industry=industry("coal"))
    DutyFactory(industry=industry("coal"), department_kind=kind("energy"))


def test_the_report_has_exactly_the_json_shape(mixed):
    report = json.loads(json.dumps(coverage_report(on=ON), ensure_ascii=False))
    assert set(report) == {"on", "blind_spots", "overlaps"}
    assert report["on"] == "2025-03-01"
    allowed = {"type", "industry", "enterprise", "department", "grade", "detail"}
    assert {s["type"] for s in report["blind_spots"]} == {
        INDUSTRY_WITHOUT_LEAD,
        ENTERPRISE_LEAD_DEPARTMENT_MISSING,
        ENTERPRISE_WITHOUT_INDUSTRY,
        ENTERPRISE_WITHOUT_PRINCIPAL,
        DEPARTMENT_WITHOUT_STAFF,
    }
    for spot in report["blind_spots"]:
        assert set(spot) <= allowed
        assert isinstance(spot["detail"], str)
        assert spot["detail"]
    for overlap in report["overlaps"]:
        assert set(overlap) == {"industry", "level", "kinds", "duty_ids"}
        assert overlap["duty_ids"] == sorted(overlap["duty_ids"])
        assert all(isinstance(i, int) for i in overlap["duty_ids"])


def test_blind_spots_are_grouped_by_type_in_a_stable_order(mixed):
    types = [s["type"] for s in coverage_report(on=ON)["blind_spots"]]
    assert types == sorted(
        types,
        key=[
            INDUSTRY_WITHOUT_LEAD,
            ENTERPRISE_LEAD_DEPARTMENT_MISSING,
            ENTERPRISE_WITHOUT_INDUSTRY,
            ENTERPRISE_WITHOUT_PRINCIPAL,
            DEPARTMENT_WITHOUT_STAFF,
        ].index,
    )


def parse_csv(text):
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_csv_has_a_bom_a_header_and_one_row_per_finding(mixed):
    report = coverage_report(on=ON)
    rows = parse_csv(coverage_csv(report))
    assert len(rows[0]) == len(COLUMNS) == 6
    body = rows[1:]
    assert len(body) == len(report["blind_spots"]) + len(report["overlaps"])
    assert [r[0] for r in body[: len(report["blind_spots"])]] == [
        s["type"] for s in report["blind_spots"]
    ]
    overlap_rows = [r for r in body if r[0] == "overlap"]
    assert len(overlap_rows) == len(report["overlaps"]) == 2  # county (general), city (major)
    assert {r[1] for r in overlap_rows} == {"coal"}
    assert all(str(pk) in overlap_rows[0][5] for pk in report["overlaps"][0]["duty_ids"])


def test_flat_rows_carry_the_codes_of_each_blind_spot(mixed, places):
    report = coverage_report(on=ON)
    missing = next(
        r for r in coverage_rows(report) if r["type"] == ENTERPRISE_LEAD_DEPARTMENT_MISSING
    )
    assert missing["industry"] == "hazchem"
    assert len(missing["enterprise"]) == 18
    assert missing["department"] == ""
    assert missing["grade"] in {"general", "major"}
    assert list(missing) == list(COLUMNS)


# --- the command ---------------------------------------------------------------------------------


def run(*args):
    out = io.StringIO()
    call_command("coverage", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_json_by_default(mixed):
    report = json.loads(run("--on", "2025-03-01"))
    assert report == json.loads(json.dumps(coverage_report(on=ON)))


def test_the_command_defaults_to_today(mixed):
    from django.utils import timezone

    assert json.loads(run())["on"] == timezone.localdate().isoformat()


def test_the_command_prints_csv(mixed):
    text = run("--format", "csv", "--on", "2025-03-01")
    assert parse_csv(text)[1:] == parse_csv(coverage_csv(coverage_report(on=ON)))[1:]


def test_the_command_writes_a_file(mixed, tmp_path):
    target = tmp_path / "coverage.csv"
    assert run("--format", "csv", "--on", "2025-03-01", "--output", str(target)) == ""
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    assert b"\r\r\n" not in raw
    json_target = tmp_path / "coverage.json"
    run("--on", "2025-03-01", "--output", str(json_target))
    assert json.loads(json_target.read_text(encoding="utf-8"))["on"] == "2025-03-01"


@pytest.mark.parametrize("bad", ["2025-02-30", "yesterday", "01/03/2025"])
def test_the_command_refuses_a_bad_date(bad):
    with pytest.raises(CommandError):
        run("--on", bad)


def test_blind_spots_alone_do_not_fail_the_command(mixed):
    assert json.loads(run("--on", "2025-03-01"))["blind_spots"]


def test_fail_on_blind_spots_exits_non_zero_after_writing_the_report(mixed, tmp_path):
    target = tmp_path / "coverage.json"
    with pytest.raises(CommandError) as excinfo:
        run("--on", "2025-03-01", "--fail-on-blind-spots", "--output", str(target))
    assert excinfo.value.returncode == 1
    assert json.loads(target.read_text(encoding="utf-8"))["blind_spots"]


def test_fail_on_blind_spots_succeeds_when_the_map_is_complete():
    for root in Industry.objects.filter(parent=None):
        DutyFactory(industry=root)
    report = json.loads(run("--on", "2025-03-01", "--fail-on-blind-spots"))
    assert report["blind_spots"] == []


# --- scale ----------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_enterprises(places, hazchem_lead):
    department("emergency", places.county)
    DutyFactory(industry=industry("urban_gas"), department_kind=kind("housing"))

    def add(n, start):
        for i in range(start, start + n):
            codes = [("hazchem",), ("coking", "urban_gas"), ("coal",), ()][i % 4]
            e = enterprise(
                places,
                *codes,
                principal=None if i % 5 == 0 else UserFactory(),
                region=places.township if i % 2 else places.county,
            )
            assert e.pk

    def count():
        with CaptureQueriesContext(connection) as ctx:
            report = coverage_report(on=ON)
        return len(ctx.captured_queries), report

    add(10, 0)
    small, small_report = count()
    add(190, 10)
    large, large_report = count()
    assert small == large
    assert small <= 8
    assert len(spots(large_report, ENTERPRISE_WITHOUT_PRINCIPAL)) == 40
    assert len(spots(large_report, ENTERPRISE_LEAD_DEPARTMENT_MISSING)) > len(
        spots(small_report, ENTERPRISE_LEAD_DEPARTMENT_MISSING)
    )


# --- admin page and downloads ---------------------------------------------------------------------


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def page_url(**query):
    url = reverse("admin:responsibility_duty_coverage")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def download_url(fmt, on="2025-03-01"):
    return reverse("admin:responsibility_duty_coverage_download", kwargs={"fmt": fmt}) + f"?on={on}"


def test_a_superuser_sees_the_report_grouped_by_type(client, admin_user, mixed):
    client.force_login(admin_user)
    response = client.get(page_url(on="2025-03-01"))
    assert response.status_code == 200
    body = response.content.decode()
    report = coverage_report(on=ON)
    for spot_type in (
        INDUSTRY_WITHOUT_LEAD,
        ENTERPRISE_WITHOUT_PRINCIPAL,
        DEPARTMENT_WITHOUT_STAFF,
    ):
        assert f'id="coverage-{spot_type}"' in body
        assert f"({len(spots(report, spot_type))})" in body
    assert 'id="coverage-overlap"' in body
    missing = spots(report, ENTERPRISE_WITHOUT_PRINCIPAL)[0]["enterprise"]
    assert missing in body
    assert download_url("json") in body.replace("&amp;", "&")
    assert download_url("csv") in body.replace("&amp;", "&")


def test_the_page_links_to_the_admin_change_pages(client, admin_user, mixed):
    client.force_login(admin_user)
    body = client.get(page_url(on="2025-03-01")).content.decode()
    e = Enterprise.objects.get(principal=None)
    for name, pk in (
        ("admin:accounts_enterprise_change", e.pk),
        ("admin:responsibility_industry_change", industry("coal").pk),
    ):
        assert reverse(name, args=[pk]) in body


def test_the_page_defaults_to_today(client, admin_user):
    from django.utils import timezone

    client.force_login(admin_user)
    response = client.get(page_url())
    assert response.status_code == 200
    assert response.context["on"] == timezone.localdate().isoformat()


def test_a_bad_date_on_the_page_is_a_message_not_an_error(client, admin_user):
    from django.utils import timezone

    client.force_login(admin_user)
    response = client.get(page_url(on="2025-13-40"))
    assert response.status_code == 200
    assert response.context["on"] == timezone.localdate().isoformat()
    assert len(list(response.context["messages"])) == 1


def test_the_json_download_is_an_attachment(client, admin_user, mixed):
    client.force_login(admin_user)
    response = client.get(download_url("json"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="coverage-2025-03-01.json"'
    assert json.loads(response.content.decode("utf-8")) == json.loads(
        json.dumps(coverage_report(on=ON))
    )


def test_the_csv_download_is_an_attachment_with_a_bom(client, admin_user, mixed):
    client.force_login(admin_user)
    response = client.get(download_url("csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="coverage-2025-03-01.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = parse_csv(response.content.decode("utf-8"))
    assert any(r[0] == "overlap" for r in rows)


def test_a_download_with_a_bad_date_goes_back_to_the_page(client, admin_user):
    client.force_login(admin_user)
    response = client.get(download_url("csv", on="nope"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:responsibility_duty_coverage")


def test_an_outsider_is_sent_to_the_admin_login(client, user):
    client.force_login(user)
    for url in (page_url(), download_url("json")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_department_staff_may_read_the_report(client, places):
    member = UserFactory(is_staff=True)
    staffed_dept = department("emergency", places.county)
    MembershipFactory(user=member, department=staffed_dept, role=Membership.Role.STAFF)
    client.force_login(member)
    assert client.get(page_url()).status_code == 200
    assert client.get(download_url("csv")).status_code == 200


def test_committee_office_staff_may_read_the_report(client, places):
    member = UserFactory(is_staff=True)
    office = department("committee_office", places.city)
    MembershipFactory(user=member, department=office, role=Membership.Role.COMMITTEE)
    client.force_login(member)
    assert client.get(page_url()).status_code == 200


def test_staff_without_a_department_may_not_read_the_report(client, places):
    member = UserFactory(is_staff=True)
    MembershipFactory(
        user=member, enterprise=enterprise(places), role=Membership.Role.SAFETY_MANAGER
    )
    client.force_login(member)
    assert client.get(page_url()).status_code == 403
    assert client.get(download_url("json")).status_code == 403


def test_an_unknown_download_format_is_not_found(client, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:responsibility_duty_coverage_download", kwargs={"fmt": "xlsx"})
    assert client.get(url).status_code == 404
