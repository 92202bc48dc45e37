"""The responsibility chain (issue 3 §2), rule by rule, on a small fixture city.

临汾市 141000 has every department kind used here; 尧都区 141002 has them too and a township
141002001 with its township government; 曲沃县 141021 lacks emergency, housing and a committee office,
so county-level duties there fall back to the city.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import translation

from accounts.models import Department, Enterprise, Region
from tests.factories import (
    DepartmentFactory,
    DutyFactory,
    EnterpriseFactory,
    PostFactory,
    UserFactory,
    city,
    county,
    industry,
    kind,
    link_industries,
    township,
)
from workflows.responsibility.chain import Chain, ChainError, Link, Rule, resolve_chain
from workflows.responsibility.models import Duty, EnterpriseIndustry
from workflows.responsibility.services import duty_replace

ON = date(2025, 6, 15)
CITY_KINDS = ("emergency", "housing", "market", "fire", "committee_office")
YAODU_KINDS = ("emergency", "housing", "market", "fire", "committee_office")
QUWO_KINDS = ("market", "fire")


@dataclass
class CityMap:
    city: Region
    yaodu: Region
    jiefang: Region
    quwo: Region
    lead: Duty
    fire: Duty
    market: Duty
    water: Duty
    enterprise: Enterprise  # in the township 解放路街道 of 尧都区
    in_yaodu: Enterprise  # directly in 尧都区, no township
    in_quwo: Enterprise  # in 曲沃县


def build_city() -> CityMap:
    """The fixture city with the hazchem duty map: lead emergency (general county, major city);
    cooperating market (position 0), fire (position 1), water (position 2, no department anywhere)."""
    linfen = city()
    yaodu = county("141002", "尧都区", linfen)
    jiefang = township("141002001", "解放路街道", yaodu)
    quwo = county("141021", "曲沃县", linfen)
    for code in CITY_KINDS:
        DepartmentFactory(region=linfen, kind=kind(code))
    for code in YAODU_KINDS:
        DepartmentFactory(region=yaodu, kind=kind(code))
    for code in QUWO_KINDS:
        DepartmentFactory(region=quwo, kind=kind(code))
    DepartmentFactory(region=jiefang, kind=kind("township_gov"), name="解放路街道办事处")
    lead = DutyFactory()
    # Created out of order on purpose: the chain follows position, not creation.
    fire = DutyFactory(role=Duty.Role.COOPERATING, department_kind=kind("fire"), position=1)
    market = DutyFactory(role=Duty.Role.COOPERATING, department_kind=kind("market"), position=0)
    water = DutyFactory(role=Duty.Role.COOPERATING, department_kind=kind("water"), position=2)
    enterprise = EnterpriseFactory(region=jiefang, principal=UserFactory(username="boss"))
    in_yaodu = EnterpriseFactory(region=yaodu)
    in_quwo = EnterpriseFactory(region=quwo)
    for each in (enterprise, in_yaodu, in_quwo):
        link_industries(each, "hazchem")
    return CityMap(
        city=linfen,
        yaodu=yaodu,
        jiefang=jiefang,
        quwo=quwo,
        lead=lead,
        fire=fire,
        market=market,
        water=water,
        enterprise=enterprise,
        in_yaodu=in_yaodu,
        in_quwo=in_quwo,
    )


@pytest.fixture
def cm(db) -> CityMap:
    return build_city()


def pairs(chain: Chain) -> list[tuple[str, str]]:
    return [(link.role, link.org_code) for link in chain.links]


def by_role(chain: Chain, role: str) -> list[Link]:
    return [link for link in chain.links if link.role == role]


# --- The whole chain, level by grade ------------------------------------------------------------


def test_a_general_hazard_is_led_by_the_county_department_and_the_chain_is_in_order(cm):
    chain = resolve_chain(enterprise=cm.enterprise, on=ON)
    uscc = cm.enterprise.uscc
    assert pairs(chain) == [
        ("principal", uscc),
        ("lead", "141002-emergency"),
        ("cooperating", "141002-market"),
        ("cooperating", "141002-fire"),
        ("territorial", "141002001-township_gov"),
        ("committee", "141002-committee_office"),
        ("committee", "141000-committee_office"),
    ]
    assert chain.blind_spot is False
    assert chain.industry == industry("hazchem")
    assert chain.grade == "general"
    assert chain.on == ON
    lead = by_role(chain, "lead")[0]
    assert lead.rule == Rule(
        duty_id=cm.lead.pk,
        decision="临安委〔2024〕5号",
        valid_from=date(2024, 1, 1),
        valid_to=None,
        fallback=False,
    )
    assert lead.person is None
    assert lead.org_name == Department.objects.get(code="141002-emergency").name


def test_a_major_hazard_goes_to_the_city_departments(cm):
    chain = resolve_chain(enterprise=cm.enterprise, grade="major", on=ON)
    assert pairs(chain)[1:4] == [
        ("lead", "141000-emergency"),
        ("cooperating", "141000-market"),
        ("cooperating", "141000-fire"),
    ]
    assert all(not link.rule.fallback for link in chain.links if link.rule)


def test_each_duty_row_has_its_own_levels(cm):
    # The market row says city even for general hazards; the fire row says county even for major.
    Duty.objects.filter(pk=cm.market.pk).update(general_level="city")
    Duty.objects.filter(pk=cm.fire.pk).update(major_level="county")
    general = resolve_chain(enterprise=cm.enterprise, on=ON)
    major = resolve_chain(enterprise=cm.enterprise, grade="major", on=ON)
    assert [link.org_code for link in by_role(general, "cooperating")] == [
        "141000-market",
        "141002-fire",
    ]
    assert [link.org_code for link in by_role(major, "cooperating")] == [
        "141000-market",
        "141002-fire",
    ]


def test_the_basis_names_industry_decision_validity_grade_and_level(cm):
    with translation.override("en"):
        chain = resolve_chain(enterprise=cm.enterprise, grade="major", on=ON)
    lead = by_role(chain, "lead")[0]
    assert lead.basis == (
        "Lead department for 危险化学品 under decision 临安委〔2024〕5号 "
        "(valid from 2024-01-01, open-ended); a major hazard is handled at city level."
    )
    assert by_role(chain, "cooperating")[0].basis.startswith(
        "Cooperating department for 危险化学品"
    )


def test_an_explicit_industry_overrides_the_primary_one(cm):
    DutyFactory(industry=industry("construction"), department_kind=kind("housing"))
    link_industries_after(cm.enterprise, "construction")
    assert by_role(resolve_chain(enterprise=cm.enterprise, on=ON), "lead")[0].org_code == (
        "141002-emergency"
    )
    chain = resolve_chain(enterprise=cm.enterprise, industry=industry("construction"), on=ON)
    assert chain.industry == industry("construction")
    assert [link.org_code for link in by_role(chain, "lead")] == ["141002-housing"]
    assert by_role(chain, "cooperating") == []


def link_industries_after(enterprise: Enterprise, code: str) -> None:
    position = EnterpriseIndustry.objects.filter(enterprise=enterprise).count()
    EnterpriseIndustry.objects.create(
        enterprise=enterprise, industry=industry(code), position=position
    )


# --- Industry tree ------------------------------------------------------------------------------


def test_an_industry_without_rows_inherits_them_from_its_nearest_ancestor(cm):
    coking = EnterpriseFactory(region=cm.jiefang)
    link_industries(coking, "coking")
    with translation.override("en"):
        chain = resolve_chain(enterprise=coking, on=ON)
    assert chain.blind_spot is False
    assert chain.industry == industry("coking")
    lead = by_role(chain, "lead")[0]
    assert (lead.org_code, lead.rule.duty_id) == ("141002-emergency", cm.lead.pk)
    assert "焦化 has no such duty of its own; it is inherited from 危险化学品." in lead.basis
    assert [link.rule.duty_id for link in by_role(chain, "cooperating")] == [
        cm.market.pk,
        cm.fire.pk,
    ]
    assert chain.as_dict()["industry"] == "coking"


def test_rows_of_the_industry_itself_win_over_the_ancestors(cm):
    own = DutyFactory(industry=industry("coking"), department_kind=kind("market"))
    coking = EnterpriseFactory(region=cm.jiefang)
    link_industries(coking, "coking")
    with translation.override("en"):
        chain = resolve_chain(enterprise=coking, on=ON)
    lead = by_role(chain, "lead")
    assert [(link.org_code, link.rule.duty_id) for link in lead] == [("141002-market", own.pk)]
    assert "inherited" not in lead[0].basis
    # Cooperating rows are looked up separately: coking has none, so hazchem's apply.
    assert [link.rule.duty_id for link in by_role(chain, "cooperating")] == [
        cm.market.pk,
        cm.fire.pk,
    ]


# --- Fallback to the city -----------------------------------------------------------------------


def test_a_county_without_the_lead_department_falls_back_to_the_city(cm):
    with translation.override("en"):
        chain = resolve_chain(enterprise=cm.in_quwo, on=ON)
    lead = by_role(chain, "lead")[0]
    assert lead.org_code == "141000-emergency"
    assert lead.rule.fallback is True
    emergency = kind("emergency").name
    assert f"曲沃县 has no {emergency} department, so the department of 临汾市 stands in." in (
        lead.basis
    )
    # Departments that do exist in the county are used there, without a fallback.
    assert [(link.org_code, link.rule.fallback) for link in by_role(chain, "cooperating")] == [
        ("141021-market", False),
        ("141021-fire", False),
    ]
    assert chain.blind_spot is False
    assert chain.as_dict()["links"][1]["rule"]["fallback"] is True


def test_a_city_level_duty_is_no_fallback(cm):
    chain = resolve_chain(enterprise=cm.in_quwo, grade="major", on=ON)
    lead = by_role(chain, "lead")[0]
    assert (lead.org_code, lead.rule.fallback) == ("141000-emergency", False)


def test_a_cooperating_county_department_also_falls_back_to_the_city(cm):
    DutyFactory(role=Duty.Role.COOPERATING, department_kind=kind("housing"), position=3)
    chain = resolve_chain(enterprise=cm.in_quwo, on=ON)
    assert [(link.org_code, link.rule.fallback) for link in by_role(chain, "cooperating")] == [
        ("141021-market", False),
        ("141021-fire", False),
        ("141000-housing", True),
    ]


def test_a_cooperating_kind_without_any_department_is_left_out(cm):
    chain = resolve_chain(enterprise=cm.enterprise, on=ON)
    assert cm.water.pk not in [link.rule.duty_id for link in chain.links if link.rule]
    assert all(link.org_code for link in chain.links)


# --- Cooperating order --------------------------------------------------------------------------


def test_cooperating_departments_follow_position_then_row_id(cm):
    DutyFactory(role=Duty.Role.COOPERATING, department_kind=kind("housing"), position=1)
    chain = resolve_chain(enterprise=cm.enterprise, on=ON)
    assert [link.org_code for link in by_role(chain, "cooperating")] == [
        "141002-market",
        "141002-fire",  # position 1, created before housing
        "141002-housing",  # position 1, created after fire
    ]


# --- Territorial and committee ------------------------------------------------------------------


def test_the_township_government_is_the_territorial_link(cm):
    with translation.override("en"):
        link = by_role(resolve_chain(enterprise=cm.enterprise, on=ON), "territorial")
    assert [(x.org_code, x.org_name, x.person, x.rule) for x in link] == [
        ("141002001-township_gov", "解放路街道办事处", None, None)
    ]
    assert "解放路街道" in link[0].basis


def test_no_territorial_link_for_an_enterprise_directly_in_a_county(cm):
    assert by_role(resolve_chain(enterprise=cm.in_yaodu, on=ON), "territorial") == []


def test_no_territorial_link_when_the_township_has_no_government_on_record(cm):
    other = township("141002002", "水塔街道", cm.yaodu)
    enterprise = EnterpriseFactory(region=other)
    link_industries(enterprise, "hazchem")
    chain = resolve_chain(enterprise=enterprise, on=ON)
    assert by_role(chain, "territorial") == []
    assert by_role(chain, "lead")[0].org_code == "141002-emergency"


def test_committee_offices_come_last_county_then_city(cm):
    chain = resolve_chain(enterprise=cm.enterprise, on=ON)
    assert pairs(chain)[-2:] == [
        ("committee", "141002-committee_office"),
        ("committee", "141000-committee_office"),
    ]
    assert all(link.rule is None and link.person is None for link in by_role(chain, "committee"))


def test_a_county_without_a_committee_office_lists_only_the_citys(cm):
    chain = resolve_chain(enterprise=cm.in_quwo, on=ON)
    assert [link.org_code for link in by_role(chain, "committee")] == ["141000-committee_office"]


# --- Validity on the day ------------------------------------------------------------------------


@pytest.fixture
def fireworks_shop(cm) -> Enterprise:
    enterprise = EnterpriseFactory(region=cm.jiefang)
    link_industries(enterprise, "fireworks")
    return enterprise


def test_a_duty_that_expired_yesterday_is_ignored(cm, fireworks_shop):
    DutyFactory(industry=industry("fireworks"), valid_to=ON - timedelta(days=1))
    chain = resolve_chain(enterprise=fireworks_shop, on=ON)
    assert chain.blind_spot is True
    assert [link.org_code for link in by_role(chain, "lead")] == ["141002-committee_office"]


def test_a_duty_that_starts_tomorrow_is_ignored(cm, fireworks_shop):
    DutyFactory(industry=industry("fireworks"), valid_from=ON + timedelta(days=1))
    chain = resolve_chain(enterprise=fireworks_shop, on=ON)
    assert chain.blind_spot is True


def test_a_duty_counts_on_its_last_day(cm, fireworks_shop):
    duty = DutyFactory(industry=industry("fireworks"), valid_to=ON)
    chain = resolve_chain(enterprise=fireworks_shop, on=ON)
    assert chain.blind_spot is False
    lead = by_role(chain, "lead")[0]
    assert (lead.org_code, lead.rule.duty_id, lead.rule.valid_to) == (
        "141002-emergency",
        duty.pk,
        ON,
    )
    assert chain.as_dict()["links"][1]["rule"]["valid_to"] == "2025-06-15"
    assert resolve_chain(enterprise=fireworks_shop, on=ON + timedelta(days=1)).blind_spot


def test_a_duty_counts_on_its_first_day(cm, fireworks_shop):
    DutyFactory(industry=industry("fireworks"), valid_from=ON)
    assert resolve_chain(enterprise=fireworks_shop, on=ON).blind_spot is False


def test_a_past_day_explains_the_old_chain_after_a_replacement(cm):
    new = duty_replace(
        duty=cm.lead,
        changed_on=date(2025, 1, 1),
        decision="临安委〔2025〕1号",
        department_kind=kind("housing"),
    )
    before = by_role(resolve_chain(enterprise=cm.enterprise, on=date(2024, 12, 31)), "lead")
    after = by_role(resolve_chain(enterprise=cm.enterprise, on=date(2025, 1, 1)), "lead")
    assert [(link.org_code, link.rule) for link in before] == [
        (
            "141002-emergency",
            Rule(
                duty_id=cm.lead.pk,
                decision="临安委〔2024〕5号",
                valid_from=date(2024, 1, 1),
                valid_to=date(2024, 12, 31),
                fallback=False,
            ),
        )
    ]
    assert [(link.org_code, link.rule.duty_id, link.rule.decision) for link in after] == [
        ("141002-housing", new.pk, "临安委〔2025〕1号")
    ]


def test_the_day_defaults_to_today_in_shanghai(cm):
    # 16:30 UTC on 15 June is already 00:30 on 16 June in Asia/Shanghai.
    with time_machine.travel(datetime(2025, 6, 15, 16, 30, tzinfo=UTC), tick=False):
        chain = resolve_chain(enterprise=cm.enterprise)
    assert chain.on == date(2025, 6, 16)


# --- Overlap ------------------------------------------------------------------------------------


def test_every_applicable_lead_row_is_listed_in_order_and_the_basis_says_so(cm):
    second = DutyFactory(department_kind=kind("housing"), position=1)
    with translation.override("en"):
        chain = resolve_chain(enterprise=cm.enterprise, on=ON)
    leads = by_role(chain, "lead")
    assert [(link.org_code, link.rule.duty_id) for link in leads] == [
        ("141002-emergency", cm.lead.pk),
        ("141002-housing", second.pk),
    ]
    assert all("2 lead duties apply on this day (an overlap)" in link.basis for link in leads)
    assert chain.blind_spot is False


# --- Blind spots --------------------------------------------------------------------------------


@pytest.fixture
def storage_site(cm) -> Enterprise:
    enterprise = EnterpriseFactory(region=cm.jiefang)
    link_industries(enterprise, "energy_storage")  # neither it nor 新兴行业 has any duty row
    return enterprise


def test_a_general_blind_spot_is_led_by_the_county_committee_office(cm, storage_site):
    with translation.override("en"):
        chain = resolve_chain(enterprise=storage_site, on=ON)
    assert chain.blind_spot is True
    assert pairs(chain) == [
        ("principal", storage_site.uscc),
        ("lead", "141002-committee_office"),
        ("territorial", "141002001-township_gov"),
        ("committee", "141000-committee_office"),
    ]
    lead = by_role(chain, "lead")[0]
    assert lead.rule is None
    assert lead.basis == (
        "No lead duty for 储能电站 is valid on 2025-06-15: blind spot; the committee office of "
        "尧都区 acts as lead for this general hazard."
    )
    assert chain.as_dict()["blind_spot"] is True


def test_a_major_blind_spot_is_led_by_the_city_committee_office(cm, storage_site):
    chain = resolve_chain(enterprise=storage_site, grade="major", on=ON)
    assert chain.blind_spot is True
    assert pairs(chain)[1:] == [
        ("lead", "141000-committee_office"),
        ("territorial", "141002001-township_gov"),
        ("committee", "141002-committee_office"),
    ]


def test_a_county_without_a_committee_office_hands_a_general_blind_spot_to_the_city(cm):
    enterprise = EnterpriseFactory(region=cm.quwo)
    link_industries(enterprise, "script_entertainment")
    with translation.override("en"):
        chain = resolve_chain(enterprise=enterprise, on=ON)
    assert pairs(chain)[1:] == [("lead", "141000-committee_office")]
    assert "曲沃县 has no committee office, so the office of 临汾市 acts." in chain.links[1].basis


def test_an_enterprise_without_an_industry_is_a_blind_spot(cm):
    bare = EnterpriseFactory(region=cm.jiefang)
    with translation.override("en"):
        chain = resolve_chain(enterprise=bare, on=ON)
    assert chain.blind_spot is True
    assert chain.industry is None
    assert chain.as_dict()["industry"] is None
    assert by_role(chain, "lead")[0].org_code == "141002-committee_office"
    assert "has no industry on record: blind spot" in by_role(chain, "lead")[0].basis


def test_a_lead_kind_without_any_department_is_a_blind_spot(cm):
    DutyFactory(
        industry=industry("coal"), department_kind=kind("energy"), decision="临安委〔2024〕9号"
    )
    mine = EnterpriseFactory(region=cm.jiefang)
    link_industries(mine, "coal")
    with translation.override("en"):
        chain = resolve_chain(enterprise=mine, on=ON)
    assert chain.blind_spot is True
    lead = by_role(chain, "lead")
    assert [(link.org_code, link.rule) for link in lead] == [("141002-committee_office", None)]
    assert kind("energy").name in lead[0].basis
    assert "临安委〔2024〕9号" in lead[0].basis


# --- Enterprise links ---------------------------------------------------------------------------


def test_the_post_holder_comes_first_then_the_principal(cm):
    post = PostFactory(
        enterprise=cm.enterprise, code="WS-01", title="车间主任", holder=UserFactory(username="li")
    )
    chain = resolve_chain(enterprise=cm.enterprise, post=post, on=ON)
    first, second = chain.links[:2]
    assert (first.role, first.org_code, first.org_name, first.person, first.rule) == (
        "post",
        cm.enterprise.uscc,
        f"{cm.enterprise.name} · 车间主任",
        "li",
        None,
    )
    assert (second.role, second.org_code, second.org_name, second.person) == (
        "principal",
        cm.enterprise.uscc,
        cm.enterprise.name,
        "boss",
    )
    assert "WS-01" in first.basis


def test_a_vacant_post_and_a_missing_principal_have_no_person(cm):
    post = PostFactory(enterprise=cm.enterprise, holder=None)
    Enterprise.objects.filter(pk=cm.enterprise.pk).update(principal=None)
    cm.enterprise.refresh_from_db()
    chain = resolve_chain(enterprise=cm.enterprise, post=post, on=ON)
    assert [(link.role, link.person) for link in chain.links[:2]] == [
        ("post", None),
        ("principal", None),
    ]


def test_a_post_of_another_enterprise_is_refused(cm):
    post = PostFactory(enterprise=cm.in_yaodu)
    with pytest.raises(ChainError):
        resolve_chain(enterprise=cm.enterprise, post=post, on=ON)


@pytest.mark.parametrize("grade", ["", "Major", "serious"])
def test_an_unknown_grade_is_refused(cm, grade):
    with pytest.raises(ChainError):
        resolve_chain(enterprise=cm.enterprise, grade=grade, on=ON)


# --- Output -------------------------------------------------------------------------------------


def test_the_json_shape_is_exact(cm):
    post = PostFactory(enterprise=cm.enterprise, holder=UserFactory(username="li"))
    Duty.objects.filter(pk=cm.fire.pk).update(valid_to=date(2026, 12, 31))
    data = json.loads(
        json.dumps(resolve_chain(enterprise=cm.enterprise, post=post, on=ON).as_dict())
    )
    assert set(data) == {"enterprise", "industry", "grade", "on", "blind_spot", "links"}
    assert data["enterprise"] == {"uscc": cm.enterprise.uscc, "name": cm.enterprise.name}
    assert (data["industry"], data["grade"], data["on"], data["blind_spot"]) == (
        "hazchem",
        "general",
        "2025-06-15",
        False,
    )
    assert [link["role"] for link in data["links"]] == [
        "post",
        "principal",
        "lead",
        "cooperating",
        "cooperating",
        "territorial",
        "committee",
        "committee",
    ]
    for link in data["links"]:
        assert set(link) == {"role", "org_code", "org_name", "person", "basis", "rule"}
        assert isinstance(link["org_code"], str)
        assert link["org_code"]
        assert isinstance(link["org_name"], str)
        assert link["person"] is None or isinstance(link["person"], str)
        assert isinstance(link["basis"], str)
        assert link["basis"]
        if link["rule"] is not None:
            assert set(link["rule"]) == {
                "duty_id",
                "decision",
                "valid_from",
                "valid_to",
                "fallback",
            }
            assert isinstance(link["rule"]["duty_id"], int)
            assert isinstance(link["rule"]["fallback"], bool)
            assert date.fromisoformat(link["rule"]["valid_from"])
    rules = {link["org_code"]: link["rule"] for link in data["links"]}
    assert rules["141002-emergency"] == {
        "duty_id": cm.lead.pk,
        "decision": "临安委〔2024〕5号",
        "valid_from": "2024-01-01",
        "valid_to": None,
        "fallback": False,
    }
    assert rules["141002-fire"]["valid_to"] == "2026-12-31"
    assert [link["rule"] is None for link in data["links"]] == [
        True,
        True,
        False,
        False,
        False,
        True,
        True,
        True,
    ]


def test_the_text_has_a_header_and_one_line_per_link(cm):
    chain = resolve_chain(enterprise=cm.enterprise, on=ON)
    lines = chain.as_text().splitlines()
    assert len(lines) == 1 + len(chain.links)
    assert cm.enterprise.uscc in lines[0]
    assert "2025-06-15" in lines[0]
    for number, (line, link) in enumerate(zip(lines[1:], chain.links, strict=True), start=1):
        assert line.startswith(f"{number}. ")
        assert f"({link.org_code})" in line
        assert link.basis in line


def test_the_text_of_a_blind_spot_says_so(cm, storage_site):
    with translation.override("en"):
        text = resolve_chain(enterprise=storage_site, on=ON).as_text()
    assert "Blind spot" in text.splitlines()[0]


def test_the_basis_is_rendered_in_the_active_language(cm):
    with translation.override("en"):
        english = resolve_chain(enterprise=cm.enterprise, on=ON)
    assert by_role(english, "lead")[0].basis.startswith("Lead department for 危险化学品")


def test_resolution_runs_a_small_fixed_number_of_queries(cm, django_assert_max_num_queries):
    coking = EnterpriseFactory(region=cm.jiefang)
    link_industries(coking, "coking")
    post = PostFactory(enterprise=coking)
    coking = Enterprise.objects.get(pk=coking.pk)  # nothing cached
    with django_assert_max_num_queries(12):
        resolve_chain(enterprise=coking, post=post, on=ON)
