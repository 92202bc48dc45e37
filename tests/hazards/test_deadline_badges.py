"""Deadlines made visible: overdue and due-soon badges on the ledger, the hazard page, the task lists
and the enterprise portal; the ledger's overdue filter; reminders and escalations on the timeline;
and the demo, whose near-due and overdue hazards are chased by the first sweep after loading."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from django.utils import timezone, translation

from workflows.deadlines.models import Deadline
from workflows.deadlines.policy import REMINDER, RUNG, action_times, end_of_day, local_date
from workflows.deadlines.services import deadlines_sweep
from workflows.hazards import demo, services, views
from workflows.hazards.deadlines import CLOCKED, SUBJECT
from workflows.hazards.flows import HazardFlow
from workflows.hazards.models import Event, Hazard, HazardTask, Stage
from workflows.hazards.selectors import clock_badge, hazard_clock_badge
from workflows.notifications.models import Notification

from .personas import photo

QUEUE = "hazard:queue"


@pytest.fixture(autouse=True)
def _urlconf_loaded() -> None:
    """Node URLs (``flow_task.reverse``) exist only once the urlconf was imported."""
    get_resolver().url_patterns  # noqa: B018


# --- helpers -------------------------------------------------------------------------------------


def report(world: Any, title: str, *, photos: bool = False) -> Hazard:
    return services.hazard_report(
        reporter=world.inspector,
        enterprise=world.enterprise,
        title=title,
        description="d",
        location="l",
        source="routine" if photos else "tip_off",
        before_photos=[photo()] if photos else [],
    )


def rectifying(world: Any, title: str, *, in_days: int) -> Hazard:
    """A hazard of enterprise A triaged with a rectification deadline ``in_days`` from today
    (negative: moved into the past afterwards, as services refuse past deadlines)."""
    hazard = report(world, title)
    today = timezone.localdate()
    services.hazard_triage(
        hazard=hazard,
        user=world.colleague,
        grade="general",
        deadline_on=today + timedelta(days=max(in_days, 1)),
    )
    if in_days < 1:
        backdate(hazard, today + timedelta(days=in_days))
    hazard.refresh_from_db()
    return hazard


def backdate(hazard: Hazard, day: Any) -> None:
    """Test data: the rectification deadline and its clock moved to ``day``."""
    Hazard.objects.filter(pk=hazard.pk).update(deadline_on=day)
    Deadline.objects.filter(
        subject_type=SUBJECT, subject_id=hazard.pk, stage="rectify", open=True
    ).update(due_at=end_of_day(day))


def clock(hazard: Hazard, stage: str) -> Deadline:
    return Deadline.objects.get(subject_type=SUBJECT, subject_id=hazard.pk, stage=stage, open=True)


def segment(html: str, start: str, end: str) -> str:
    """The part of ``html`` from the first ``start`` to the next ``end`` after it."""
    begin = html.index(start)
    return html[begin : html.index(end, begin + len(start))]


def badge_of(fragment: str) -> tuple[str, str] | None:
    """(state, days) of the first deadline badge in ``fragment``, or None."""
    found = re.search(
        r'class="sc-badge sc-clock sc-badge--([\w-]+)" data-clock="\1" data-days="(\d+)"', fragment
    )
    return (found.group(1), found.group(2)) if found else None


@pytest.fixture
def three(world: Any) -> dict[str, Hazard]:
    """Three rectifying hazards of enterprise A: 3 days overdue, due in 2 days, due in 10 days."""
    return {
        "overdue": rectifying(world, "逾期隐患", in_days=-3),
        "soon": rectifying(world, "临期隐患", in_days=2),
        "normal": rectifying(world, "正常隐患", in_days=10),
    }


# --- the badge itself ----------------------------------------------------------------------------


def test_the_badge_counts_local_calendar_days():
    now = timezone.now()
    today = local_date(now)
    overdue = clock_badge(stage="rectify", due_at=end_of_day(today - timedelta(days=3)), now=now)
    assert (overdue.state, overdue.days, overdue.urgent) == ("overdue", 3, True)
    with translation.override("en"):
        assert overdue.label == "3 days overdue"
        soon = clock_badge(stage="verify", due_at=end_of_day(today + timedelta(days=2)), now=now)
        assert (soon.state, soon.days, soon.label) == ("due-soon", 2, "due in 2 days")
        today_badge = clock_badge(stage="triage", due_at=end_of_day(today), now=now)
        assert (today_badge.state, today_badge.label) == ("due-soon", "due today")
        later = clock_badge(stage="plan", due_at=end_of_day(today + timedelta(days=10)), now=now)
        assert (later.state, later.urgent, later.label) == ("on-time", False, "on schedule")
    just_late = clock_badge(stage="rectify", due_at=now - timedelta(minutes=1), now=now)
    assert just_late.overdue
    assert just_late.days_overdue >= 1


def test_a_hazard_without_a_clock_falls_back_to_its_rectification_deadline(world):
    hazard = rectifying(world, "旧数据隐患", in_days=-2)
    Deadline.objects.filter(subject_id=hazard.pk).delete()  # written before the clocks existed
    badge = hazard_clock_badge(hazard)
    assert badge is not None
    assert (badge.state, badge.days) == ("overdue", 2)
    Hazard.objects.filter(pk=hazard.pk).update(stage=Stage.WITHDRAWN, withdrawal_reason="x")
    hazard.refresh_from_db()
    assert hazard_clock_badge(hazard) is None


# --- where the badges are shown ------------------------------------------------------------------


def test_the_ledger_shows_overdue_and_due_soon_badges_with_the_days(world, client, three):
    client.force_login(world.head)
    response = client.get(reverse("hazards:list"))
    html = response.content.decode()
    rows = {h.pk: badge for h, badge in response.context["rows"]}
    assert (rows[three["overdue"].pk].state, rows[three["overdue"].pk].days) == ("overdue", 3)
    assert (rows[three["soon"].pk].state, rows[three["soon"].pk].days) == ("due-soon", 2)
    assert rows[three["normal"].pk].state == "on-time"

    def row(hazard: Hazard) -> str:
        return segment(html, f'data-hazard="{hazard.code}"', "</tr>")

    assert badge_of(row(three["overdue"])) == ("overdue", "3")
    assert badge_of(row(three["soon"])) == ("due-soon", "2")
    assert badge_of(row(three["normal"])) is None
    assert 'sc-row--overdue" data-hazard="{}"'.format(three["overdue"].code) in html
    assert 'sc-row--due-soon" data-hazard="{}"'.format(three["soon"].code) in html
    assert 'sc-row" data-hazard="{}"'.format(three["normal"].code) in html


def test_the_hazard_page_lists_each_open_stage_with_its_due_moment_and_state(world, client, three):
    client.force_login(world.safety_manager)
    expected = {"overdue": ("overdue", "3"), "soon": ("due-soon", "2"), "normal": ("on-time", "10")}
    for name, hazard in three.items():
        response = client.get(reverse("hazards:detail", args=[hazard.pk]))
        html = response.content.decode()
        section = segment(html, 'id="deadlines"', "</section>")
        item = segment(section, 'data-stage="rectify"', "</li>")
        assert badge_of(item) == expected[name], name
        due = timezone.localtime(clock(hazard, "rectify").due_at).strftime("%Y-%m-%d %H:%M")
        assert due in item
        header = segment(html, 'class="sc-badges"', "</div>")
        assert badge_of(header) == (expected[name] if name != "normal" else None), name
        assert response.context["overdue"] is (name == "overdue")


def test_a_pending_extension_shows_its_own_clock_on_the_hazard_page(world, client, three):
    hazard = three["normal"]
    services.extension_request(
        hazard=hazard,
        user=world.safety_manager,
        requested_on=hazard.deadline_on + timedelta(days=5),
        reason="备件",
    )
    client.force_login(world.head)
    response = client.get(reverse("hazards:detail", args=[hazard.pk]))
    stages = [row["deadline"].stage for row in response.context["deadlines"]]
    assert sorted(stages) == ["extension_decision", "rectify"]


def test_the_enterprise_queue_shows_the_badges_of_the_rectification_tasks(world, client, three):
    client.force_login(world.safety_manager)
    html = client.get(reverse(QUEUE)).content.decode()
    expected = {"overdue": ("overdue", "3"), "soon": ("due-soon", "2"), "normal": None}
    for name, hazard in three.items():
        task = HazardTask.objects.get(process_id=hazard.process_id, status="NEW")
        item = segment(html, f'data-task="{task.pk}"', "</li>")
        assert badge_of(item) == expected[name], name


def test_the_inbox_and_the_archive_show_clocks_of_open_tasks_only(world, client, three):
    hazard = three["overdue"]
    task = HazardTask.objects.get(process_id=hazard.process_id, status="NEW")
    services.task_claim(task=task, user=world.safety_manager)
    client.force_login(world.safety_manager)
    inbox = client.get(reverse("hazard:inbox")).content.decode()
    assert badge_of(segment(inbox, f'data-task="{task.pk}"', "</li>")) == ("overdue", "3")
    # The department's finished triage task of the same hazard: no clock (the stage is over).
    triage = HazardTask.objects.get(process_id=hazard.process_id, flow_task=HazardFlow.triage)
    assert triage.owner == world.colleague
    assert triage.finished is not None
    client.force_login(world.colleague)
    archive = client.get(reverse("hazard:archive")).content.decode()
    assert badge_of(segment(archive, f'data-task="{triage.pk}"', "</li>")) is None


def test_the_department_queue_shows_a_triage_clock(world, client):
    hazard = report(world, "待核定隐患")
    Deadline.objects.filter(subject_id=hazard.pk, stage="triage").update(
        due_at=timezone.now() - timedelta(days=2)
    )
    task = HazardTask.objects.get(
        process_id=hazard.process_id, status="NEW", flow_task_type="HUMAN"
    )
    client.force_login(world.head)
    html = client.get(reverse(QUEUE)).content.decode()
    assert badge_of(segment(html, f'data-task="{task.pk}"', "</li>")) == ("overdue", "2")
    dashboard = client.get(reverse("hazard:index")).content.decode()
    assert badge_of(segment(dashboard, f'data-task="{task.pk}"', "</li>")) == ("overdue", "2")


def test_the_portal_shows_the_enterprises_own_deadlines(world, client, three):
    other = services.hazard_report(
        reporter=world.other_staff,
        enterprise=world.other_enterprise,
        title="乙厂隐患",
        description="d",
        location="l",
        source="tip_off",
    )
    Deadline.objects.filter(subject_id=other.pk).update(due_at=timezone.now() - timedelta(days=9))
    client.force_login(world.safety_manager)
    response = client.get(reverse("hazards:portal"))
    html = response.content.decode()
    section = segment(html, 'id="deadlines"', "</section>")
    assert other.code not in section  # another tenant's clock is not shown
    listed = re.findall(r'data-hazard="([^"]+)" data-stage="rectify"', section)
    # The first due first: the overdue one, then the one due soon, then the normal one.
    assert listed == [three["overdue"].code, three["soon"].code, three["normal"].code]
    expected = {"overdue": ("overdue", "3"), "soon": ("due-soon", "2"), "normal": ("on-time", "10")}
    for name, hazard in three.items():
        item = segment(section, f'data-hazard="{hazard.code}"', "</li>")
        assert badge_of(item) == expected[name], name
        open_item = segment(
            segment(html, 'id="open-hazards"', "</section>"),
            f'data-hazard="{hazard.code}"',
            "</li>",
        )
        assert badge_of(open_item) == (expected[name] if name != "normal" else None), name
    tasks = {t["hazard"].pk: t["clock"] for t in response.context["tasks"]}
    assert tasks[three["overdue"].pk].state == "overdue"
    assert tasks[three["soon"].pk].state == "due-soon"
    assert tasks[three["normal"].pk].urgent is False


# --- the overdue filter --------------------------------------------------------------------------


def test_the_overdue_filter_uses_the_open_deadline_of_every_stage(world, client, three):
    late_triage = report(world, "核定逾期隐患")  # no rectification deadline at all yet
    Deadline.objects.filter(subject_id=late_triage.pk, stage="triage").update(
        due_at=timezone.now() - timedelta(hours=1)
    )
    closed = rectifying(world, "已整改隐患", in_days=-5)
    services.rectification_submit(
        hazard=closed, user=world.safety_manager, work_done="x", after_photos=[photo()]
    )
    services.rectification_verify(hazard=closed, user=world.colleague, passed=True)
    closed.refresh_from_db()
    assert closed.deadline_on < timezone.localdate()  # its rectification deadline passed …
    assert not Deadline.objects.filter(subject_id=closed.pk, stage="rectify", open=True).exists()
    client.force_login(world.head)
    response = client.get(reverse("hazards:list"), {"overdue": "on"})
    codes = {h.code for h, _badge in response.context["rows"]}
    # … but its clock is closed: only open clocks past their due moment count.
    assert codes == {three["overdue"].code, late_triage.code}
    everything = client.get(reverse("hazards:list"))
    assert len(everything.context["rows"]) == 5
    export = client.get(reverse("hazards:export"), {"overdue": "on"}).getvalue().decode()
    assert three["overdue"].code in export
    assert three["soon"].code not in export


def test_a_clock_moved_later_takes_a_hazard_off_the_overdue_list(world, client, three):
    """The deadline row decides, not the hazard's own date (e.g. an extension's new clock)."""
    hazard = three["overdue"]
    Deadline.objects.filter(subject_id=hazard.pk, open=True).update(
        due_at=timezone.now() + timedelta(days=5)
    )
    client.force_login(world.head)
    response = client.get(reverse("hazards:list"), {"overdue": "on"})
    assert [h.code for h, _badge in response.context["rows"]] == []


# --- query counts --------------------------------------------------------------------------------


def _grow(world: Any, hazards: list[Hazard], size: int) -> None:
    """Reported hazards (triage clocks) up to ``size``; every third overdue, every third due soon."""
    while len(hazards) < size:
        n = len(hazards)
        hazard = report(world, f"隐患{n}")
        if n % 3 == 1:
            Deadline.objects.filter(subject_id=hazard.pk).update(
                due_at=timezone.now() - timedelta(days=n % 5 + 1)
            )
        elif n % 3 == 2:
            Deadline.objects.filter(subject_id=hazard.pk).update(
                due_at=timezone.now() + timedelta(days=1)
            )
        hazards.append(hazard)


def test_ledger_and_queue_query_counts_are_constant_for_1_and_20_hazards(world, client):
    hazards: list[Hazard] = []
    measured: dict[str, list[int]] = {"ledger": [], "queue": [], "overdue": []}
    client.force_login(world.head)
    # The session's first writes (login touch; the queue's "back" location, kept while unchanged).
    client.get(reverse("hazards:list"))
    client.get(reverse(QUEUE))
    for size in (1, 20):
        _grow(world, hazards, size)
        for name, url in (
            ("ledger", reverse("hazards:list")),
            ("queue", reverse(QUEUE)),
            ("overdue", reverse("hazards:list") + "?overdue=on"),
        ):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200
            measured[name].append(len(captured))
    html = client.get(reverse(QUEUE)).content.decode()
    assert 'data-clock="overdue"' in html
    assert 'data-clock="due-soon"' in html
    for name, counts in measured.items():
        assert counts[0] == counts[1], (name, counts)


# --- the timeline --------------------------------------------------------------------------------


def test_the_timeline_shows_reminders_and_escalations_with_their_messages(world, client):
    hazard = rectifying(world, "提醒隐患", in_days=10)
    deadline = clock(hazard, "rectify")
    actions = action_times(deadline.policy, deadline.due_at)
    reminder = next(a for a in actions if a.kind == REMINDER)
    rung = next(a for a in actions if a.kind == RUNG)
    for action in (reminder, rung):
        moment = action.at + timedelta(minutes=1)
        with time_machine.travel(moment, tick=False):
            assert deadlines_sweep(now=moment).fired >= 1
    events = {e.action: e for e in Event.objects.filter(hazard=hazard)}
    assert {"reminder", "escalation"} <= events.keys()
    client.force_login(world.head)
    html = client.get(reverse("hazards:detail", args=[hazard.pk])).content.decode()
    timeline = segment(html, 'id="timeline"', "</section>")
    for action in ("reminder", "escalation"):
        item = segment(timeline, f'sc-timeline__item--{action}" data-action="{action}"', "</li>")
        with translation.override("zh-hans"):
            assert str(views.EVENT_ACTIONS[action]) in item
        assert events[action].comment  # the message title …
        assert events[action].comment in item  # … is shown
        assert "→" not in item  # no stage transition for a clock event
    assert "sc-timeline__item--escalation" in timeline


# --- the demo ------------------------------------------------------------------------------------


def _demo(key: str) -> Hazard:
    scenario = next(s for s in demo.SCENARIOS if s.key == key)
    return Hazard.objects.get(title=scenario.title)


def test_the_demo_chases_its_near_due_and_overdue_hazards_at_the_first_sweep(
    db, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("demo_data", stdout=StringIO())
    now = timezone.now()
    overdue = [
        _demo(s.key) for s in demo.SCENARIOS if any(isinstance(x, demo.Backdate) for x in s.steps)
    ]
    near = [_demo(key) for key in demo.NEAR_DUE]
    assert len(overdue) >= 2
    assert len(near) >= 1
    for hazard in overdue:
        row = clock(hazard, "rectify")
        assert row.due_at == end_of_day(hazard.deadline_on) < now
        assert row.next_action_at <= now, hazard.code
    for hazard in near:
        assert hazard.stage == demo.NEAR_DUE[next(k for k in demo.NEAR_DUE if _demo(k) == hazard)]
        row = clock(hazard, CLOCKED[hazard.stage])
        assert now < row.due_at <= now + timedelta(days=2), hazard.code
        assert row.next_action_at <= now, hazard.code
        assert hazard_clock_badge(_annotated(hazard)).state == "due-soon"

    before = list(
        Deadline.objects.order_by("pk").values_list("pk", "due_at", "next_action_at", "step")
    )
    call_command("demo_data", stdout=StringIO())  # loading again moves no clock
    assert (
        list(Deadline.objects.order_by("pk").values_list("pk", "due_at", "next_action_at", "step"))
        == before
    )

    result = deadlines_sweep(now=timezone.now())
    assert result.fired >= len(overdue) + len(near)
    inbox = Notification.objects.filter(subject_type=SUBJECT)
    # The verification the county energy bureau's head claimed: he is reminded.
    d13 = _demo("D13")
    assert inbox.filter(recipient__username="hd_nyj_head", subject_id=d13.pk).exists()
    assert Event.objects.filter(hazard=d13, action="reminder").exists()
    # The plan the coal mine owes: its people are reminded, nobody else.
    d04 = _demo("D04")
    told = set(inbox.filter(subject_id=d04.pk).values_list("recipient__username", flat=True))
    assert told
    assert told <= {"qy_principal", "qy_deputy", "qy_safety", "qy_worker"}
    # Overdue rectifications: the ladder's chase reaches the enterprise's principal.
    for hazard in overdue:
        assert Event.objects.filter(hazard=hazard, action="escalation").exists(), hazard.code
        principal = hazard.enterprise.principal
        assert inbox.filter(recipient=principal, subject_id=hazard.pk).exists(), hazard.code
    # A second sweep, or a second load and sweep, tells nobody anything twice.
    count = inbox.count()
    deadlines_sweep(now=timezone.now())
    call_command("demo_data", stdout=StringIO())
    deadlines_sweep(now=timezone.now())
    assert inbox.count() == count


def _annotated(hazard: Hazard) -> Hazard:
    from workflows.hazards.selectors import with_deadline_clock

    return with_deadline_clock(Hazard.objects.filter(pk=hazard.pk)).get()
