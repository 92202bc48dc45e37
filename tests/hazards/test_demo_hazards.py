"""The demo hazards: every stage shown, the special cases present, idempotent, evidence on storage."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from viewflow.workflow.models import Task

from workflows.hazards import demo
from workflows.hazards.models import (
    Attachment,
    CopyNotice,
    CriteriaClause,
    Event,
    Extension,
    Grade,
    Hazard,
    LocalGrade,
    Plan,
    Rectification,
    Source,
    Stage,
)
from workflows.hazards.selectors import active_task, hazards_visible_to


@pytest.fixture
def loaded(db) -> None:
    call_command("demo_data", stdout=StringIO())


def demo_hazards():
    return Hazard.objects.filter(title__in=[s.title for s in demo.SCENARIOS])


def by_key(key: str) -> Hazard:
    scenario = next(s for s in demo.SCENARIOS if s.key == key)
    return Hazard.objects.get(title=scenario.title)


def counts() -> dict[str, int]:
    models = (Hazard, Event, Attachment, Plan, Rectification, Extension, CopyNotice, Task)
    return {
        **{m.__name__: m._default_manager.count() for m in models},
        "clauses": CriteriaClause.objects.count(),
        "local_grades": LocalGrade.objects.count(),
    }


def test_every_scenario_is_loaded_and_every_stage_has_a_hazard(loaded):
    assert demo_hazards().count() == len(demo.SCENARIOS)
    stages = set(demo_hazards().values_list("stage", flat=True))
    assert stages == set(Stage.values)
    assert demo_hazards().filter(stage=Stage.TRIAGE).count() >= 2


def test_both_grades_every_source_and_several_departments_and_enterprises(loaded):
    hazards = demo_hazards()
    assert set(hazards.values_list("grade", flat=True)) == set(Grade.values)
    assert hazards.values("department").distinct().count() >= 5
    assert hazards.values("enterprise").distinct().count() >= 6
    assert set(hazards.values_list("source", flat=True)) == set(Source.values)
    # Major hazards are with city-level departments, general ones with county-level ones.
    for hazard in hazards.select_related("department__region"):
        expected = "city" if hazard.grade == Grade.MAJOR else "county"
        assert hazard.department.region.level == expected, hazard.code


def test_the_stage_of_every_demo_hazard_matches_its_process(loaded):
    nodes = {
        Stage.TRIAGE: "triage",
        Stage.PLAN: "plan",
        Stage.PLAN_APPROVAL: "approve_plan",
        Stage.RECTIFY: "rectify",
        Stage.VERIFY: "verify",
        Stage.CLOSE_OUT: "close_out",
    }
    for hazard in demo_hazards():
        if hazard.stage in nodes:
            assert active_task(hazard=hazard, node_name=nodes[hazard.stage]) is not None, (
                hazard.code
            )
        else:
            assert hazard.process.finished is not None, hazard.code
        assert Event.objects.filter(hazard=hazard).first().action == "report"


def test_the_special_cases_are_there(loaded):
    failed = Rectification.objects.get(hazard=by_key("D09"), attempt=1)
    assert failed.result == Rectification.Result.FAILED
    assert failed.interim_measures
    assert failed.hazard.stage == Stage.RECTIFY
    assert Event.objects.filter(action="verify_fail").exists()

    handover = Event.objects.get(action="handover")
    assert handover.data == {"from": "141024-emergency", "to": "141024-market"}
    assert handover.hazard.department.code == "141024-market"
    assert handover.hazard.copy_notices.exists()

    statuses = set(Extension.objects.values_list("status", flat=True))
    assert statuses == set(Extension.Status.values)
    pending = Extension.objects.get(status=Extension.Status.PENDING)
    assert pending.hazard.stage == Stage.RECTIFY
    approved = Extension.objects.get(status=Extension.Status.APPROVED)
    assert approved.hazard.deadline_on == approved.granted_on

    withdrawn = demo_hazards().get(stage=Stage.WITHDRAWN)
    assert withdrawn.withdrawal_reason
    assert withdrawn.process.status == "CANCELED"

    listed = demo_hazards().get(stage=Stage.CLOSE_OUT)
    assert listed.is_major
    assert listed.listed_level == "city"
    assert listed.delisted_on is None
    assert listed.listed_by.code == "141000-committee_office"
    assert listed.clause is not None
    assert listed.clause.code == "2"
    closed_major = demo_hazards().get(stage=Stage.CLOSED, grade=Grade.MAJOR)
    assert closed_major.listed_on is not None
    assert closed_major.delisted_on is not None

    returned = Plan.objects.get(status=Plan.Status.RETURNED)
    assert returned.hazard.stage == Stage.PLAN_APPROVAL
    assert returned.hazard.plans.count() == 2


def test_some_open_hazards_are_overdue_and_none_closed_early(loaded):
    today = timezone.localdate()
    overdue = demo_hazards().filter(stage__in=Stage.open_stages(), deadline_on__lt=today)
    assert overdue.count() >= 2
    found = list(demo_hazards().values_list("found_at", flat=True))
    assert max(timezone.now() - f for f in found).days >= 50
    assert all(f <= timezone.now() for f in found)


def test_tip_offs_and_alerts_have_no_photo_and_every_other_hazard_has_one_on_storage(loaded):
    for hazard in demo_hazards():
        photos = hazard.attachments.filter(kind=Attachment.Kind.BEFORE_PHOTO)
        if hazard.source in (Source.TIP_OFF, Source.MONITORING):
            assert not photos.exists(), hazard.code
            assert hazard.finder_name
            continue
        assert photos.exists(), hazard.code
        for attachment in photos:
            assert default_storage.exists(attachment.file.name), attachment.file.name
    for rectification in Rectification.objects.all():
        after = rectification.after_photos.all()
        assert after
        assert all(default_storage.exists(a.file.name) for a in after)


def test_the_demo_people_see_their_hazards_and_not_the_others(loaded):
    from accounts.models import User

    def visible(username: str) -> set[str]:
        user = User.objects.get(username=username)
        return set(hazards_visible_to(user=user).values_list("title", flat=True))

    coal = {s.title for s in demo.SCENARIOS if s.enterprise == demo.COAL_MINE}
    chemical = {s.title for s in demo.SCENARIOS if s.enterprise == demo.CHEMICAL_PLANT}
    assert visible("qy_safety") == coal
    assert visible("hg_principal") == chemical
    assert by_key("D10").title in visible("hd_scj_staff")  # handed over to the market bureau
    assert not visible("hd_nyj_staff") & chemical


def test_loading_again_creates_nothing(loaded):
    before = counts()
    out = StringIO()
    call_command("demo_data", stdout=out)
    assert counts() == before
    assert "hazards: 新建 0 条" in out.getvalue()


def test_the_loader_counts_what_it_created(db):
    from workflows.ops.demo import load_organisations, load_users

    load_users()
    load_organisations()
    created = demo.load_hazards()
    assert created == len(demo.SCENARIOS) + len(demo.CLAUSES) + len(demo.LOCAL_GRADES)
    assert demo.load_hazards() == 0


def test_an_interrupted_load_leaves_no_half_played_hazard_and_resumes(db, monkeypatch):
    from workflows.hazards import services
    from workflows.ops.demo import load_organisations, load_users

    load_users()
    load_organisations()
    failing = next(s.title for s in demo.SCENARIOS if s.key == "D09")
    real_verify = services.rectification_verify

    def verify(**kwargs):
        if kwargs["hazard"].title == failing:
            raise RuntimeError("worker killed")
        return real_verify(**kwargs)

    monkeypatch.setattr(services, "rectification_verify", verify)
    with pytest.raises(RuntimeError):
        demo.load_hazards()
    older = [s for s in demo.SCENARIOS if s.found_days_ago > 27]
    assert demo_hazards().count() == len(older)
    assert not Hazard.objects.filter(title=failing).exists()
    assert not Rectification.objects.filter(hazard__title=failing).exists()

    monkeypatch.setattr(services, "rectification_verify", real_verify)
    assert demo.load_hazards() == len(demo.SCENARIOS) - len(older)
    assert demo_hazards().count() == len(demo.SCENARIOS)
    codes = sorted(int(code[-6:]) for code in demo_hazards().values_list("code", flat=True))
    assert codes == list(range(1, len(demo.SCENARIOS) + 1))  # the rolled-back code was reused


def test_without_organisations_the_loader_says_so(db):
    with pytest.raises(RuntimeError):
        demo.load_hazards()


def test_photos_are_real_jpegs_with_distinct_content():
    first = demo.photo("D01 BEFORE 1", before=True)
    second = demo.photo("D01 AFTER 1", before=False)
    assert first.read(3) == b"\xff\xd8\xff"
    assert first.name == "d01-before-1.jpg"
    first.seek(0)
    assert first.read() != second.read()
