"""Import from Excel (issue 3 §4): the importer, ``manage.py import_orgs`` and the admin page."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from datetime import date
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import Department, DepartmentKind, Enterprise, Membership, Region, User
from accounts.uscc import ALPHABET
from tests.factories import (
    DepartmentFactory,
    DutyFactory,
    EnterpriseFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
    county,
    industry,
    kind,
    link_industries,
    make_uscc,
)
from tests.responsibility import workbooks as wb
from workflows.responsibility.importer import (
    HELP_SHEET,
    SHEETS,
    WorkbookError,
    build_template,
    workbook_import,
)
from workflows.responsibility.models import Duty, EnterpriseIndustry, Industry, Post

pytestmark = pytest.mark.django_db

MODELS = (Region, DepartmentKind, Department, Industry, Duty, Enterprise, EnterpriseIndustry)
MODELS += (User, Membership, Post)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every column of every row the importer may touch."""
    return {
        model.__name__: sorted(
            tuple(str(v) for v in row)
            for row in model.objects.values_list(*[f.attname for f in model._meta.concrete_fields])
        )
        for model in MODELS
    }


def found(result: Any) -> set[tuple[str, int, str, str]]:
    return {(e.sheet, e.row, e.column, e.code) for e in result.errors}


def import_city(**kwargs: Any) -> Any:
    result = workbook_import(source=wb.xlsx(wb.city()), **kwargs)
    assert result.errors == []
    return result


# --- A whole city from one workbook ---------------------------------------------------------


def test_a_whole_city_is_imported_from_one_workbook():
    result = import_city()

    assert result.written
    assert {sheet: c["created"] for sheet, c in result.counts.items()} == {
        "regions": 5,
        "department_kinds": 1,
        "departments": 7,
        "industries": 3,
        "duties": 5,
        "enterprises": 3,
        "people": 6,
        "posts": 3,
    }
    township = Region.objects.get(code="141002001")
    assert [r.code for r in township.ancestors()] == ["141002001", "141002", "141000"]
    assert Region.objects.get(code="141000").parent is None
    urban = Department.objects.get(code="141002-urban_management")
    assert (urban.kind.code, urban.kind.name, urban.region.code) == (
        "urban_management",
        "城市管理",
        "141002",
    )
    assert Industry.objects.get(code="outdoor_sports").parent.code == "leisure"
    assert Industry.objects.get(code="hydrogen").parent.code == "emerging"

    cooperating = Duty.objects.filter(industry__code="hazchem", role="cooperating")
    assert [(d.department_kind.code, d.position) for d in cooperating.order_by("position")] == [
        ("fire", 0),
        ("market", 1),
    ]
    lead = Duty.objects.get(industry__code="hazchem", role="lead")
    assert (lead.general_level, lead.major_level, lead.valid_from, lead.valid_to) == (
        "county",
        "city",
        date(2024, 1, 1),
        None,
    )
    assert lead.decision == "临安委〔2024〕5号"
    ended = Duty.objects.get(industry__code="leisure", department_kind__code="urban_management")
    assert ended.valid_to == date(2024, 12, 31)

    a = Enterprise.objects.get(uscc=wb.USCC_A)
    assert (a.region.code, a.principal.username, a.address) == (
        "141002001",
        "li.si",
        "尧都区解放路1号",
    )
    assert [link.industry.code for link in a.industry_links.order_by("position")] == [
        "coking",
        "hazchem",
    ]
    b = Enterprise.objects.get(uscc=wb.USCC_B)  # typed in lower case, stored normalised
    assert b.principal.username == "zhou.qi"
    c = Enterprise.objects.get(uscc=wb.USCC_C)
    assert c.principal is None
    assert [link.industry.code for link in c.industry_links.order_by("position")] == [
        "construction",
        "special_equipment",
    ]

    wu = User.objects.get(username="wu.jiu")
    assert (wu.full_name, wu.mobile) == ("吴九", "13800000004")
    assert not wu.has_usable_password()
    assert sorted(wu.memberships.values_list("department__code", "role")) == [
        ("141002-committee_office", "committee"),
        ("141002-emergency", "head"),
    ]
    assert User.objects.get(username="zhou.qi").mobile == "13800000002"  # typed as a number
    assert Membership.objects.get(user__username="chen.ba").enterprise == a

    posts = {p.code: p for p in Post.objects.filter(enterprise=a)}
    assert posts["P01"].reports_to is None
    assert posts["P02"].reports_to == posts["P01"]
    assert posts["P03"].reports_to == posts["P02"]
    assert posts["P02"].holder.username == "chen.ba"
    assert posts["P03"].holder is None
    assert posts["P01"].duties == "全面负责本单位安全生产工作。"


def test_chinese_sheet_names_headers_and_values_are_accepted():
    data = wb.city()
    data["regions"][1]["level"] = "市"
    data["regions"][2]["level"] = "县"
    data["regions"][0]["level"] = "乡镇"
    data["duties"][0].update(role="牵头", general_level="县级", major_level="市级")
    data["people"][3]["role"] = "部门负责人"
    data["duties"][1]["valid_from"] = "2024/01/01"
    data["duties"][2]["valid_from"] = "2024年1月1日"

    result = workbook_import(source=wb.xlsx(data, chinese=True))

    assert result.errors == []
    assert result.counts["enterprises"]["created"] == 3
    assert Region.objects.get(code="141000").level == "city"
    assert Region.objects.get(code="141002001").level == "township"
    lead = Duty.objects.get(industry__code="hazchem", role="lead")
    assert (lead.general_level, lead.major_level) == ("county", "city")
    assert Membership.objects.filter(user__username="wu.jiu", role="head").exists()
    assert Duty.objects.filter(valid_from=date(2024, 1, 1)).count() == 3


def test_the_help_sheet_and_unknown_sheets_are_ignored():
    data = wb.xlsx(
        {"industries": [{"code": "hydrogen", "name": "氢能", "parent_code": "emerging"}]},
        extra_sheets={HELP_SHEET: [["说明"], ["随便写"]], "Notes": [["code"], ["x"]]},
    )

    result = workbook_import(source=data)

    assert result.errors == []
    assert result.ignored_sheets == [HELP_SHEET, "Notes"]
    assert list(result.counts) == ["industries"]
    assert Industry.objects.filter(code="hydrogen").exists()


def test_a_dry_run_writes_nothing_but_predicts_the_counts():
    before = snapshot()

    dry = workbook_import(source=wb.xlsx(wb.city()), dry_run=True)

    assert dry.errors == []
    assert dry.dry_run
    assert not dry.written
    assert snapshot() == before
    real = import_city()
    assert real.counts == dry.counts


def test_reimporting_the_same_file_changes_nothing():
    data = wb.xlsx(wb.city())
    workbook_import(source=data)
    before = snapshot()

    with CaptureQueriesContext(connection) as queries:
        result = workbook_import(source=data)

    assert result.errors == []
    assert all(c["created"] == c["updated"] == 0 for c in result.counts.values())
    assert sum(c["unchanged"] for c in result.counts.values()) == 33
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert snapshot() == before


def test_the_same_file_with_chinese_headers_is_also_unchanged():
    import_city()
    before = snapshot()

    result = workbook_import(source=wb.xlsx(wb.city(), chinese=True))

    assert result.errors == []
    assert all(c["created"] == c["updated"] == 0 for c in result.counts.values())
    assert snapshot() == before


def test_changed_rows_are_updated_and_counted():
    import_city()
    data = wb.city()
    data["regions"][0]["name"] = "解放路街道办"
    data["enterprises"][0].update(name="临汾甲化工股份有限公司", industry_codes="hazchem")
    data["enterprises"][1]["industry_codes"] = "outdoor_sports,hydrogen"  # only the list changes
    data["people"][0]["mobile"] = "13900000009"
    data["posts"][0].update(reports_to_code="P01", holder_username="zheng.shi")
    data["departments"][6]["region_code"] = "141081"

    result = workbook_import(source=wb.xlsx(data))

    assert result.errors == []
    assert result.counts["regions"] == {"created": 0, "updated": 1, "unchanged": 4}
    assert result.counts["enterprises"] == {"created": 0, "updated": 2, "unchanged": 1}
    assert result.counts["people"] == {"created": 0, "updated": 1, "unchanged": 5}
    assert result.counts["posts"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert result.counts["departments"] == {"created": 0, "updated": 1, "unchanged": 6}
    a = Enterprise.objects.get(uscc=wb.USCC_A)
    assert a.name == "临汾甲化工股份有限公司"
    assert list(a.industry_links.values_list("industry__code", "position")) == [("hazchem", 0)]
    b = Enterprise.objects.get(uscc=wb.USCC_B)
    assert list(b.industry_links.order_by("position").values_list("industry__code")) == [
        ("outdoor_sports",),
        ("hydrogen",),
    ]
    assert User.objects.get(username="li.si").mobile == "13900000009"
    p03 = Post.objects.get(enterprise=a, code="P03")
    assert (p03.reports_to.code, p03.holder.username) == ("P01", "zheng.shi")
    assert Department.objects.get(code="141002-urban_management").region.code == "141081"
    assert Region.objects.get(code="141002001").name == "解放路街道办"


def test_memberships_not_in_the_file_are_kept():
    import_city()
    other = DepartmentFactory(region=Region.objects.get(code="141081"), kind=kind("housing"))
    MembershipFactory(user=User.objects.get(username="li.si"), department=other, role="staff")
    data = wb.city()

    result = workbook_import(source=wb.xlsx(data))

    assert result.errors == []
    assert set(
        Membership.objects.filter(user__username="li.si").values_list("role", flat=True)
    ) == {"principal", "staff"}


def test_a_left_out_optional_column_keeps_values_and_an_empty_cell_clears_them():
    import_city()
    columns = ["uscc", "name", "region_code", "industry_codes"]  # no address, no principal

    result = workbook_import(
        source=wb.xlsx({"enterprises": wb.city()["enterprises"]}, columns={"enterprises": columns})
    )

    assert result.counts["enterprises"] == {"created": 0, "updated": 0, "unchanged": 3}
    a = Enterprise.objects.get(uscc=wb.USCC_A)
    assert (a.address, a.principal.username) == ("尧都区解放路1号", "li.si")

    data = wb.city()
    data["enterprises"][0].update(address=None, principal_username=None)
    result = workbook_import(source=wb.xlsx({"enterprises": data["enterprises"]}))

    assert result.counts["enterprises"] == {"created": 0, "updated": 1, "unchanged": 2}
    a.refresh_from_db()
    assert (a.address, a.principal) == ("", None)


def test_an_existing_duty_row_may_be_end_dated():
    import_city()
    data = wb.city()
    data["duties"][0]["valid_to"] = "2025-06-30"

    result = workbook_import(source=wb.xlsx(data))

    assert result.errors == []
    assert result.counts["duties"] == {"created": 0, "updated": 1, "unchanged": 4}
    assert Duty.objects.get(industry__code="hazchem", role="lead").valid_to == date(2025, 6, 30)


def test_an_end_dated_duty_frees_the_lead_for_a_new_row_in_the_same_file():
    import_city()
    data = wb.city()
    data["duties"][0]["valid_to"] = "2025-06-30"
    data["duties"].append(
        {
            "industry_code": "hazchem",
            "department_kind": "emergency",
            "role": "lead",
            "general_level": "city",
            "major_level": "city",
            "valid_from": "2025-07-01",
            "decision": "临安委〔2025〕7号",
        }
    )

    result = workbook_import(source=wb.xlsx(data))

    assert result.errors == []
    assert list(
        Duty.objects.filter(industry__code="hazchem", role="lead")
        .order_by("valid_from")
        .values_list("general_level", "valid_to")
    ) == [("county", date(2025, 6, 30)), ("city", None)]


@pytest.mark.parametrize(
    ("change", "column", "code"),
    [
        ({"general_level": "city"}, "general_level", "duty_changed"),
        ({"major_level": "county"}, "major_level", "duty_changed"),
        ({"decision": "临安委〔2099〕1号"}, "decision", "duty_changed"),
    ],
)
def test_an_existing_duty_row_cannot_be_edited(change, column, code):
    import_city()
    before = snapshot()
    data = wb.city()
    data["duties"][0].update(change)

    result = workbook_import(source=wb.xlsx(data))

    assert ("duties", 2, column, code) in found(result)
    assert snapshot() == before


def test_an_ended_duty_row_cannot_be_reopened_or_extended():
    import_city()
    before = snapshot()
    for valid_to in (None, "2025-03-01"):
        data = wb.city()
        data["duties"][3]["valid_to"] = valid_to  # it ends on 2024-12-31

        result = workbook_import(source=wb.xlsx(data))

        assert ("duties", 5, "valid_to", "duty_reopen") in found(result)
    assert snapshot() == before


# --- Every error kind, with its place, and nothing written ---------------------------------


def _set(sheet: str, index: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data[sheet][index].update(values)

    return change


def _add(sheet: str, **values: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data[sheet].append(values)

    return change


def _other_check_character(uscc: str) -> str:
    return uscc[:17] + next(c for c in ALPHABET if c != uscc[17])


ERROR_CASES = {
    "missing required value": (_set("regions", 1, name=""), ("regions", 3, "name", "required")),
    "missing organisation": (
        _set("people", 3, org_code=None),
        ("people", 5, "org_code", "required"),
    ),
    "township without parent": (
        _set("regions", 4, parent_code=None),
        ("regions", 6, "parent_code", "required"),
    ),
    "bad USCC check character": (
        _set("enterprises", 2, uscc=_other_check_character(wb.USCC_C)),
        ("enterprises", 4, "uscc", "uscc_check"),
    ),
    "bad USCC length": (
        _set("enterprises", 2, uscc="91141000MA0"),
        ("enterprises", 4, "uscc", "uscc_length"),
    ),
    "bad USCC alphabet": (
        _set("enterprises", 1, uscc="91141000I" + "0" * 9),
        ("enterprises", 3, "uscc", "uscc_alphabet"),
    ),
    "bad USCC in posts": (
        _set("posts", 1, enterprise_uscc=_other_check_character(wb.USCC_A)),
        ("posts", 3, "enterprise_uscc", "uscc_check"),
    ),
    "unknown parent region": (
        _set("regions", 4, parent_code="141099"),
        ("regions", 6, "parent_code", "unknown_parent"),
    ),
    "unknown parent industry": (
        _set("industries", 2, parent_code="nope"),
        ("industries", 4, "parent_code", "unknown_parent"),
    ),
    "unknown parent post": (
        _set("posts", 0, reports_to_code="P99"),
        ("posts", 2, "reports_to_code", "unknown_parent"),
    ),
    "county under a county": (
        _set("regions", 3, parent_code="141002"),
        ("regions", 5, "parent_code", "level_mismatch"),
    ),
    "city with a parent": (
        _add("regions", code="142000", name="运城市", level="city", parent_code="141000"),
        ("regions", 7, "parent_code", "level_mismatch"),
    ),
    "township code outside its county": (
        _set("regions", 4, code="141081100"),
        ("regions", 6, "code", "township_prefix"),
    ),
    "wrong code length": (_set("regions", 3, code="14108"), ("regions", 5, "code", "code_length")),
    "non-digit code": (_set("regions", 3, code="14108X"), ("regions", 5, "code", "code_length")),
    "region cycle": (
        _set("regions", 1, parent_code="141002"),
        ("regions", 3, "parent_code", "cycle"),
    ),
    "industry cycle in the workbook": (
        _set("industries", 1, parent_code="outdoor_sports"),
        ("industries", 3, "parent_code", "cycle"),
    ),
    "industry cycle through the database": (
        _add("industries", code="industry_trade", name="工贸", parent_code="metallurgy"),
        ("industries", 5, "parent_code", "cycle"),
    ),
    "industry is its own parent": (
        _set("industries", 2, parent_code="hydrogen"),
        ("industries", 4, "parent_code", "cycle"),
    ),
    "post cycle": (
        _set("posts", 1, reports_to_code="P03"),
        ("posts", 3, "reports_to_code", "cycle"),
    ),
    "unknown department kind": (
        _set("departments", 3, kind="nope"),
        ("departments", 5, "kind", "unknown_kind"),
    ),
    "unknown duty department kind": (
        _set("duties", 1, department_kind="nope"),
        ("duties", 3, "department_kind", "unknown_kind"),
    ),
    "unknown department region": (
        _set("departments", 2, region_code="149999"),
        ("departments", 4, "region_code", "unknown_region"),
    ),
    "unknown enterprise region": (
        _set("enterprises", 0, region_code="149999"),
        ("enterprises", 2, "region_code", "unknown_region"),
    ),
    "enterprise in a city": (
        _set("enterprises", 1, region_code="141000"),
        ("enterprises", 3, "region_code", "region_level"),
    ),
    "duplicate region": (
        _add("regions", code="141081", name="侯马", level="county", parent_code="141000"),
        ("regions", 7, "code", "duplicate"),
    ),
    "duplicate USCC (case-insensitive)": (
        _add(
            "enterprises",
            uscc=wb.USCC_A.lower(),
            name="重复",
            region_code="141002",
            industry_codes="coal",
        ),
        ("enterprises", 5, "uscc", "duplicate"),
    ),
    "duplicate department": (
        _add("departments", code="141000-emergency", name="x", kind="fire", region_code="141000"),
        ("departments", 9, "code", "duplicate"),
    ),
    "duplicate duty": (
        _add(
            "duties",
            industry_code="hazchem",
            department_kind="fire",
            role="cooperating",
            general_level="county",
            major_level="county",
            valid_from="2024-01-01",
        ),
        ("duties", 7, "valid_from", "duplicate"),
    ),
    "duplicate post": (
        _add("posts", enterprise_uscc=wb.USCC_A, code="P01", title="副总经理"),
        ("posts", 5, "code", "duplicate"),
    ),
    "duplicate membership": (
        _add(
            "people",
            username="zheng.shi",
            full_name="郑十",
            mobile="13800000005",
            org_code="141002-emergency",
            role="staff",
        ),
        ("people", 8, "org_code", "duplicate"),
    ),
    "duplicate industry in a list": (
        _set("enterprises", 0, industry_codes="hazchem, hazchem"),
        ("enterprises", 2, "industry_codes", "duplicate"),
    ),
    "bad date": (
        _set("duties", 2, valid_from="2024-13-01"),
        ("duties", 4, "valid_from", "bad_date"),
    ),
    "bad last day": (_set("duties", 2, valid_to="soon"), ("duties", 4, "valid_to", "bad_date")),
    "last day before first day": (
        _set("duties", 3, valid_to="2024-01-01"),
        ("duties", 5, "valid_to", "date_order"),
    ),
    "bad duty role": (_set("duties", 0, role="boss"), ("duties", 2, "role", "bad_value")),
    "bad duty level": (
        _set("duties", 0, general_level="province"),
        ("duties", 2, "general_level", "bad_value"),
    ),
    "bad region level": (
        _set("regions", 3, level="province"),
        ("regions", 5, "level", "bad_value"),
    ),
    "bad person role": (_set("people", 5, role="king"), ("people", 7, "role", "bad_value")),
    "overlapping lead duties": (
        _set("duties", 4, valid_from="2024-06-01"),
        ("duties", 6, "valid_from", "lead_overlap"),
    ),
    "unknown industry in a list": (
        _set("enterprises", 2, industry_codes="construction,nope"),
        ("enterprises", 4, "industry_codes", "unknown_industry"),
    ),
    "unknown duty industry": (
        _set("duties", 0, industry_code="nope"),
        ("duties", 2, "industry_code", "unknown_industry"),
    ),
    "unknown principal": (
        _set("enterprises", 2, principal_username="ghost"),
        ("enterprises", 4, "principal_username", "unknown_user"),
    ),
    "unknown post holder": (
        _set("posts", 0, holder_username="ghost"),
        ("posts", 2, "holder_username", "unknown_user"),
    ),
    "enterprise role in a department": (
        _set("people", 5, role="principal"),
        ("people", 7, "role", "role_not_allowed"),
    ),
    "department role in an enterprise": (
        _set("people", 2, role="staff"),
        ("people", 4, "role", "role_not_allowed"),
    ),
    "bad mobile": (_set("people", 0, mobile="12345"), ("people", 2, "mobile", "bad_mobile")),
    "bad username": (
        _set("people", 5, username="bad name!"),
        ("people", 7, "username", "bad_username"),
    ),
    "one person, two names": (
        _set("people", 4, full_name="吴久"),
        ("people", 6, "full_name", "conflict"),
    ),
    "unknown organisation": (
        _set("people", 0, org_code="nowhere"),
        ("people", 2, "org_code", "unknown_org"),
    ),
    "unknown post enterprise": (
        _set("posts", 0, enterprise_uscc=make_uscc(999)),
        ("posts", 2, "enterprise_uscc", "unknown_enterprise"),
    ),
    "two departments of one kind in one region": (
        _add(
            "departments",
            code="141002-emergency-2",
            name="尧都区第二应急管理局",
            kind="emergency",
            region_code="141002",
        ),
        ("departments", 9, "region_code", "department_clash"),
    ),
    "bad kind code": (
        _set("department_kinds", 0, code="urban management"),
        ("department_kinds", 2, "code", "bad_code"),
    ),
    "too long": (_set("enterprises", 0, name="长" * 201), ("enterprises", 2, "name", "too_long")),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_every_bad_row_is_reported_in_place_and_nothing_is_written(case):
    change, expected = ERROR_CASES[case]
    data = wb.city()
    change(data)
    before = row_counts()

    result = workbook_import(source=wb.xlsx(data))

    assert expected in found(result), [str(e) for e in result.errors]
    assert not result.written
    assert row_counts() == before
    error = next(e for e in result.errors if (e.sheet, e.row, e.column, e.code) == expected)
    assert error.message


def test_both_rows_of_a_clash_or_overlap_are_reported():
    data = wb.city()
    ERROR_CASES["overlapping lead duties"][0](data)
    ERROR_CASES["two departments of one kind in one region"][0](data)
    ERROR_CASES["region cycle"][0](data)

    errors = found(workbook_import(source=wb.xlsx(data)))

    assert {
        ("duties", 5, "valid_from", "lead_overlap"),
        ("duties", 6, "valid_from", "lead_overlap"),
    } <= errors
    assert ("departments", 4, "region_code", "department_clash") in errors
    assert ("regions", 4, "parent_code", "cycle") in errors


def test_many_errors_are_all_reported_in_sheet_and_row_order():
    data = wb.city()
    for case in ("bad USCC check character", "bad date", "unknown parent region", "bad mobile"):
        ERROR_CASES[case][0](data)

    result = workbook_import(source=wb.xlsx(data))

    assert [(e.sheet, e.row, e.column) for e in result.errors] == [
        ("regions", 6, "parent_code"),
        ("duties", 4, "valid_from"),
        ("enterprises", 4, "uscc"),
        ("people", 2, "mobile"),
    ]


def test_a_lead_duty_overlapping_a_database_row_is_refused():
    DutyFactory(industry=industry("hazchem"), department_kind=kind("emergency"))
    before = row_counts()
    row = {
        "industry_code": "hazchem",
        "department_kind": "housing",
        "role": "lead",
        "general_level": "county",
        "major_level": "county",
        "valid_from": "2024-06-01",
    }

    result = workbook_import(source=wb.xlsx({"duties": [row]}))

    assert found(result) == {("duties", 2, "valid_from", "lead_overlap")}
    assert row_counts() == before


def test_a_department_clashing_with_a_database_department_is_refused():
    existing = DepartmentFactory(region=county(), kind=kind("emergency"), code="YD-EM")
    row = {"code": "YD-EM-2", "name": "第二", "kind": "emergency", "region_code": "141002"}

    result = workbook_import(source=wb.xlsx({"departments": [row]}))

    assert found(result) == {("departments", 2, "region_code", "department_clash")}
    assert existing.code in result.errors[0].message
    # Moving the existing department elsewhere in the same file frees the slot.
    moved = {"code": "YD-EM", "name": existing.name, "kind": "fire", "region_code": "141002"}
    assert workbook_import(source=wb.xlsx({"departments": [moved, row]})).errors == []


def test_the_level_of_an_existing_region_cannot_change():
    county()
    row = {"code": "141002", "name": "尧都区", "level": "township", "parent_code": "141000"}

    result = workbook_import(source=wb.xlsx({"regions": [row]}))

    assert ("regions", 2, "level", "level_change") in found(result)


def test_a_post_cycle_through_database_posts_is_found():
    enterprise = EnterpriseFactory(uscc=wb.USCC_A)
    top = PostFactory(enterprise=enterprise, code="P01")
    PostFactory(enterprise=enterprise, code="P02", reports_to=top)
    row = {"enterprise_uscc": wb.USCC_A, "code": "P01", "title": "总经理", "reports_to_code": "P02"}

    result = workbook_import(source=wb.xlsx({"posts": [row]}, columns={"posts": list(row)}))

    assert found(result) == {("posts", 2, "reports_to_code", "cycle")}
    top.refresh_from_db()
    assert top.reports_to is None


def test_a_person_may_join_a_database_enterprise_and_posts_may_name_database_people():
    enterprise = EnterpriseFactory(uscc=wb.USCC_B)
    link_industries(enterprise, "coal")
    holder = UserFactory(username="old.hand")
    sheets = {
        "people": [
            {"username": "new.one", "full_name": "新人", "org_code": wb.USCC_B, "role": "employee"}
        ],
        "posts": [
            {
                "enterprise_uscc": wb.USCC_B,
                "code": "X1",
                "title": "班组长",
                "holder_username": "old.hand",
            }
        ],
    }

    result = workbook_import(source=wb.xlsx(sheets))

    assert result.errors == []
    assert Membership.objects.get(user__username="new.one").enterprise == enterprise
    assert Post.objects.get(enterprise=enterprise, code="X1").holder == holder


# --- Headers and files ----------------------------------------------------------------------


def test_header_problems_are_reported_on_row_one():
    data = wb.raw_xlsx(
        {
            "regions": [["code", "name", "name", "colour"], ["141000", "临汾市", "x", "红"]],
            "企业": [["统一社会信用代码", "企业名称"]],
        }
    )

    result = workbook_import(source=data)

    assert {
        ("regions", 1, "name", "duplicate_column"),
        ("regions", 1, "colour", "unknown_column"),
        ("regions", 1, "level", "missing_column"),
        ("enterprises", 1, "region_code", "missing_column"),
        ("enterprises", 1, "industry_codes", "missing_column"),
    } <= found(result)
    assert Region.objects.count() == 0


def test_a_missing_required_column_is_reported_once_not_on_every_row():
    rows = wb.enterprises(50)["enterprises"]
    columns = {"enterprises": ["uscc", "name", "industry_codes"]}

    result = workbook_import(source=wb.xlsx({"enterprises": rows}, columns=columns))

    assert found(result) == {("enterprises", 1, "region_code", "missing_column")}
    assert Enterprise.objects.count() == 0


def test_the_same_sheet_twice_is_an_error():
    data = wb.raw_xlsx({"industries": [["code", "name"]], "行业": [["code", "name"]]})

    assert ("industries", 1, "", "duplicate_sheet") in found(workbook_import(source=data))


def test_a_file_that_is_not_a_workbook_raises_a_workbook_error():
    with pytest.raises(WorkbookError):
        workbook_import(source=b"not a spreadsheet at all")
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hello.txt", "a zip, but no workbook")
    with pytest.raises(WorkbookError):
        workbook_import(source=archive.getvalue())


def test_excel_numbers_and_dates_are_read_as_codes_and_days():
    book = openpyxl.Workbook()
    regions = book.active
    regions.title = "regions"
    regions.append(["code", "name", "level", "parent_code"])
    regions.append([141000, "临汾市", "city", None])
    regions.append([141002.0, "尧都区", "county", 141000])
    duties = book.create_sheet("duties")
    duties.append([c.key for c in SHEETS[4].columns])
    duties.append(["coal", "energy", "lead", "city", "city", date(2024, 1, 1), None, None])
    out = BytesIO()
    book.save(out)

    result = workbook_import(source=out.getvalue())

    assert result.errors == []
    assert Region.objects.get(code="141002").parent.code == "141000"
    assert Duty.objects.get(industry__code="coal").valid_from == date(2024, 1, 1)


# --- The template ---------------------------------------------------------------------------


def test_the_template_has_every_sheet_with_chinese_headers_in_row_one_only():
    book = openpyxl.load_workbook(BytesIO(build_template()))

    assert book.sheetnames == [HELP_SHEET, *(spec.label for spec in SHEETS)]
    for spec in SHEETS:
        ws = book[spec.label]
        assert [c.value for c in ws[1]] == [c.label for c in spec.columns]
        assert ws.max_row == 1
    guide = [str(c.value) for row in book[HELP_SHEET].iter_rows() for c in row if c.value]
    assert "uscc" in guide
    assert "统一社会信用代码" in guide


def test_the_empty_template_imports_nothing_and_a_filled_one_imports():
    assert workbook_import(source=build_template()).counts == {
        spec.key: {"created": 0, "updated": 0, "unchanged": 0} for spec in SHEETS
    }
    book = openpyxl.load_workbook(BytesIO(build_template()))
    city = wb.city()
    for spec in SHEETS:
        for row in city[spec.key]:
            book[spec.label].append([row.get(c.key) for c in spec.columns])
    out = BytesIO()
    book.save(out)

    result = workbook_import(source=out.getvalue())

    assert result.errors == []
    assert result.ignored_sheets == [HELP_SHEET]
    assert result.counts["posts"]["created"] == 3


# --- Speed ----------------------------------------------------------------------------------


def test_ten_thousand_enterprises_import_in_well_under_a_minute():
    data = wb.xlsx(wb.enterprises(10_000))

    started = time.perf_counter()
    result = workbook_import(source=data)
    elapsed = time.perf_counter() - started

    assert result.errors == []
    assert Enterprise.objects.count() == 10_000
    assert EnterpriseIndustry.objects.count() == 15_000
    assert Membership.objects.filter(role="principal").count() == 10_000
    assert elapsed < 60
    started = time.perf_counter()
    again = workbook_import(source=data)
    assert time.perf_counter() - started < 60
    assert again.counts["enterprises"]["unchanged"] == 10_000


def test_the_number_of_queries_does_not_grow_with_the_rows():
    def queries(count: int, start: int) -> int:
        data = wb.xlsx(wb.enterprises(count, start=start))
        with CaptureQueriesContext(connection) as captured:
            assert workbook_import(source=data).errors == []
        return len(captured.captured_queries)

    small = queries(100, start=10_000)
    large = queries(1_000, start=20_000)

    # 900 more rows: a query per row would add at least 900 queries. Only the bulk batches grow
    # (on SQLite a batch holds 999 // fields rows, ~90 users or ~160 enterprises): 16 -> 39 today.
    assert large - small <= 60, (small, large)


# --- manage.py import_orgs ------------------------------------------------------------------


@pytest.fixture
def city_file(tmp_path: Path) -> Path:
    path = tmp_path / "city.xlsx"
    path.write_bytes(wb.xlsx(wb.city()))
    return path


def test_the_command_imports_a_workbook_and_prints_the_counts(city_file):
    out = StringIO()

    call_command("import_orgs", str(city_file), stdout=out)

    assert Enterprise.objects.count() == 3
    lines = out.getvalue().splitlines()
    for spec in SHEETS:
        assert any(line.startswith(spec.key) for line in lines), lines


def test_the_command_dry_run_writes_nothing(city_file):
    before = snapshot()
    out = StringIO()

    call_command("import_orgs", str(city_file), "--dry-run", stdout=out)

    assert snapshot() == before
    assert any(
        line.startswith("enterprises") and "3" in line for line in out.getvalue().splitlines()
    )


def test_the_command_prints_every_error_and_fails(tmp_path):
    data = wb.city()
    ERROR_CASES["bad USCC check character"][0](data)
    ERROR_CASES["bad mobile"][0](data)
    path = tmp_path / "bad.xlsx"
    path.write_bytes(wb.xlsx(data))
    err = StringIO()
    before = row_counts()

    with pytest.raises(CommandError) as failure:
        call_command("import_orgs", str(path), stderr=err)

    assert failure.value.returncode != 0
    assert row_counts() == before
    lines = err.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("enterprises")
    assert re.search(r"\b4\b", lines[0])
    assert "uscc" in lines[0]
    assert lines[1].startswith("people")
    assert "mobile" in lines[1]


def test_the_command_error_lines_read_sheet_row_column_message(tmp_path):
    data = wb.city()
    ERROR_CASES["bad USCC check character"][0](data)
    path = tmp_path / "bad.xlsx"
    path.write_bytes(wb.xlsx(data))
    err = StringIO()

    with translation.override("en"), pytest.raises(CommandError):
        call_command("import_orgs", str(path), stderr=err)

    assert err.getvalue().startswith("enterprises, row 4, uscc: The check character")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("missing.xlsx", None),
        ("notes.txt", b"hello"),
        ("fake.xlsx", b"this is not a zip"),
        ("empty-zip.xlsx", "zip"),
    ],
)
def test_the_command_refuses_a_missing_or_foreign_file(tmp_path, name, content):
    path = tmp_path / name
    if content == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("a.txt", "no workbook here")
    elif content is not None:
        path.write_bytes(content)

    with pytest.raises(CommandError) as failure:
        call_command("import_orgs", str(path))

    assert name in str(failure.value) or "xlsx" in str(failure.value).lower()


def test_the_command_exits_non_zero_from_the_shell(tmp_path):
    completed = subprocess.run(
        [sys.executable, "manage.py", "import_orgs", str(tmp_path / "missing.xlsx")],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={"DEBUG": "1", "CELERY_BROKER_URL": "memory://", "PATH": "/usr/bin:/bin"},
        check=False,
    )

    assert completed.returncode == 1
    assert "missing.xlsx" in completed.stderr


# --- The admin page -------------------------------------------------------------------------


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def import_url():
    return reverse("admin:responsibility_duty_import")


def upload(name: str, content: bytes) -> BytesIO:
    handle = BytesIO(content)
    handle.name = name
    return handle


def pending_uploads() -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    return sorted(folder.glob("*")) if folder.exists() else []


def test_the_admin_import_previews_then_imports_on_confirm(client, admin_user, import_url):
    client.force_login(admin_user)
    assert client.get(import_url).status_code == 200

    preview = client.post(
        import_url, {"action": "preview", "file": upload("city.xlsx", wb.xlsx(wb.city()))}
    )

    assert preview.status_code == 200
    assert preview.templates[0].name == "admin/responsibility/import.html"
    assert Region.objects.count() == 0  # a preview writes nothing
    assert preview.context["preview"].counts["enterprises"]["created"] == 3
    assert b'id="import-counts"' in preview.content
    assert b'data-sheet="posts"' in preview.content
    token = preview.context["token"]
    assert [p.name for p in pending_uploads()] == [f"{token}.xlsx"]
    assert token.encode() in preview.content
    assert str(settings.MEDIA_ROOT).encode() not in preview.content

    done = client.post(import_url, {"action": "confirm", "token": token})

    assert done.status_code == 200
    assert done.templates[0].name == "admin/responsibility/import_result.html"
    assert done.context["result"].written
    assert Enterprise.objects.count() == 3
    assert Duty.objects.get(industry__code="hazchem", role="lead").created_by == admin_user
    assert pending_uploads() == []
    # The token is spent: confirming again imports nothing and says so.
    again = client.post(import_url, {"action": "confirm", "token": token})
    assert again.status_code == 302
    assert Enterprise.objects.count() == 3


def test_the_admin_preview_lists_every_error_and_offers_no_confirm(client, admin_user, import_url):
    client.force_login(admin_user)
    data = wb.city()
    ERROR_CASES["bad USCC check character"][0](data)
    ERROR_CASES["post cycle"][0](data)

    preview = client.post(
        import_url, {"action": "preview", "file": upload("bad.xlsx", wb.xlsx(data))}
    )

    assert preview.status_code == 200
    assert b'data-code="uscc_check"' in preview.content
    assert b'data-code="cycle"' in preview.content
    assert b'name="action" value="confirm"' not in preview.content
    assert pending_uploads() == []
    assert client.post(import_url, {"action": "confirm", "token": "0" * 32}).status_code == 302
    assert Region.objects.count() == 0


def test_a_confirm_needs_the_token_of_this_session(client, admin_user, import_url):
    client.force_login(admin_user)
    preview = client.post(
        import_url, {"action": "preview", "file": upload("city.xlsx", wb.xlsx(wb.city()))}
    )
    token = preview.context["token"]

    for forged in ("", "../../etc/passwd", "f" * 32):
        assert client.post(import_url, {"action": "confirm", "token": forged}).status_code == 302
    assert Region.objects.count() == 0
    assert client.post(import_url, {"action": "confirm", "token": token}).status_code == 200
    assert Region.objects.count() == 5


def test_the_confirm_reports_errors_if_the_data_changed_since_the_preview(
    client, admin_user, import_url
):
    client.force_login(admin_user)
    preview = client.post(
        import_url, {"action": "preview", "file": upload("city.xlsx", wb.xlsx(wb.city()))}
    )
    DutyFactory(industry=industry("hazchem"), department_kind=kind("housing"))  # now a 2nd lead

    done = client.post(import_url, {"action": "confirm", "token": preview.context["token"]})

    assert done.status_code == 200
    assert not done.context["result"].written
    assert b'data-code="lead_overlap"' in done.content
    assert Region.objects.count() == 0


def _zip_without_workbook() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "no workbook")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("city.csv", b"code,name\n141000,x\n"),
        ("city.xlsx", b"code,name\n141000,x\n"),
        ("city.xlsx", "zip"),
        ("huge.xlsx", "huge"),
    ],
)
def test_a_wrong_file_is_a_form_error_not_a_crash(client, admin_user, import_url, name, content):
    client.force_login(admin_user)
    if content == "zip":
        content = _zip_without_workbook()
    elif content == "huge":
        content = b"PK\x03\x04" + b"\0" * (10 * 1024 * 1024)

    response = client.post(import_url, {"action": "preview", "file": upload(name, content)})

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert response.context.get("preview") is None
    assert pending_uploads() == []


def test_staff_without_the_duty_map_permission_get_403(client, import_url):
    staff = UserFactory(is_staff=True)
    department = DepartmentFactory()
    MembershipFactory(user=staff, department=department, role="head")
    client.force_login(staff)
    before = row_counts()

    assert client.get(import_url).status_code == 403
    response = client.post(
        import_url, {"action": "preview", "file": upload("city.xlsx", wb.xlsx(wb.city()))}
    )
    assert response.status_code == 403
    assert client.get(reverse("admin:responsibility_duty_import_template")).status_code == 403
    assert row_counts() == before
    assert pending_uploads() == []


def test_committee_office_staff_may_import(client, import_url):
    member = UserFactory(is_staff=True)
    office = DepartmentFactory(kind=kind("committee_office"))
    MembershipFactory(user=member, department=office, role="committee")
    client.force_login(member)

    assert client.get(import_url).status_code == 200


def test_the_template_download_is_a_workbook_with_every_sheet(client, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("admin:responsibility_duty_import_template"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    book = openpyxl.load_workbook(BytesIO(response.content))
    assert book.sheetnames == [HELP_SHEET, *(spec.label for spec in SHEETS)]
