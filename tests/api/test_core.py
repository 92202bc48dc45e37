"""Core endpoints: /me, personal tokens, enterprises (scoped) and the responsibility chain."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from tests.api.conftest import assert_error, personal_token
from tests.factories import DutyFactory, EnterpriseFactory, PostFactory, industry, kind
from workflows.api.models import PersonalToken
from workflows.api.services import MAX_ACTIVE_PERSONAL_TOKENS

ME = reverse("api:me")
TOKENS = reverse("api:me-tokens")
ENTERPRISES = reverse("api:enterprise-list")


def detail(uscc: str) -> str:
    return reverse("api:enterprise-detail", args=[uscc])


def chain(uscc: str) -> str:
    return reverse("api:enterprise-chain", args=[uscc])


def usccs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["uscc"] for row in response.json()["results"]]


# --- /me ---------------------------------------------------------------------------------------


def test_me_lists_memberships_and_all_scopes_for_a_person(world, api_as):
    body = api_as(world.principal).get(ME).json()

    assert body["username"] == "principal_a"
    assert body["full_name"] == "甲厂长"
    assert body["memberships"] == [
        {
            "role": "principal",
            "department": None,
            "enterprise": {"uscc": world.enterprise.uscc, "name": world.enterprise.name},
        }
    ]
    assert set(body["scopes"]) == {
        "hazards:read",
        "hazards:write",
        "tasks:write",
        "alerts:write",
        "enterprises:read",
    }


def test_me_describes_a_department_membership(world, api_as):
    body = api_as(world.committee).get(ME).json()

    assert body["memberships"] == [
        {
            "role": "committee",
            "department": {
                "code": world.county_committee.code,
                "name": world.county_committee.name,
                "kind": "committee_office",
                "region": {"code": world.county.code, "name": world.county.name},
            },
            "enterprise": None,
        }
    ]


def test_me_of_an_outsider_has_no_memberships(world, api_as):
    assert api_as(world.outsider).get(ME).json()["memberships"] == []


# --- personal tokens ---------------------------------------------------------------------------


@pytest.fixture
def session(world):
    api = APIClient()
    api.force_login(world.inspector)
    return api


def test_tokens_list_only_your_own(world, session):
    personal_token(world.inspector, name="mine")
    personal_token(world.head, name="theirs")

    body = session.get(TOKENS).json()

    assert [row["name"] for row in body["results"]] == ["mine"]


def test_you_cannot_revoke_someone_elses_token(world, session):
    personal_token(world.head, name="theirs")
    theirs = PersonalToken.objects.get()

    assert_error(session.delete(reverse("api:me-token-detail", args=[theirs.pk])), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_revoking_twice_is_harmless_and_keeps_the_first_time(world, session):
    personal_token(world.inspector)
    token = PersonalToken.objects.get()
    url = reverse("api:me-token-detail", args=[token.pk])
    assert session.delete(url).status_code == 204
    token.refresh_from_db()
    first = token.revoked_at

    assert session.delete(url).status_code == 204
    token.refresh_from_db()
    assert token.revoked_at == first
    assert session.get(TOKENS).json()["results"][0]["active"] is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "ok", "expires_in_days": 367}, "expires_in_days"),
        ({"name": "ok", "expires_in_days": "soon"}, "expires_in_days"),
    ],
)
def test_token_creation_is_validated_with_field_errors(session, payload, field):
    response = session.post(TOKENS, payload, format="json")

    body = assert_error(response, 400, "validation_error")
    assert field in body["errors"]
    assert PersonalToken.objects.count() == 0


def test_a_user_holds_a_limited_number_of_active_tokens(world, session):
    for n in range(MAX_ACTIVE_PERSONAL_TOKENS):
        personal_token(world.inspector, name=f"t{n}")

    body = assert_error(session.post(TOKENS, {"name": "one more"}, format="json"), 400)
    assert "non_field_errors" in body["errors"]

    PersonalToken.objects.filter(name="t0").update(revoked_at=timezone.now())
    assert session.post(TOKENS, {"name": "one more"}, format="json").status_code == 201


def test_a_new_token_without_expiry_does_not_expire(session):
    body = session.post(TOKENS, {"name": "永久"}, format="json").json()

    assert body["expires_at"] is None


def test_a_new_token_expires_after_the_days_asked(session):
    body = session.post(TOKENS, {"name": "短期", "expires_in_days": 7}, format="json").json()

    token = PersonalToken.objects.get(pk=body["id"])
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


# --- enterprises -------------------------------------------------------------------------------


def test_a_county_department_sees_the_enterprises_of_its_county(world, api_as):
    api = api_as(world.inspector)

    assert usccs(api.get(ENTERPRISES)) == [world.enterprise.uscc]
    assert api.get(detail(world.enterprise.uscc)).status_code == 200
    assert_error(api.get(detail(world.other_enterprise.uscc)), 404, "not_found")


def test_a_city_department_sees_the_whole_city(world, api_as):
    api = api_as(world.city_staff)

    assert sorted(usccs(api.get(ENTERPRISES))) == sorted(
        [world.enterprise.uscc, world.other_enterprise.uscc]
    )


def test_a_committee_office_sees_its_region(world, api_as):
    assert usccs(api_as(world.committee).get(ENTERPRISES)) == [world.enterprise.uscc]


def test_enterprise_people_see_only_their_own_enterprise(world, api_as):
    for person, own, other in (
        (world.principal, world.enterprise, world.other_enterprise),
        (world.safety_manager, world.enterprise, world.other_enterprise),
        (world.employee_b, world.other_enterprise, world.enterprise),
    ):
        api = api_as(person)
        assert usccs(api.get(ENTERPRISES)) == [own.uscc]
        assert_error(api.get(detail(other.uscc)), 404, "not_found")
        assert_error(api.get(chain(other.uscc)), 404, "not_found")


def test_a_post_holder_sees_the_enterprise_of_their_post(world, api_as):
    PostFactory(enterprise=world.other_enterprise, code="P9", holder=world.outsider)

    assert usccs(api_as(world.outsider).get(ENTERPRISES)) == [world.other_enterprise.uscc]


def test_an_outsider_sees_no_enterprise(world, api_as):
    api = api_as(world.outsider)

    assert usccs(api.get(ENTERPRISES)) == []
    assert_error(api.get(detail(world.enterprise.uscc)), 404, "not_found")
    assert_error(api.get(chain(world.enterprise.uscc)), 404, "not_found")


def test_another_county_sees_its_own_enterprise_only(world, api_as):
    api = api_as(world.other_staff)

    assert usccs(api.get(ENTERPRISES)) == [world.other_enterprise.uscc]
    assert_error(api.get(detail(world.enterprise.uscc)), 404, "not_found")


def test_the_detail_lists_industries_and_posts(world, api_as):
    PostFactory(
        enterprise=world.enterprise, code="SAFETY", title="安全部长", holder=world.safety_manager
    )

    body = api_as(world.inspector).get(detail(world.enterprise.uscc.lower())).json()

    assert body["uscc"] == world.enterprise.uscc
    assert body["region"] == {"code": world.township.code, "name": world.township.name}
    assert body["principal"] == {"username": "principal_a", "full_name": "甲厂长"}
    assert body["industries"] == [
        {"code": "hazchem", "name": industry("hazchem").name, "position": 0}
    ]
    assert body["posts"] == [
        {
            "code": "SAFETY",
            "title": "安全部长",
            "holder": {"username": "safety_a", "full_name": "甲安全员"},
            "reports_to": None,
        }
    ]


def test_enterprises_are_filtered(world, api_as):
    api = api_as(world.city_staff)
    mine = EnterpriseFactory(name="尧都区某丙机械厂", region=world.township, status="suspended")
    from tests.factories import link_industries

    link_industries(mine, "machinery")

    assert usccs(api.get(ENTERPRISES, {"q": "丙机械"})) == [mine.uscc]
    assert usccs(api.get(ENTERPRISES, {"q": mine.uscc.lower()})) == [mine.uscc]
    assert usccs(api.get(ENTERPRISES, {"status": "suspended"})) == [mine.uscc]
    assert sorted(usccs(api.get(ENTERPRISES, {"region": world.county.code}))) == sorted(
        [world.enterprise.uscc, mine.uscc]
    )
    assert usccs(api.get(ENTERPRISES, {"region": world.other_county.code})) == [
        world.other_enterprise.uscc
    ]
    # A parent industry matches its sub-industries.
    assert usccs(api.get(ENTERPRISES, {"industry": "industry_trade"})) == [mine.uscc]
    assert usccs(api.get(ENTERPRISES, {"industry": "machinery"})) == [mine.uscc]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bankrupt"}, "status"),
        ({"region": "999999"}, "region"),
        ({"industry": "nope"}, "industry"),
    ],
)
def test_bad_filters_are_400_with_field_errors(world, api_as, params, field):
    body = assert_error(api_as(world.inspector).get(ENTERPRISES, params), 400, "validation_error")

    assert field in body["errors"]


def test_filters_never_widen_the_scope(world, api_as):
    api = api_as(world.inspector)

    assert usccs(api.get(ENTERPRISES, {"region": world.other_county.code})) == []
    assert usccs(api.get(ENTERPRISES, {"q": world.other_enterprise.uscc})) == []


def test_an_api_client_sees_its_departments_region(world, api_as_client):
    api = api_as_client(["enterprises:read"])

    assert usccs(api.get(ENTERPRISES)) == [world.enterprise.uscc]
    assert_error(api.get(detail(world.other_enterprise.uscc)), 404, "not_found")


def test_enterprises_need_authentication(world, api):
    assert_error(api.get(ENTERPRISES), 401)
    assert_error(api.get(detail(world.enterprise.uscc)), 401)
    assert_error(api.get(chain(world.enterprise.uscc)), 401)


# --- the chain ---------------------------------------------------------------------------------


def _command_chain(*args: str) -> dict:
    out = io.StringIO()
    with translation.override("zh-hans"):
        call_command("chain", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def test_the_chain_is_exactly_what_the_command_prints(world, api_as):
    api = api_as(world.inspector)

    body = api.get(chain(world.enterprise.uscc), HTTP_ACCEPT_LANGUAGE="zh-hans").json()

    assert body == _command_chain("--enterprise", world.enterprise.uscc)
    assert [link["role"] for link in body["links"]][:3] == ["principal", "lead", "cooperating"]
    lead = next(link for link in body["links"] if link["role"] == "lead")
    assert lead["org_code"] == world.emergency.code


def test_the_chain_takes_grade_industry_day_and_post_like_the_command(world, api_as):
    PostFactory(
        enterprise=world.enterprise, code="WS", title="车间主任", holder=world.safety_manager
    )
    DutyFactory(
        industry=industry("hazchem"),
        department_kind=kind("fire"),
        role="cooperating",
        general_level="county",
        major_level="county",
        valid_from=date(2025, 1, 1),
    )
    api = api_as(world.city_staff)
    uscc = world.enterprise.uscc

    for params, args in (
        ({"grade": "major"}, ["--grade", "major"]),
        ({"on": "2024-06-01"}, ["--on", "2024-06-01"]),
        ({"industry": "machinery"}, ["--industry", "machinery"]),
        ({"post": "WS", "grade": "major"}, ["--post", "WS", "--grade", "major"]),
    ):
        body = api.get(chain(uscc), params, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
        assert body == _command_chain("--enterprise", uscc, *args), params
    major = api.get(chain(uscc), {"grade": "major"}).json()
    assert next(link for link in major["links"] if link["role"] == "lead")["org_code"] == (
        world.city_emergency.code
    )
    # A blind spot (an industry without duties) is answered, not refused.
    assert api.get(chain(uscc), {"industry": "machinery"}).json()["blind_spot"] is True


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"grade": "huge"}, "grade"),
        ({"industry": "nope"}, "industry"),
        ({"on": "2024-13-01"}, "on"),
        ({"on": "yesterday"}, "on"),
        ({"post": "NOPE"}, "post"),
    ],
)
def test_bad_chain_parameters_are_400_with_field_errors(world, api_as, params, field):
    response = api_as(world.inspector).get(chain(world.enterprise.uscc), params)

    body = assert_error(response, 400, "validation_error")
    assert list(body["errors"]) == [field]


def test_the_chain_needs_the_enterprises_scope_for_clients(world, api_as_client):
    assert_error(
        api_as_client(["alerts:write"]).get(chain(world.enterprise.uscc)), 403, "permission_denied"
    )
    assert api_as_client(["enterprises:read"]).get(chain(world.enterprise.uscc)).status_code == 200
