"""The demo city: idempotent loading, real region codes, valid USCCs, working documented logins, and
the facts the coverage report and the chain are meant to show on it."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Department, DepartmentKind, Enterprise, Membership, Region, User
from accounts.uscc import validate_uscc
from workflows.ops.demo import DEMO_LOGINS, DEMO_PASSWORD, LOADERS, load_users
from workflows.responsibility import demo
from workflows.responsibility.models import Duty, EnterpriseIndustry, Industry, Post
from workflows.responsibility.selectors import duties_for_industry, lead_overlaps

LOGIN = "/accounts/login/"

# GB/T 2260, as published (copied here, not read from the demo module under test).
REAL_REGIONS = {
    "141000": "临汾市",
    "141002": "尧都区",
    "141021": "曲沃县",
    "141022": "翼城县",
    "141023": "襄汾县",
    "141024": "洪洞县",
    "141025": "古县",
    "141026": "安泽县",
    "141027": "浮山县",
    "141028": "吉县",
    "141029": "乡宁县",
    "141030": "大宁县",
    "141031": "隰县",
    "141032": "永和县",
    "141033": "蒲县",
    "141034": "汾西县",
    "141081": "侯马市",
    "141082": "霍州市",
}
COUNTY_MAIN_KINDS = {
    "emergency",
    "housing",
    "transport",
    "market",
    "fire",
    "energy",
    "committee_office",
    "education",
    "health",
    "culture_tourism",
}


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # Hundreds of logins are checked below; the real hasher would make that take a minute.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_all() -> int:
    """The loaders of this issue (users and organisations); later apps' loaders are tested with them."""
    return sum(loader() for name, loader in LOADERS if name in ("users", "organisations"))


@pytest.fixture
def city(db) -> None:
    load_all()


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every accounts and responsibility model, all fields, the pk first."""
    data = {}
    for label in ("accounts", "responsibility"):
        for model in apps.get_app_config(label).get_models():
            pk = model._meta.pk.attname
            fields = [pk, *(f.attname for f in model._meta.concrete_fields if f.attname != pk)]
            data[model._meta.label] = sorted(
                model._default_manager.order_by("pk").values_list(*fields)
            )
    return data


def counts() -> dict[str, int]:
    return {label: len(rows) for label, rows in snapshot().items()}


def test_the_first_load_reports_exactly_the_rows_it_created(db):
    before = counts()
    created = load_all()
    after = counts()
    assert created == sum(after[label] - before[label] for label in after)
    assert created > 1000


def test_loading_twice_creates_nothing_and_changes_no_row(db):
    load_all()
    first = snapshot()
    assert load_all() == 0
    assert snapshot() == first


def test_the_organisations_load_on_their_own_and_the_users_then_add_only_admin(db):
    assert demo.load_organisations() > 0
    first = snapshot()
    assert load_users() == 1  # admin: the organisations loader leaves the superuser to load_users
    after = snapshot()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert [row for row in after["accounts.User"] if row[0] != admin.pk] == first["accounts.User"]
    assert {k: v for k, v in after.items() if k != "accounts.User"} == {
        k: v for k, v in first.items() if k != "accounts.User"
    }
    assert load_all() == 0
    assert snapshot() == after


def test_a_changed_row_is_brought_back_and_a_manual_addition_is_kept(city):
    Department.objects.filter(code="141024-emergency").update(name="改过的名字")
    Region.objects.filter(code="141002").update(name="错误")
    extra = Membership.objects.create(
        user=User.objects.get(username="yjj_staff"),
        department=Department.objects.get(code="141024-emergency"),
        role=Membership.Role.STAFF,
    )
    assert demo.load_organisations() == 0
    assert Department.objects.get(code="141024-emergency").name == "洪洞县应急管理局"
    assert Region.objects.get(code="141002").name == "尧都区"
    assert Membership.objects.filter(pk=extra.pk).exists()


def test_the_city_and_its_17_counties_carry_their_real_codes_and_names(city):
    real = {
        r.code: r.name for r in Region.objects.filter(level__in=["city", "county"], fictional=False)
    }
    assert real == REAL_REGIONS
    counties = Region.objects.filter(level="county")
    assert counties.count() == 17
    assert {c.parent.code for c in counties} == {"141000"}


def test_townships_are_fictional_nine_digit_codes_under_their_county(city):
    townships = Region.objects.filter(level="township").select_related("parent")
    per_county: dict[str, int] = {}
    for township in townships:
        assert township.fictional
        assert len(township.code) == 9
        assert township.code.startswith(township.parent.code)
        township.full_clean()
        per_county[township.parent.name] = per_county.get(township.parent.name, 0) + 1
    assert set(per_county) == {"尧都区", "洪洞县", "侯马市", "霍州市"}
    assert all(3 <= n <= 5 for n in per_county.values())


def test_departments_exist_at_every_level_except_energy_in_houma(city):
    city_kinds = set(
        Department.objects.filter(region__code="141000").values_list("kind__code", flat=True)
    )
    all_kinds = set(DepartmentKind.objects.values_list("code", flat=True))
    assert city_kinds == all_kinds - {DepartmentKind.TOWNSHIP_GOV}
    for code in REAL_REGIONS.keys() - {"141000"}:
        kinds = set(
            Department.objects.filter(region__code=code).values_list("kind__code", flat=True)
        )
        expected = COUNTY_MAIN_KINDS - {"energy"} if code == "141081" else COUNTY_MAIN_KINDS
        assert kinds == expected, code
    assert not Department.objects.filter(region__code="141081", kind__code="energy").exists()
    for township in Region.objects.filter(level="township"):
        assert [d.kind.code for d in township.departments.all()] == ["township_gov"]
    assert Department.objects.get(code="141000-emergency").name == "临汾市应急管理局"
    assert Department.objects.get(code="141024-fire").name == "洪洞县消防救援大队"


def test_every_department_has_staff(city):
    assert not Department.objects.filter(memberships__isnull=True).exists()


def test_about_two_hundred_enterprises_with_valid_usccs_and_ordered_industries(city):
    enterprises = list(Enterprise.objects.select_related("region__parent"))
    assert 180 <= len(enterprises) <= 220
    assert len({e.name for e in enterprises}) == len(enterprises)
    for enterprise in enterprises:
        validate_uscc(enterprise.uscc)
        county = enterprise.region.at_level("county")
        assert county is not None
        assert enterprise.uscc.startswith("91" + county.code)
        enterprise.full_clean()
        positions = list(
            EnterpriseIndustry.objects.filter(enterprise=enterprise).values_list(
                "position", flat=True
            )
        )
        assert positions == list(range(len(positions)))
        assert 1 <= len(positions) <= 3
    statuses = [e.status for e in enterprises]
    assert statuses.count("active") > 0.9 * len(enterprises)
    assert statuses.count("suspended") >= 3
    primaries = set(
        EnterpriseIndustry.objects.filter(position=0).values_list("industry__code", flat=True)
    )
    wanted = {"coal", "coking", "hazchem", "construction", "urban_gas", "road_transport"}
    assert wanted | {"schools", "medical", "ebike_charging", "energy_storage"} <= primaries
    assert Enterprise.objects.filter(region__level="township").count() > 20


def test_every_documented_login_logs_in_and_belongs_somewhere(city, client):
    assert len({username for username, _n, _r in DEMO_LOGINS}) == len(DEMO_LOGINS)
    for username, full_name, _role in DEMO_LOGINS:
        response = client.post(LOGIN, {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        client.logout()
        user = User.objects.get(username=username)
        assert user.full_name == full_name
        roles = set(user.memberships.values_list("role", flat=True))
        if username == "admin":
            assert user.is_superuser
            assert user.is_staff
            continue
        assert roles, username
        assert not user.is_superuser
        assert user.is_staff == bool(roles & {"head", "committee"}), username
        assert len(user.mobile) == 11
        assert user.mobile[:2] in {"13", "15", "18"}


def test_every_role_has_a_documented_login(city):
    documented = [username for username, _n, _r in DEMO_LOGINS]
    roles = set(
        Membership.objects.filter(user__username__in=documented).values_list("role", flat=True)
    )
    assert roles == set(Membership.Role.values)
    assert Membership.objects.filter(
        user__username="aqb_office",
        role="committee",
        department__code="141000-committee_office",
    ).exists()
    assert Membership.objects.filter(
        user__username="hd_aqb", role="committee", department__code="141024-committee_office"
    ).exists()
    assert Membership.objects.filter(
        user__username="dcx_staff", department__kind__code="township_gov"
    ).exists()


def test_the_demo_coal_mine_has_its_people_and_posts(city):
    mine = Enterprise.objects.get(uscc=demo.DEMO_COAL_MINE_USCC)
    assert mine.principal.username == "qy_principal"
    assert mine.region.name == "堤村乡"
    people = dict(mine.memberships.values_list("role", "user__username"))
    assert people == {
        "principal": "qy_principal",
        "deputy": "qy_deputy",
        "safety_manager": "qy_safety",
        "employee": "qy_worker",
    }
    posts = {p.code: p for p in Post.objects.filter(enterprise=mine).select_related("holder")}
    assert posts["principal"].reports_to is None
    assert posts["deputy_safety"].reports_to == posts["principal"]
    assert posts["safety_dept"].reports_to == posts["deputy_safety"]
    assert posts["safety_dept"].holder.username == "qy_safety"
    assert all(p.duties for p in posts.values())
    for post in posts.values():
        post.full_clean()
    plant = Enterprise.objects.get(uscc=demo.DEMO_CHEMICAL_PLANT_USCC)
    assert plant.principal.username == "hg_principal"
    assert Post.objects.filter(enterprise=plant, holder__username="hg_safety").exists()
    assert (
        Post.objects.exclude(enterprise__in=[mine, plant]).values("enterprise").distinct().count()
        >= 5
    )


def test_principals_are_members_of_their_enterprise(city):
    for enterprise in Enterprise.objects.exclude(principal=None):
        assert Membership.objects.filter(
            enterprise=enterprise, user=enterprise.principal, role="principal"
        ).exists()
    # The deliberate gap: one charging operator has no principal on record.
    without = Enterprise.objects.filter(principal=None)
    assert [link.industry.code for e in without for link in e.industry_links.all()] == [
        "ebike_charging"
    ]


def test_ebike_charging_is_the_deliberate_blind_spot(city):
    ebike = Industry.objects.get(code="ebike_charging")
    today = timezone.localdate()
    assert duties_for_industry(ebike, on=today, role="lead") == (None, [])
    found, rows = duties_for_industry(ebike, on=date(2024, 12, 31), role="lead")
    assert found == ebike
    assert [(d.department_kind.code, d.valid_to) for d in rows] == [
        ("commerce", date(2024, 12, 31))
    ]
    _found, cooperating = duties_for_industry(ebike, on=today, role="cooperating")
    assert [d.department_kind.code for d in cooperating] == ["fire"]


def test_energy_storage_is_assigned_by_the_2025_committee_decision(city):
    storage = Industry.objects.get(code="energy_storage")
    found, rows = duties_for_industry(storage, on=timezone.localdate(), role="lead")
    assert found == storage
    assert [(d.department_kind.code, d.decision) for d in rows] == [("energy", "临安委〔2025〕3号")]
    assert rows[0].valid_from == date(2025, 6, 1)
    assert duties_for_industry(storage, on=date(2025, 5, 31), role="lead") == (None, [])
    _found, cooperating = duties_for_industry(storage, on=timezone.localdate(), role="cooperating")
    assert [d.department_kind.code for d in cooperating] == ["emergency", "fire"]


def test_the_duty_map_has_one_lead_per_industry_and_subsectors_inherit(city):
    today = timezone.localdate()
    assert lead_overlaps(Duty.objects.all()) == []
    metallurgy = Industry.objects.get(code="metallurgy")
    found, rows = duties_for_industry(metallurgy, on=today, role="lead")
    assert found.code == "industry_trade"
    assert [d.department_kind.code for d in rows] == ["emergency"]
    coal = Industry.objects.get(code="coal")
    _found, rows = duties_for_industry(coal, on=today, role="lead")
    assert [(d.department_kind.code, d.general_level, d.major_level) for d in rows] == [
        ("energy", "county", "city")
    ]
    _found, rows = duties_for_industry(coal, on=today, role="cooperating")
    assert [d.department_kind.code for d in rows] == ["mine_safety", "emergency"]
    uncovered = {
        i.code
        for i in Industry.objects.all()
        if duties_for_industry(i, on=today, role="lead")[0] is None
    }
    assert uncovered == {"ebike_charging", "emerging"}
    assert all(d.decision for d in Duty.objects.all())


def test_the_coverage_report_shows_the_blind_spot_and_no_overlap(city):
    from workflows.responsibility.coverage import coverage_report

    report = coverage_report()
    assert report["overlaps"] == []
    by_type: dict[str, set] = {}
    for spot in report["blind_spots"]:
        by_type.setdefault(spot["type"], set()).add(
            spot.get("industry") or spot.get("enterprise") or spot.get("department")
        )
    assert "ebike_charging" in by_type["industry_without_lead"]
    assert by_type["industry_without_lead"] <= {"ebike_charging", "emerging"}
    assert "department_without_staff" not in by_type
    assert len(by_type["enterprise_without_principal"]) == 1


def test_demo_data_runs_twice(db):
    first, second = StringIO(), StringIO()
    call_command("demo_data", stdout=first)
    call_command("demo_data", stdout=second)
    assert "organisations: 新建 0 条" not in first.getvalue()
    assert "users: 新建 0 条" in second.getvalue()
    assert "organisations: 新建 0 条" in second.getvalue()


def chain(*args: str) -> dict:
    out = StringIO()
    call_command("chain", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def leads(data: dict) -> list[dict]:
    return [link for link in data["links"] if link["role"] == "lead"]


def test_the_demo_coal_mine_chain_leads_to_energy_at_county_then_city_level(city):
    general = chain("--enterprise", demo.DEMO_COAL_MINE_USCC)
    assert not general["blind_spot"]
    assert [link["org_code"] for link in leads(general)] == ["141024-energy"]
    assert leads(general)[0]["rule"]["decision"] == "临安委〔2024〕5号"
    assert [link["org_code"] for link in general["links"] if link["role"] == "territorial"] == [
        "141024200-township_gov"
    ]
    major = chain("--enterprise", demo.DEMO_COAL_MINE_USCC, "--grade", "major")
    assert [link["org_code"] for link in leads(major)] == ["141000-energy"]
    with_post = chain("--enterprise", demo.DEMO_COAL_MINE_USCC, "--post", "safety_dept")
    assert with_post["links"][0]["role"] == "post"
    assert with_post["links"][0]["person"] == "qy_safety"


def test_houma_energy_duties_fall_back_to_the_city_and_ebike_charging_is_a_blind_spot(city):
    storage = Enterprise.objects.get(
        industry_links__industry__code="energy_storage", industry_links__position=0
    )
    assert storage.region.at_level("county").code == "141081"
    lead = leads(chain("--enterprise", storage.uscc))[0]
    assert lead["org_code"] == "141000-energy"
    assert lead["rule"]["fallback"] is True
    assert lead["rule"]["decision"] == "临安委〔2025〕3号"
    operator = Enterprise.objects.filter(industry_links__industry__code="ebike_charging").first()
    assert chain("--enterprise", operator.uscc)["blind_spot"] is True
