"""Task queues (inbox, queue, claim, release) and every human step through the API: scope (404),
validation (400 with the field), permission (403) and stale state (409), from the same services as
the web."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tests.api.conftest import assert_error
from tests.api.test_hazards import (
    FOREIGN,
    INBOX,
    QUEUE,
    action_url,
    actions,
    rectifying,
    report,
    report_b,
    task_url,
)
from tests.hazards.personas import photo
from workflows.hazards import services
from workflows.hazards.models import Extension, Hazard, Plan, Stage
from workflows.hazards.selectors import active_task


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def plan_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "goal": "彻底消除泄漏隐患",
        "measures": "更换储罐阀门",
        "funds": "50000.00",
        "responsible_org": "设备部",
        "responsible_people": "甲厂长",
        "deadline_on": (timezone.localdate() + timedelta(days=60)).isoformat(),
        "safety_measures": "停用储罐，设置警戒",
        "contingency": "泄漏应急预案",
    }
    body.update(overrides)
    return body


def major_at_plan(world: Any) -> Hazard:
    hazard = report(world, grade="major")
    services.hazard_triage(hazard=hazard, user=world.city_staff, grade="major")
    hazard.refresh_from_db()
    return hazard


def major_at_approval(world: Any) -> Hazard:
    hazard = major_at_plan(world)
    services.plan_submit(
        hazard=hazard,
        user=world.principal,
        **{
            **plan_body(),
            "funds": Decimal("50000"),
            "deadline_on": timezone.localdate() + timedelta(days=60),
        },
    )
    hazard.refresh_from_db()
    return hazard


def at_verify(world: Any) -> Hazard:
    hazard = rectifying(world)
    services.rectification_submit(
        hazard=hazard, user=world.safety_manager, work_done="已更换", after_photos=[photo()]
    )
    hazard.refresh_from_db()
    return hazard


def major_at_close_out(world: Any) -> Hazard:
    hazard = major_at_approval(world)
    services.plan_review(hazard=hazard, user=world.city_staff, approve=True)
    services.rectification_submit(
        hazard=hazard, user=world.safety_manager, work_done="已更换", after_photos=[photo()]
    )
    services.rectification_verify(hazard=hazard, user=world.city_staff, passed=True)
    hazard.refresh_from_db()
    return hazard


# --- queues ------------------------------------------------------------------------------------


def test_the_queue_inbox_claim_and_release_round_trip(world, api_as):
    hazard = report(world)
    task = active_task(hazard=hazard, node_name="triage")
    colleague, inspector = api_as(world.colleague), api_as(world.inspector)
    assert ids(colleague.get(QUEUE)) == [task.pk]
    assert ids(inspector.get(QUEUE)) == [task.pk]
    row = colleague.get(QUEUE).json()["results"][0]
    assert row["node"] == "triage"
    assert row["status"] == "NEW"
    assert row["hazard"]["code"] == hazard.code
    assert row["actions"] == ["triage", "handover"]
    assert ids(colleague.get(INBOX)) == []

    claimed = colleague.post(task_url(task.pk, "claim"))
    assert claimed.status_code == 200, claimed.content
    assert claimed.json()["owner"]["username"] == "colleague"
    assert claimed.json()["status"] == "ASSIGNED"
    assert ids(colleague.get(INBOX)) == [task.pk]
    assert ids(inspector.get(QUEUE)) == []
    assert_error(inspector.post(task_url(task.pk, "claim")), 409, "conflict")
    assert_error(inspector.post(task_url(task.pk, "release")), 403, "permission_denied")
    # Claimed by the colleague: the inspector may not complete it either.
    assert_error(
        inspector.post(action_url(hazard, "triage"), {"grade": "general"}, format="json"), 403
    )

    released = colleague.post(task_url(task.pk, "release"))
    assert released.status_code == 200
    assert released.json()["owner"] is None
    assert ids(inspector.get(QUEUE)) == [task.pk]
    assert_error(colleague.post(task_url(task.pk, "release")), 409, "conflict")


def test_the_principal_finds_the_plan_in_the_inbox_already_assigned(world, api_as):
    hazard = major_at_plan(world)
    task = active_task(hazard=hazard, node_name="plan")
    assert ids(api_as(world.principal).get(INBOX)) == [task.pk]
    assert ids(api_as(world.safety_manager).get(QUEUE)) == []


def test_queues_show_nothing_of_other_tenants(world, api_as):
    report_b(world)
    report(world)
    for persona in ("outsider", "employee_b", "market_staff", "principal"):
        assert ids(api_as(getattr(world, persona)).get(QUEUE)) == [], persona
    assert len(ids(api_as(world.other_staff).get(QUEUE))) == 1


@pytest.mark.parametrize("persona", FOREIGN)
def test_claim_and_release_of_a_task_outside_the_scope_are_404(world, api_as, persona):
    task = active_task(hazard=report(world), node_name="triage")
    api = api_as(getattr(world, persona))
    assert_error(api.post(task_url(task.pk, "claim")), 404, "not_found")
    assert_error(api.post(task_url(task.pk, "release")), 404, "not_found")
    task.refresh_from_db()
    assert task.owner is None


def test_a_cooperating_department_sees_the_task_but_may_not_claim_it(world, api_as):
    task = active_task(hazard=report(world), node_name="triage")
    assert_error(api_as(world.market_staff).post(task_url(task.pk, "claim")), 403)


@pytest.mark.parametrize(
    "value", ["0", "-1", "abc", "99999999999999999999999", "9223372036854775807"]
)
def test_odd_task_ids_are_404(world, api_as, value):
    assert_error(api_as(world.inspector).post(f"/api/v1/tasks/{value}/claim"), 404)


def test_an_api_client_claims_only_with_the_tasks_scope(world, api_as_client):
    task = active_task(hazard=report(world), node_name="triage")
    assert_error(api_as_client(["hazards:read"]).post(task_url(task.pk, "claim")), 403)
    response = api_as_client(["hazards:read", "tasks:write"]).post(task_url(task.pk, "claim"))
    assert response.status_code == 200, response.content


def test_get_on_a_step_is_405(world, api_as):
    hazard = report(world)
    assert_error(api_as(world.inspector).get(action_url(hazard, "triage")), 405)


# --- scope of every step -----------------------------------------------------------------------

STEP_BODIES: dict[str, dict[str, Any]] = {
    "triage": {"grade": "general"},
    "handover": {"department": "__market__", "reason": "属市场监管"},
    "plan": plan_body(),
    "plan-review": {"approve": True},
    "rectify": {"work_done": "已更换", "existing_photos": []},
    "extensions": {"requested_on": "2099-01-01", "reason": "备件未到"},
    "verify": {"passed": True},
    "close-out": {},
    "withdraw": {"reason": "重复登记"},
    "listing": {"level": "county"},
}


@pytest.mark.parametrize("persona", FOREIGN)
def test_every_step_on_a_hazard_outside_the_scope_is_404_and_changes_nothing(
    world, api_as, persona
):
    hazard = rectifying(world)
    extension = services.extension_request(
        hazard=hazard,
        user=world.safety_manager,
        requested_on=hazard.deadline_on + timedelta(days=5),
        reason="r",
    )
    api = api_as(getattr(world, persona))
    before = actions(hazard)
    for step, body in STEP_BODIES.items():
        body = {k: (world.market.code if v == "__market__" else v) for k, v in body.items()}
        assert_error(api.post(action_url(hazard, step), body, format="json"), 404, "not_found")
        assert_error(api.post(action_url(hazard, step), {}, format="json"), 404)
    decision = action_url(hazard, "extension-decision", pk=extension.pk)
    assert_error(api.post(decision, {"approve": True}, format="json"), 404)
    assert actions(hazard) == before
    extension.refresh_from_db()
    assert extension.status == Extension.Status.PENDING


def test_a_decision_on_an_extension_of_another_hazard_is_404(world, api_as):
    first, second = rectifying(world), rectifying(world)
    extension = services.extension_request(
        hazard=first,
        user=world.safety_manager,
        requested_on=first.deadline_on + timedelta(days=5),
        reason="r",
    )
    url = action_url(second, "extension-decision", pk=extension.pk)
    assert_error(api_as(world.colleague).post(url, {"approve": True}, format="json"), 404)
    extension.refresh_from_db()
    assert extension.status == Extension.Status.PENDING


# --- validation (400 with the field) -----------------------------------------------------------


def _post(api: Any, hazard: Hazard, step: str, body: dict[str, Any], **kwargs: Any) -> Any:
    return api.post(action_url(hazard, step, **kwargs), body, format="json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "grade"),
        ({"grade": "minor"}, "grade"),
        ({"grade": "general", "deadline_on": "2020-01-01"}, "deadline_on"),  # the service
        ({"grade": "general", "deadline_on": "soon"}, "deadline_on"),
        ({"grade": "general", "local_grade": "no-such"}, "local_grade"),
        ({"grade": "general", "clause": 999999}, "clause"),
    ],
)
def test_triage_validation(world, api_as, body, field):
    hazard = report(world)
    assert (
        field in assert_error(_post(api_as(world.colleague), hazard, "triage", body), 400)["errors"]
    )
    hazard.refresh_from_db()
    assert hazard.stage == Stage.TRIAGE


def test_handover_validation(world, api_as):
    hazard = report(world)
    api = api_as(world.colleague)
    cases = [
        ({"reason": "x"}, "department"),
        ({"department": "no-such", "reason": "x"}, "department"),
        ({"department": world.market.code}, "reason"),
        ({"department": world.market.code, "reason": "   "}, "reason"),
        ({"department": world.emergency.code, "reason": "x"}, "department"),  # already there
        ({"department": world.township_gov.code, "reason": "x"}, "department"),  # the service
    ]
    for body, field in cases:
        assert field in assert_error(_post(api, hazard, "handover", body), 400)["errors"], body
    hazard.refresh_from_db()
    assert hazard.department == world.emergency


def test_plan_validation(world, api_as):
    hazard = major_at_plan(world)
    api = api_as(world.principal)
    cases = [
        (plan_body(funds="-1"), "funds"),
        (plan_body(funds="1.234"), "funds"),
        (plan_body(goal=""), "goal"),
        (plan_body(deadline_on="2020-01-01"), "deadline_on"),  # the service
        (plan_body(responsible_org="x" * 201), "responsible_org"),
    ]
    for body, field in cases:
        assert field in assert_error(_post(api, hazard, "plan", body), 400)["errors"], body
    assert not Plan.objects.exists()


def test_plan_review_validation(world, api_as):
    hazard = major_at_approval(world)
    api = api_as(world.city_staff)
    assert "approve" in assert_error(_post(api, hazard, "plan-review", {}), 400)["errors"]
    assert (
        "approve"
        in assert_error(_post(api, hazard, "plan-review", {"approve": "maybe"}), 400)["errors"]
    )
    returned = _post(api, hazard, "plan-review", {"approve": False, "comment": ""})
    assert "comment" in assert_error(returned, 400)["errors"]
    assert hazard.plans.get().status == Plan.Status.SUBMITTED


def test_rectify_validation(world, api_as):
    hazard = rectifying(world)
    other = rectifying(world)
    api = api_as(world.safety_manager)
    assert (
        "after_photos"
        in assert_error(_post(api, hazard, "rectify", {"work_done": "x"}), 400)["errors"]
    )
    assert (
        "work_done"
        in assert_error(
            _post(api, hazard, "rectify", {"work_done": "", "existing_photos": []}), 400
        )["errors"]
    )
    assert (
        "cost"
        in assert_error(_post(api, hazard, "rectify", {"work_done": "x", "cost": "-5"}), 400)[
            "errors"
        ]
    )
    foreign_photo = other.attachments.get()  # a before-photo of another hazard
    own_before_photo = hazard.attachments.get()
    for photo_id in (foreign_photo.pk, own_before_photo.pk, 0):
        response = _post(api, hazard, "rectify", {"work_done": "x", "existing_photos": [photo_id]})
        fields = assert_error(response, 400)["errors"]
        assert any(f.startswith("existing_photos") for f in fields), (photo_id, fields)
    hazard.refresh_from_db()
    assert hazard.stage == Stage.RECTIFY
    assert not hazard.rectifications.exists()


def test_extension_validation(world, api_as):
    hazard = rectifying(world)
    api = api_as(world.safety_manager)
    earlier = (hazard.deadline_on - timedelta(days=1)).isoformat()
    cases = [
        ({"reason": "x"}, "requested_on"),
        ({"requested_on": "2099-01-01"}, "reason"),
        ({"requested_on": earlier, "reason": "x"}, "requested_on"),  # the service
    ]
    for body, field in cases:
        assert field in assert_error(_post(api, hazard, "extensions", body), 400)["errors"], body
    assert not hazard.extensions.exists()


def test_extension_decision_validation(world, api_as):
    hazard = rectifying(world)
    extension = services.extension_request(
        hazard=hazard,
        user=world.safety_manager,
        requested_on=hazard.deadline_on + timedelta(days=5),
        reason="r",
    )
    api = api_as(world.colleague)
    cases = [
        ({}, "approve"),
        ({"approve": False, "reason": ""}, "reason"),  # the service
        ({"approve": True, "granted_on": hazard.deadline_on.isoformat()}, "granted_on"),
    ]
    for body, field in cases:
        response = _post(api, hazard, "extension-decision", body, pk=extension.pk)
        assert field in assert_error(response, 400)["errors"], body
    extension.refresh_from_db()
    assert extension.status == Extension.Status.PENDING


def test_verify_withdraw_and_listing_validation(world, api_as):
    hazard = at_verify(world)
    api = api_as(world.colleague)
    assert "passed" in assert_error(_post(api, hazard, "verify", {}), 400)["errors"]
    failed = _post(api, hazard, "verify", {"passed": False, "comment": " "})
    assert "comment" in assert_error(failed, 400)["errors"]
    assert "reason" in assert_error(_post(api, hazard, "withdraw", {}), 400)["errors"]
    major = major_at_plan(world)
    listing = _post(api_as(world.committee), major, "listing", {"level": "province"})
    assert "level" in assert_error(listing, 400)["errors"]
    hazard.refresh_from_db()
    assert hazard.stage == Stage.VERIFY


def test_a_body_that_is_not_an_object_is_400_not_500(world, api_as):
    hazard = report(world)
    api = api_as(world.colleague)
    for raw in ("[1, 2]", '"grade"', "{not json"):
        response = api.post(action_url(hazard, "triage"), raw, content_type="application/json")
        assert_error(response, 400)
    assert_error(
        api.post(action_url(hazard, "triage"), "grade=general", content_type="text/plain"), 415
    )


# --- permission (403: visible, but not theirs to do) ---------------------------------------------


def test_steps_refused_to_people_in_the_scope_who_may_not_act(world, api_as):
    triage = report(world)
    assert_error(_post(api_as(world.market_staff), triage, "triage", {"grade": "general"}), 403)
    assert_error(_post(api_as(world.principal), triage, "triage", {"grade": "general"}), 403)
    assert_error(
        _post(
            api_as(world.safety_manager),
            triage,
            "handover",
            {"department": world.market.code, "reason": "x"},
        ),
        403,
    )
    assert_error(_post(api_as(world.safety_manager), triage, "withdraw", {"reason": "x"}), 403)
    assert_error(_post(api_as(world.market_staff), triage, "withdraw", {"reason": "x"}), 403)

    plan = major_at_plan(world)
    assert_error(_post(api_as(world.city_staff), plan, "plan", plan_body()), 403)
    assert_error(_post(api_as(world.inspector), plan, "listing", {"level": "county"}), 403)

    approval = major_at_approval(world)
    assert_error(_post(api_as(world.principal), approval, "plan-review", {"approve": True}), 403)

    rectify = rectifying(world)
    body = {"work_done": "x"}
    assert_error(
        api_as(world.market_staff).post(
            action_url(rectify, "rectify"), {**body, "after_photos": [photo()]}, format="multipart"
        ),
        403,
    )
    later = (rectify.deadline_on + timedelta(days=3)).isoformat()
    assert_error(
        _post(
            api_as(world.inspector), rectify, "extensions", {"requested_on": later, "reason": "x"}
        ),
        403,
    )
    extension = services.extension_request(
        hazard=rectify,
        user=world.safety_manager,
        requested_on=rectify.deadline_on + timedelta(days=3),
        reason="r",
    )
    decision = action_url(rectify, "extension-decision", pk=extension.pk)
    assert_error(api_as(world.market_staff).post(decision, {"approve": True}, format="json"), 403)
    assert_error(api_as(world.principal).post(decision, {"approve": True}, format="json"), 403)

    verify = at_verify(world)
    assert_error(
        _post(api_as(world.inspector), verify, "verify", {"passed": True}), 403
    )  # reporter
    assert_error(_post(api_as(world.safety_manager), verify, "verify", {"passed": True}), 403)

    close = major_at_close_out(world)
    assert_error(_post(api_as(world.city_staff), close, "close-out", {}), 403)
    for hazard in (triage, plan, approval, rectify, verify, close):
        before = hazard.stage
        hazard.refresh_from_db()
        assert hazard.stage == before


def test_an_api_client_completes_steps_only_with_the_tasks_scope(world, api_as_client):
    hazard = report(world)
    reader = api_as_client(["hazards:read", "hazards:write"])
    assert_error(_post(reader, hazard, "triage", {"grade": "general"}), 403)
    writer = api_as_client(["tasks:write"])
    response = _post(writer, hazard, "triage", {"grade": "general"})
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "rectify"


# --- state conflicts (409) ------------------------------------------------------------------------


def test_a_double_triage_is_409_and_creates_one_next_task(world, api_as):
    hazard = report(world)
    api = api_as(world.colleague)
    first = _post(api, hazard, "triage", {"grade": "general", "comment": "确认"})
    assert first.status_code == 200, first.content
    assert first.json()["stage"] == "rectify"
    assert first.json()["open_task"]["node"] == "rectify"
    assert_error(_post(api, hazard, "triage", {"grade": "general"}), 409, "conflict")
    assert_error(
        _post(api, hazard, "handover", {"department": world.market.code, "reason": "x"}), 409
    )
    assert hazard.process.task_set.filter(flow_task_type="HUMAN").count() == 2
    assert actions(hazard).count("triage") == 1


def test_steps_out_of_order_are_409(world, api_as):
    triage = report(world)
    assert_error(
        _post(
            api_as(world.safety_manager),
            triage,
            "rectify",
            {"work_done": "x", "existing_photos": [triage.attachments.get().pk]},
        ),
        400,
    )
    assert_error(_post(api_as(world.colleague), triage, "verify", {"passed": True}), 409)
    rectify = rectifying(world)
    assert_error(_post(api_as(world.colleague), rectify, "verify", {"passed": True}), 409)
    assert_error(_post(api_as(world.head), rectify, "close-out", {}), 409)  # general: no close-out
    assert_error(_post(api_as(world.committee), rectify, "listing", {"level": "county"}), 409)
    assert_error(
        _post(
            api_as(world.safety_manager),
            triage,
            "extensions",
            {"requested_on": "2099-01-01", "reason": "x"},
        ),
        409,
    )


def test_double_plan_review_decision_and_withdrawal_are_409(world, api_as):
    approval = major_at_approval(world)
    api = api_as(world.city_staff)
    assert _post(api, approval, "plan-review", {"approve": True}).status_code == 200
    assert_error(_post(api, approval, "plan-review", {"approve": True}), 409)

    rectify = rectifying(world)
    later = (rectify.deadline_on + timedelta(days=3)).isoformat()
    enterprise = api_as(world.safety_manager)
    created = _post(enterprise, rectify, "extensions", {"requested_on": later, "reason": "备件"})
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "pending"
    assert_error(
        _post(enterprise, rectify, "extensions", {"requested_on": later, "reason": "再次"}), 409
    )
    decision = action_url(rectify, "extension-decision", pk=created.json()["id"])
    department = api_as(world.colleague)
    decided = department.post(decision, {"approve": False, "reason": "理由不足"}, format="json")
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "rejected"
    assert_error(department.post(decision, {"approve": True}, format="json"), 409)

    withdrawn = _post(department, rectify, "withdraw", {"reason": "重复登记"})
    assert withdrawn.status_code == 200
    assert withdrawn.json()["stage"] == "withdrawn"
    assert withdrawn.json()["open_task"] is None
    assert_error(_post(department, rectify, "withdraw", {"reason": "again"}), 409)
    assert_error(
        _post(enterprise, rectify, "rectify", {"work_done": "x", "existing_photos": []}), 400
    )


def test_listing_twice_is_409_and_close_out_delists(world, api_as):
    hazard = major_at_close_out(world)
    committee = api_as(world.committee)
    listed = _post(committee, hazard, "listing", {"level": "county", "comment": "挂牌"})
    assert listed.status_code == 200, listed.content
    assert listed.json()["listing"]["level"] == "county"
    assert listed.json()["listing"]["unit"]["code"] == world.county_committee.code
    assert_error(_post(committee, hazard, "listing", {"level": "city"}), 409)
    closed = _post(api_as(world.city_head), hazard, "close-out", {"comment": "销号"})
    assert closed.status_code == 200, closed.content
    assert closed.json()["stage"] == "closed"
    assert closed.json()["listing"]["delisted_on"] == timezone.localdate().isoformat()
    assert_error(_post(api_as(world.city_head), hazard, "close-out", {}), 409)


def test_ids_beyond_the_database_range_are_field_errors_not_500(world, api_as):
    hazard = rectifying(world)
    huge = 10**40
    response = _post(
        api_as(world.safety_manager),
        hazard,
        "rectify",
        {"work_done": "x", "existing_photos": [huge]},
    )
    assert any(f.startswith("existing_photos") for f in assert_error(response, 400)["errors"])
    triage = report(world)
    for clause in (huge, -1, "abc", True):
        response = _post(
            api_as(world.colleague), triage, "triage", {"grade": "major", "clause": clause}
        )
        assert "clause" in assert_error(response, 400)["errors"], clause


def test_text_fields_must_be_text(world, api_as):
    hazard = report(world)
    response = _post(api_as(world.colleague), hazard, "withdraw", {"reason": 0})
    assert "reason" in assert_error(response, 400)["errors"]
    hazard.refresh_from_db()
    assert hazard.stage == Stage.TRIAGE


def test_triage_through_the_api_can_order_a_suspension(world, api_as):
    from tests.hazards.personas import photo
    from workflows.hazards import services

    hazard = services.hazard_report(
        reporter=world.inspector,
        enterprise=world.enterprise,
        title="t",
        description="d",
        location="l",
        source="routine",
        before_photos=[photo()],
    )
    api = api_as(world.colleague)
    response = api.post(
        f"/api/v1/hazards/{hazard.code}/triage",
        {"grade": "general", "suspended": True, "suspension_scope": "一车间停产"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["suspended"] is True
    assert response.json()["suspension_scope"] == "一车间停产"
