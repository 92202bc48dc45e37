"""The whole lifecycle through the services, as the web UI and the API call them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from workflows.hazards import services
from workflows.hazards.models import Event, Extension, Hazard, Plan, Rectification, Stage
from workflows.hazards.selectors import active_task, hazards_visible_to

from .personas import photo


def report(world, *, grade="general", reporter=None, source="routine"):
    return services.hazard_report(
        reporter=reporter or world.inspector,
        enterprise=world.enterprise,
        title="储罐区可燃气体报警器失效",
        description="2号储罐区可燃气体报警器未通电。",
        location="2号储罐区",
        source=source,
        grade=grade,
        before_photos=[photo()],
    )


def actions(hazard):
    return list(Event.objects.filter(hazard=hazard).values_list("action", flat=True))


def test_a_report_is_coded_routed_and_queued_for_the_lead_department(world):
    hazard = report(world)
    assert hazard.code == f"141000-{timezone.localdate().year}-000001"
    assert hazard.stage == Stage.TRIAGE
    assert hazard.department == world.emergency
    assert hazard.chain["links"][0]["role"] == "principal"
    assert set(hazard.departments.values_list("code", flat=True)) >= {
        world.emergency.code,
        world.market.code,
    }
    task = active_task(hazard=hazard, node_name="triage")
    assert task is not None
    assert task.owner_permission == f"hazards.dept_{world.emergency.pk}"
    assert actions(hazard) == ["report", "route"]
    assert hazard.attachments.filter(kind="before_photo").count() == 1


def test_codes_are_sequential_per_city_and_year(world):
    first, second = report(world), report(world)
    assert int(second.code[-6:]) == int(first.code[-6:]) + 1


def test_general_lifecycle_through_services(world):
    hazard = report(world)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    hazard.refresh_from_db()
    assert hazard.stage == Stage.RECTIFY
    assert hazard.deadline_on == timezone.localdate() + timedelta(days=15)
    assert hazard.copy_notices.filter(department=world.market).exists()

    services.rectification_submit(
        hazard=hazard,
        user=world.safety_manager,
        work_done="更换报警器",
        cost=Decimal("1200"),
        after_photos=[photo("after.jpg", "green")],
    )
    hazard.refresh_from_db()
    assert hazard.stage == Stage.VERIFY
    services.rectification_verify(
        hazard=hazard, user=world.colleague, passed=True, comment="复查合格"
    )
    hazard.refresh_from_db()
    assert hazard.stage == Stage.CLOSED
    assert hazard.closed_by == world.colleague
    assert hazard.process.status == "DONE"
    assert actions(hazard) == ["report", "route", "triage", "rectify", "verify_pass"]


def test_major_lifecycle_with_plan_returned_once_and_rework(world):
    hazard = report(world, grade="major")
    assert hazard.department == world.city_emergency  # major hazards go to the city level
    services.hazard_triage(hazard=hazard, user=world.city_staff, grade="major")
    hazard.refresh_from_db()
    assert hazard.stage == Stage.PLAN
    assert active_task(hazard=hazard, node_name="plan").owner == world.principal
    plan = {
        "goal": "彻底消除",
        "measures": "更换",
        "funds": Decimal("50000"),
        "responsible_org": "设备部",
        "responsible_people": "甲厂长",
        "deadline_on": timezone.localdate() + timedelta(days=60),
        "safety_measures": "停用储罐",
        "contingency": "应急预案",
    }
    services.plan_submit(hazard=hazard, user=world.principal, **plan)
    with pytest.raises(ValidationError):
        services.plan_review(hazard=hazard, user=world.city_staff, approve=False, comment="")
    services.plan_review(hazard=hazard, user=world.city_staff, approve=False, comment="资金不落实")
    hazard.refresh_from_db()
    assert hazard.stage == Stage.PLAN
    services.plan_submit(hazard=hazard, user=world.principal, **plan)
    services.plan_review(hazard=hazard, user=world.city_staff, approve=True)
    hazard.refresh_from_db()
    assert hazard.stage == Stage.RECTIFY
    assert hazard.deadline_on == plan["deadline_on"]
    assert list(hazard.plans.values_list("status", flat=True)) == [
        Plan.Status.RETURNED,
        Plan.Status.APPROVED,
    ]

    services.rectification_submit(
        hazard=hazard, user=world.safety_manager, work_done="第一次", after_photos=[photo()]
    )
    services.rectification_verify(
        hazard=hazard, user=world.city_staff, passed=False, comment="仍有泄漏"
    )
    hazard.refresh_from_db()
    assert hazard.stage == Stage.RECTIFY
    services.rectification_submit(
        hazard=hazard, user=world.principal, work_done="第二次", after_photos=[photo()]
    )
    services.rectification_verify(hazard=hazard, user=world.city_staff, passed=True)
    hazard.refresh_from_db()
    assert hazard.stage == Stage.CLOSE_OUT
    assert list(hazard.rectifications.values_list("result", flat=True)) == [
        Rectification.Result.FAILED,
        Rectification.Result.PASSED,
    ]
    with pytest.raises(PermissionDenied):
        services.hazard_close(hazard=hazard, user=world.city_staff)
    services.hazard_close(hazard=hazard, user=world.city_head, comment="销号")
    hazard.refresh_from_db()
    assert hazard.stage == Stage.CLOSED
    assert hazard.verify_attempts == 2


def test_handover_moves_the_triage_to_the_other_department(world):
    hazard = report(world)
    services.hazard_handover(
        hazard=hazard, user=world.inspector, department=world.market, reason="属特种设备"
    )
    hazard.refresh_from_db()
    assert hazard.department == world.market
    assert hazard.stage == Stage.TRIAGE
    task = active_task(hazard=hazard, node_name="triage")
    assert task.owner_permission == f"hazards.dept_{world.market.pk}"
    with pytest.raises(PermissionDenied):
        services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    services.hazard_triage(hazard=hazard, user=world.market_staff, grade="general")
    assert actions(hazard)[-2:] == ["handover", "triage"]


def test_extension_approve_and_reject_while_rectifying(world):
    hazard = report(world)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    hazard.refresh_from_db()
    later = hazard.deadline_on + timedelta(days=10)
    ext = services.extension_request(
        hazard=hazard, user=world.safety_manager, requested_on=later, reason="备件未到"
    )
    with pytest.raises(ValidationError):
        services.extension_request(
            hazard=hazard, user=world.safety_manager, requested_on=later, reason="again"
        )
    with pytest.raises(PermissionDenied):
        services.extension_decide(extension=ext, user=world.market_staff, approve=True)
    services.extension_decide(extension=ext, user=world.colleague, approve=True)
    hazard.refresh_from_db()
    assert hazard.deadline_on == later
    assert hazard.stage == Stage.RECTIFY
    second = services.extension_request(
        hazard=hazard, user=world.principal, requested_on=later + timedelta(days=5), reason="再延"
    )
    services.extension_decide(
        extension=second, user=world.colleague, approve=False, reason="理由不充分"
    )
    hazard.refresh_from_db()
    assert hazard.deadline_on == later
    assert second.__class__.objects.get(pk=second.pk).status == Extension.Status.REJECTED


def test_withdrawal_ends_the_process(world):
    hazard = report(world)
    with pytest.raises(PermissionDenied):
        services.hazard_withdraw(hazard=hazard, user=world.safety_manager, reason="x")
    services.hazard_withdraw(hazard=hazard, user=world.colleague, reason="重复登记")
    hazard.refresh_from_db()
    assert hazard.stage == Stage.WITHDRAWN
    assert hazard.process.status == "CANCELED"
    assert active_task(hazard=hazard, node_name="triage") is None


def test_the_reporter_may_not_verify(world):
    hazard = report(world)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    services.rectification_submit(
        hazard=hazard, user=world.safety_manager, work_done="x", after_photos=[photo()]
    )
    with pytest.raises(PermissionDenied):
        services.rectification_verify(hazard=hazard, user=world.inspector, passed=True)


def test_rectification_needs_an_after_photo(world):
    hazard = report(world)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    with pytest.raises(ValidationError) as excinfo:
        services.rectification_submit(hazard=hazard, user=world.safety_manager, work_done="x")
    assert "after_photos" in excinfo.value.message_dict
    hazard.refresh_from_db()
    assert hazard.stage == Stage.RECTIFY


def test_a_report_needs_a_before_photo_except_tip_offs(world):
    with pytest.raises(ValidationError):
        services.hazard_report(
            reporter=world.inspector,
            enterprise=world.enterprise,
            title="t",
            description="d",
            location="l",
            source="routine",
        )
    hazard = services.hazard_report(
        reporter=world.committee,
        enterprise=world.enterprise,
        title="t",
        description="d",
        location="l",
        source="tip_off",
    )
    assert hazard.stage == Stage.TRIAGE


def test_an_enterprise_reports_only_its_own_hazards_as_self_check(world):
    with pytest.raises(ValidationError):
        report(world, reporter=world.safety_manager, source="routine")
    hazard = report(world, reporter=world.safety_manager, source="self_check")
    assert hazard.source == "self_check"
    with pytest.raises(PermissionDenied):
        services.hazard_report(
            reporter=world.employee_b,
            enterprise=world.enterprise,
            title="t",
            description="d",
            location="l",
            source="self_check",
            before_photos=[photo()],
        )


def test_a_double_submit_creates_one_next_task(world):
    hazard = report(world)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    with pytest.raises(ValidationError):
        services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    assert hazard.process.task_set.filter(flow_task_type="HUMAN").count() == 2  # triage + rectify


def test_scoping(world):
    hazard = report(world)
    visible = lambda user: hazards_visible_to(user=user).filter(pk=hazard.pk).exists()  # noqa: E731
    for user in (
        world.inspector,
        world.colleague,
        world.head,
        world.market_staff,
        world.committee,
        world.principal,
        world.safety_manager,
    ):
        assert visible(user), user
    for user in (world.employee_b, world.principal_b, world.other_staff, world.outsider):
        assert not visible(user), user
    assert Hazard.objects.count() == 1


def test_triage_may_order_a_suspension_with_its_scope(world):
    hazard = report(world)
    with pytest.raises(ValidationError) as excinfo:
        services.hazard_triage(hazard=hazard, user=world.colleague, grade="general", suspended=True)
    assert "suspension_scope" in excinfo.value.message_dict
    services.hazard_triage(
        hazard=hazard,
        user=world.colleague,
        grade="general",
        suspended=True,
        suspension_scope="2号储罐区停用",
    )
    hazard.refresh_from_db()
    assert hazard.suspended is True
    assert hazard.suspension_scope == "2号储罐区停用"
    assert hazard.events.get(action="triage").data["suspended"] is True
