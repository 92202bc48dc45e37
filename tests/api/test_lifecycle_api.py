"""A general and a major hazard driven from report to close-out through the API alone, each persona
with their own personal token; the timeline afterwards is the proof."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from tests.api.conftest import assert_error
from tests.api.test_hazards import HAZARDS, INBOX, QUEUE, action_url, detail_url, task_url
from tests.hazards.personas import photo


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.json()


def claim(api: Any, code: str, node: str) -> int:
    """Find the hazard's task of ``node`` in the queue, claim it, and see it in the inbox."""
    queued = [
        row
        for row in ok(api.get(QUEUE))["results"]
        if row["hazard"]["code"] == code and row["node"] == node
    ]
    assert len(queued) == 1, queued
    task_id = queued[0]["id"]
    assert ok(api.post(task_url(task_id, "claim")))["status"] == "ASSIGNED"
    assert task_id in [row["id"] for row in ok(api.get(INBOX))["results"]]
    return task_id


def step(api: Any, code: str, action: str, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return ok(api.post(action_url(code, action, **kwargs), body, format="json"))


def day(offset: int) -> str:
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


def test_a_general_hazard_from_report_to_closure_through_the_api(world, api_as):
    inspector, colleague, head = (
        api_as(world.inspector),
        api_as(world.colleague),
        api_as(world.head),
    )
    manager, principal = api_as(world.safety_manager), api_as(world.principal)

    # 登记 with a photo (multipart)
    reported = ok(
        inspector.post(
            HAZARDS,
            {
                "enterprise": world.enterprise.uscc,
                "source": "routine",
                "title": "储罐区可燃气体报警器失效",
                "description": "2号储罐区可燃气体报警器未通电。",
                "location": "2号储罐区",
                "grade": "general",
                "before_photos": [photo()],
            },
            format="multipart",
        ),
        201,
    )
    code = reported["code"]
    assert reported["stage"] == "triage"
    assert reported["department"]["code"] == world.emergency.code

    # 分派: the colleague claims the triage from the department's queue and confirms it
    claim(colleague, code, "triage")
    triaged = step(
        colleague, code, "triage", {"grade": "general", "deadline_on": day(20), "comment": "确认"}
    )
    assert triaged["stage"] == "rectify"
    assert triaged["deadline_on"] == day(20)

    # 整改: the safety manager claims it, uploads an after-photo and asks for more time
    claim(manager, code, "rectify")
    uploaded = ok(
        manager.post(
            action_url(code, "attachments"),
            {"kind": "after_photo", "file": photo("after.jpg", "green")},
            format="multipart",
        ),
        201,
    )
    extension = ok(
        manager.post(
            action_url(code, "extensions"),
            {"requested_on": day(30), "reason": "报警器备件未到"},
            format="json",
        ),
        201,
    )
    decided = step(colleague, code, "extension-decision", {"approve": True}, pk=extension["id"])
    assert decided["status"] == "approved"
    assert decided["granted_on"] == day(30)
    assert ok(manager.get(detail_url(code)))["deadline_on"] == day(30)

    rectified = step(
        manager,
        code,
        "rectify",
        {"work_done": "更换报警器", "cost": "1200", "existing_photos": [uploaded["id"]]},
    )
    assert rectified["stage"] == "verify"

    # 复查 fails: back to rectification; the principal tries again with a photo
    claim(colleague, code, "verify")
    failed = step(colleague, code, "verify", {"passed": False, "comment": "报警器仍未通电"})
    assert failed["stage"] == "rectify"
    again = ok(
        principal.post(
            action_url(code, "rectify"),
            {"work_done": "接通电源并测试", "after_photos": [photo("again.jpg", "blue")]},
            format="multipart",
        )
    )
    assert again["stage"] == "verify"

    # The reporter may not verify his own hazard; the head does, and it closes
    assert_error(inspector.post(action_url(code, "verify"), {"passed": True}, format="json"), 403)
    closed = step(head, code, "verify", {"passed": True, "comment": "复查合格"})
    assert closed["stage"] == "closed"
    assert closed["closed_by"]["username"] == "head"
    assert closed["open_task"] is None

    record = ok(inspector.get(detail_url(code)))
    assert [
        (e["action"], e["actor"]["username"] if e["actor"] else None) for e in record["timeline"]
    ] == [
        ("report", "inspector"),
        ("route", None),
        ("triage", "colleague"),
        ("evidence", "safety_a"),  # the after-photo uploaded before the step
        ("extension_request", "safety_a"),
        ("extension_approve", "colleague"),
        ("rectify", "safety_a"),
        ("verify_fail", "colleague"),
        ("rectify", "principal_a"),
        ("verify_pass", "head"),
    ]
    assert [e["to_stage"] for e in record["timeline"]][-3:] == ["rectify", "verify", "closed"]
    assert [r["result"] for r in record["rectifications"]] == ["failed", "passed"]
    assert record["rectifications"][0]["after_photos"] == [uploaded["id"]]
    assert [a["kind"] for a in record["attachments"]] == [
        "before_photo",
        "after_photo",
        "after_photo",
    ]
    assert record["verify_attempts"] == 2
    assert record["extensions"][0]["status"] == "approved"
    assert code in [
        row["code"] for row in ok(inspector.get(HAZARDS, {"stage": "closed"}))["results"]
    ]
    # Nothing is left in anybody's queue or inbox
    for api in (colleague, head, manager, principal):
        assert ok(api.get(QUEUE))["results"] == []
        assert ok(api.get(INBOX))["results"] == []


def test_a_major_hazard_with_a_returned_plan_listing_and_close_out_through_the_api(world, api_as):
    manager, principal = api_as(world.safety_manager), api_as(world.principal)
    city_staff, city_head = api_as(world.city_staff), api_as(world.city_head)
    committee = api_as(world.committee)

    # The enterprise reports its own major hazard (self-check, no photo from the API)
    code = ok(
        manager.post(
            HAZARDS,
            {
                "enterprise": world.enterprise.uscc.lower(),
                "title": "液氯储罐区未设置泄漏检测报警",
                "description": "液氯储罐区无泄漏检测报警装置。",
                "location": "液氯罐区",
                "grade": "major",
            },
            format="json",
        ),
        201,
    )["code"]
    record = ok(manager.get(detail_url(code)))
    assert record["source"] == "self_check"
    assert record["department"]["code"] == world.city_emergency.code  # major: the city bureau

    claim(city_staff, code, "triage")
    triaged = step(city_staff, code, "triage", {"grade": "major"})
    assert triaged["stage"] == "plan"
    assert triaged["open_task"]["owner"]["username"] == "principal_a"

    # 治理方案: the principal finds it in the inbox; returned once, then approved
    plan_task = [r for r in ok(principal.get(INBOX))["results"] if r["hazard"]["code"] == code]
    assert [r["node"] for r in plan_task] == ["plan"]
    plan = {
        "goal": "消除液氯泄漏风险",
        "measures": "加装泄漏检测报警并联锁",
        "funds": "80000",
        "responsible_org": "设备部",
        "responsible_people": "甲厂长",
        "deadline_on": day(60),
        "safety_measures": "降低储量，专人巡检",
        "contingency": "液氯泄漏应急预案",
    }
    assert step(principal, code, "plan", plan)["stage"] == "plan_approval"
    claim(city_staff, code, "approve_plan")
    returned = step(city_staff, code, "plan-review", {"approve": False, "comment": "资金来源不明"})
    assert returned["stage"] == "plan"
    assert (
        step(principal, code, "plan", {**plan, "materials": "专项资金8万元"})["stage"]
        == "plan_approval"
    )
    approved = step(city_staff, code, "plan-review", {"approve": True, "comment": "同意"})
    assert approved["stage"] == "rectify"
    assert approved["deadline_on"] == day(60)
    assert [(p["version"], p["status"]) for p in approved["plans"]] == [
        (1, "returned"),
        (2, "approved"),
    ]

    # 挂牌督办 by the county committee office
    listed = step(committee, code, "listing", {"level": "county", "comment": "县级挂牌"})
    assert listed["listing"]["listed_on"] == timezone.localdate().isoformat()

    # An extension is asked for and rejected; rectification, a failed verification, a second try
    extension = ok(
        manager.post(
            action_url(code, "extensions"),
            {"requested_on": day(90), "reason": "设备采购周期长"},
            format="json",
        ),
        201,
    )
    rejected = step(
        city_staff,
        code,
        "extension-decision",
        {"approve": False, "reason": "应按方案期限完成"},
        pk=extension["id"],
    )
    assert rejected["status"] == "rejected"
    photo_id = ok(
        manager.post(
            action_url(code, "attachments"),
            {"kind": "after_photo", "file": photo("alarm.jpg", "green")},
            format="multipart",
        ),
        201,
    )["id"]
    step(manager, code, "rectify", {"work_done": "加装报警器", "existing_photos": [photo_id]})
    assert (
        step(city_staff, code, "verify", {"passed": False, "comment": "未联锁"})["stage"]
        == "rectify"
    )
    rectified = ok(
        principal.post(
            action_url(code, "rectify"),
            {"work_done": "完成联锁", "cost": "76000.00", "after_photos": [photo("interlock.jpg")]},
            format="multipart",
        )
    )
    assert rectified["stage"] == "verify"
    verified = step(city_staff, code, "verify", {"passed": True, "comment": "复查合格"})
    assert verified["stage"] == "close_out"
    assert verified["open_task"]["node"] == "close_out"

    # 销号: only the head of the city bureau (or the committee office) closes it out; it is delisted
    assert_error(city_staff.post(action_url(code, "close-out"), {}, format="json"), 403)
    closed = step(city_head, code, "close-out", {"comment": "同意销号"})
    assert closed["stage"] == "closed"
    assert closed["closed_by"]["username"] == "city_head"
    assert closed["listing"]["delisted_on"] == timezone.localdate().isoformat()

    record = ok(committee.get(detail_url(code)))
    assert [e["action"] for e in record["timeline"]] == [
        "report",
        "route",
        "triage",
        "plan_submit",
        "plan_return",
        "plan_submit",
        "plan_approve",
        "list",
        "extension_request",
        "extension_reject",
        "evidence",  # the after-photo uploaded before the step
        "rectify",
        "verify_fail",
        "rectify",
        "verify_pass",
        "close",
    ]
    by_action = {e["action"]: e for e in record["timeline"]}
    assert by_action["plan_return"]["comment"] == "资金来源不明"
    assert by_action["close"]["actor"]["username"] == "city_head"
    assert by_action["close"]["from_stage"] == "close_out"
    assert by_action["close"]["to_stage"] == "closed"
    assert [r["result"] for r in record["rectifications"]] == ["failed", "passed"]
    assert record["rectifications"][1]["cost"] == "76000.00"
    assert record["extensions"][0]["status"] == "rejected"
    assert date.fromisoformat(record["deadline_on"]) == timezone.localdate() + timedelta(days=60)
    assert record["verify_attempts"] == 2
    assert record["chain"]["grade"] == "major"


# --- Prefer: return=minimal ------------------------------------------------------------------------


def test_prefer_return_minimal_answers_a_report_and_each_step_with_the_row_and_the_open_task(
    world, api_as
):
    """RFC 7240: a client that only moves hazards on asks for the short answer; it is the ledger row
    with the open task, says so in Preference-Applied, and costs fewer queries than the record."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    minimal = {"HTTP_PREFER": "return=minimal"}
    inspector, colleague = api_as(world.inspector), api_as(world.colleague)
    body = {
        "enterprise": world.enterprise.uscc,
        "source": "routine",
        "title": "配电室门口堆放杂物",
        "description": "配电室门口堆放纸箱。",
        "location": "配电室",
        "grade": "general",
    }
    response = inspector.post(HAZARDS, body, format="json", **minimal)
    reported = ok(response, 201)
    assert response["Preference-Applied"] == "return=minimal"
    assert "Prefer" in response["Vary"]
    assert reported["stage"] == "triage"
    assert reported["department"]["code"] == world.emergency.code
    assert reported["open_task"]["node"] == "triage"
    assert reported["representation"] == "minimal"
    assert "timeline" not in reported
    assert "attachments" not in reported
    code = reported["code"]

    task = reported["open_task"]["id"]
    assert ok(colleague.post(task_url(task, "claim")))["status"] == "ASSIGNED"
    triage = {"grade": "general", "deadline_on": day(20), "comment": "确认"}
    with CaptureQueriesContext(connection) as short:
        response = colleague.post(action_url(code, "triage"), triage, format="json", **minimal)
    triaged = ok(response)
    assert response["Preference-Applied"] == "return=minimal"
    assert triaged["stage"] == "rectify"
    assert triaged["deadline_on"] == day(20)
    assert triaged["open_task"]["node"] == "rectify"
    assert set(triaged) - {"representation"} <= set(ok(colleague.get(detail_url(code))))

    # The same step on another hazard without the preference: the whole record, more queries.
    other = ok(inspector.post(HAZARDS, {**body, "title": "消防通道堵塞"}, format="json"), 201)
    assert "timeline" in other
    ok(colleague.post(task_url(other["open_task"]["id"], "claim")))
    with CaptureQueriesContext(connection) as full:
        response = colleague.post(action_url(other["code"], "triage"), triage, format="json")
    record = ok(response)
    assert "Preference-Applied" not in response
    assert [event["action"] for event in record["timeline"]][-1] == "triage"
    assert len(short.captured_queries) < len(full.captured_queries)


def test_other_preferences_get_the_whole_record(world, api_as):
    response = api_as(world.inspector).post(
        HAZARDS,
        {
            "enterprise": world.enterprise.uscc,
            "source": "routine",
            "title": "叉车无证驾驶",
            "description": "现场叉车司机无证。",
            "location": "仓库",
            "grade": "general",
        },
        format="json",
        HTTP_PREFER="return=representation, respond-async",
    )
    assert "timeline" in ok(response, 201)
    assert "Preference-Applied" not in response
