"""viewflow's queue, inbox, archive and process pages of HazardFlow: scoped, claimable, flat in queries."""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, get_resolver, reverse
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import STATUS

from workflows.hazards import services
from workflows.hazards.flows import HazardFlow
from workflows.hazards.middleware import FlowLockMiddleware, wants_json
from workflows.hazards.models import HazardTask
from workflows.hazards.selectors import active_task

from .personas import photo

QUEUE, INBOX, ARCHIVE = "hazard:queue", "hazard:inbox", "hazard:archive"
PROCESSES, TASKS, DASHBOARD = "hazard:process_list", "hazard:task_list", "hazard:index"


@pytest.fixture(autouse=True)
def _urlconf_loaded() -> None:
    """Node URLs (``flow_task.reverse``) exist only once the urlconf was imported (VIEWFLOW.md #10)."""
    get_resolver().url_patterns  # noqa: B018


def report_a(world, *, reporter=None, title="储罐区可燃气体报警器失效"):
    """A general hazard of enterprise A, queued for triage at the county emergency bureau."""
    return services.hazard_report(
        reporter=reporter or world.inspector,
        enterprise=world.enterprise,
        title=title,
        description="2号储罐区可燃气体报警器未通电。",
        location="2号储罐区",
        source="tip_off",
    )


def report_b(world):
    """A hazard of enterprise B (another county, another tenant)."""
    return services.hazard_report(
        reporter=world.other_staff,
        enterprise=world.other_enterprise,
        title="乙厂隐患",
        description="d",
        location="l",
        source="routine",
        before_photos=[photo()],
    )


def triage_task(hazard) -> HazardTask:
    return active_task(hazard=hazard, node_name="triage")


def node_url(task, action: str) -> str:
    return task.flow_task.reverse(action, args=[task.process_id, task.pk])


def ids(response, attr: str = "data-task") -> set[int]:
    assert response.status_code == 200, response.status_code
    return {int(pk) for pk in re.findall(rf'{attr}="(\d+)"', response.content.decode())}


def page(client, user, name: str, attr: str = "data-task") -> set[int]:
    client.force_login(user)
    return ids(client.get(reverse(name)), attr)


# --- who sees the triage task --------------------------------------------------------------------


def test_the_lead_departments_staff_see_the_triage_task_in_their_queue(world, client):
    hazard = report_a(world)
    task = triage_task(hazard)
    for user in (world.inspector, world.colleague, world.head):
        assert page(client, user, QUEUE) == {task.pk}, user
    for user in (
        world.market_staff,
        world.committee,
        world.city_staff,
        world.other_staff,
        world.principal,
        world.safety_manager,
        world.employee_b,
        world.principal_b,
        world.outsider,
    ):
        assert page(client, user, QUEUE) == set(), user


def test_the_menu_counters_count_only_the_users_scoped_tasks(world, client):
    report_a(world)
    report_a(world)
    report_b(world)
    client.force_login(world.inspector)
    response = client.get(reverse(QUEUE))
    assert response.context["user_queue"].count() == 2
    assert response.context["user_inbox"].count() == 0
    client.force_login(world.other_staff)
    assert client.get(reverse(QUEUE)).context["user_queue"].count() == 1


def test_an_unfiltered_queue_page_takes_its_count_from_the_menu_counter(world, client, monkeypatch):
    """One aggregate serves the menu and the pager: no second COUNT over the task table, and the
    pages still add up; a filtered page counts its own rows."""
    from workflows.hazards import viewsets

    monkeypatch.setattr(viewsets._HazardTaskListView, "paginate_by", 2)
    for n in range(5):
        report_a(world, title=f"第{n}个")
    client.force_login(world.inspector)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(QUEUE))
    assert response.context["paginator"].count == 5
    assert response.context["paginator"].num_pages == 3
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"] and "viewflow_task" in q["sql"]]
    assert len(counts) == 1, counts  # the menu's aggregate, nothing else
    assert len(ids(client.get(reverse(QUEUE), {"page": 3}))) == 1
    filtered = client.get(reverse(QUEUE), {"_search": "第1个"})
    assert filtered.context["paginator"].count == 1
    assert filtered.context["user_queue"].count() == 5


# --- claim, release, double claim ----------------------------------------------------------------


def test_claim_moves_the_task_to_the_inbox_and_release_puts_it_back(world, client):
    task = triage_task(report_a(world))
    client.force_login(world.inspector)
    response = client.post(node_url(task, "assign"))
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.owner, task.status) == (world.inspector, STATUS.ASSIGNED)
    assert page(client, world.inspector, INBOX) == {task.pk}
    assert page(client, world.inspector, QUEUE) == set()
    assert page(client, world.colleague, QUEUE) == set()

    client.force_login(world.inspector)
    assert client.post(node_url(task, "unassign")).status_code == 302
    task.refresh_from_db()
    assert (task.owner, task.status) == (None, STATUS.NEW)
    assert page(client, world.inspector, INBOX) == set()
    assert page(client, world.colleague, QUEUE) == {task.pk}


def test_two_users_claim_the_same_task_through_the_services_and_one_wins(world):
    task = triage_task(report_a(world))
    services.task_claim(task=task, user=world.inspector)
    with pytest.raises(services.HazardStateError):
        services.task_claim(task=HazardTask.objects.get(pk=task.pk), user=world.colleague)
    task.refresh_from_db()
    assert task.owner == world.inspector
    assert HazardTask.objects.filter(process_id=task.process_id, owner__isnull=False).count() == 1


def test_two_users_claim_the_same_task_over_http_and_the_second_gets_a_conflict(world, client):
    task = triage_task(report_a(world))
    client.force_login(world.inspector)
    assert client.post(node_url(task, "assign")).status_code == 302
    client.force_login(world.colleague)
    response = client.post(node_url(task, "assign"))
    assert response.status_code == 409
    task.refresh_from_db()
    assert task.owner == world.inspector
    assert page(client, world.colleague, INBOX) == set()


def test_a_user_outside_the_department_cannot_claim_a_task_they_may_see(world, client):
    task = triage_task(report_a(world))
    client.force_login(world.market_staff)  # cooperating department: sees the hazard, no queue
    assert client.get(node_url(task, "detail")).status_code == 200
    assert client.post(node_url(task, "assign")).status_code == 403
    task.refresh_from_db()
    assert task.owner is None


def test_managing_tasks_is_refused_to_everyone_in_scope(world, client):
    task = triage_task(report_a(world))
    client.force_login(world.head)
    assert client.post(node_url(task, "cancel")).status_code == 403
    task.refresh_from_db()
    assert task.status == STATUS.NEW
    with pytest.raises(NoReverseMatch):
        reverse("hazard:process_cancel", args=[task.process_id])


# --- bulk claim and release ----------------------------------------------------------------------


def test_bulk_claim_takes_only_the_users_own_queue(world, client):
    first, second = triage_task(report_a(world)), triage_task(report_a(world))
    foreign = triage_task(report_b(world))
    client.force_login(world.inspector)
    response = client.post(
        reverse("hazard:tasks_assign"),
        {"pk": [first.pk, second.pk, foreign.pk, "x; drop"], "_confirm": "1"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(INBOX)
    assert set(HazardTask.objects.filter(owner=world.inspector).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    foreign.refresh_from_db()
    assert foreign.owner is None


def test_bulk_claim_skips_a_task_a_colleague_took_meanwhile(world, client):
    first, second = triage_task(report_a(world)), triage_task(report_a(world))
    client.force_login(world.inspector)
    confirm = client.post(reverse("hazard:tasks_assign"), {"pk": [first.pk, second.pk]})
    assert confirm.status_code == 200  # the confirmation page lists both
    assert ids(confirm, 'name="pk" value') == {first.pk, second.pk}
    services.task_claim(task=first, user=world.colleague)
    response = client.post(
        reverse("hazard:tasks_assign"), {"pk": [first.pk, second.pk], "_confirm": "1"}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.owner, second.owner) == (world.colleague, world.inspector)


def test_bulk_release_releases_only_the_users_own_inbox(world, client):
    mine, theirs = triage_task(report_a(world)), triage_task(report_a(world))
    services.task_claim(task=mine, user=world.inspector)
    services.task_claim(task=theirs, user=world.colleague)
    client.force_login(world.inspector)
    response = client.post(
        reverse("hazard:tasks_unassign"), {"pk": [mine.pk, theirs.pk], "_confirm": "1"}
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.owner, mine.status) == (None, STATUS.NEW)
    assert theirs.owner == world.colleague


# --- the head assigns --------------------------------------------------------------------------


def assign_to_url(task) -> str:
    return reverse("hazard:task_assign_to", args=[task.process_id, task.pk])


def test_the_head_assigns_a_queued_task_to_a_named_staff_member(world, client):
    task = triage_task(report_a(world))
    client.force_login(world.head)
    form = client.get(assign_to_url(task))
    assert form.status_code == 200
    choices = {user.pk for user in form.context["form"].fields["assignee"].queryset}
    assert choices == {world.inspector.pk, world.colleague.pk, world.head.pk}
    assert assign_to_url(task) in client.get(reverse(QUEUE)).content.decode()

    response = client.post(assign_to_url(task), {"assignee": world.colleague.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse(QUEUE)
    task.refresh_from_db()
    assert (task.owner, task.status) == (world.colleague, STATUS.ASSIGNED)
    assert page(client, world.colleague, INBOX) == {task.pk}


def test_the_head_cannot_assign_to_someone_outside_the_department(world, client):
    task = triage_task(report_a(world))
    client.force_login(world.head)
    response = client.post(assign_to_url(task), {"assignee": world.market_staff.pk})
    assert response.status_code == 200
    assert "assignee" in response.context["form"].errors
    task.refresh_from_db()
    assert task.owner is None


def test_a_taken_task_cannot_be_assigned(world, client):
    task = triage_task(report_a(world))
    services.task_claim(task=task, user=world.inspector)
    client.force_login(world.head)
    assert client.post(assign_to_url(task), {"assignee": world.colleague.pk}).status_code == 409
    task.refresh_from_db()
    assert task.owner == world.inspector


def test_only_the_head_of_the_tasks_department_may_assign(world, client):
    task = triage_task(report_a(world))
    for user, status in (
        (world.inspector, 403),
        (world.market_staff, 403),
        (world.committee, 403),
        (world.city_head, 404),
        (world.other_staff, 404),
        (world.outsider, 404),
    ):
        client.force_login(user)
        assert client.get(assign_to_url(task)).status_code == status, user
        post = client.post(assign_to_url(task), {"assignee": world.inspector.pk})
        assert post.status_code == status, user
        assert assign_to_url(task) not in client.get(reverse(QUEUE)).content.decode()
    task.refresh_from_db()
    assert task.owner is None


def test_the_service_refuses_a_non_head(world):
    task = triage_task(report_a(world))
    with pytest.raises(PermissionDenied):
        services.task_assign(task=task, assignee=world.colleague, by=world.inspector)


# --- outsiders get 404 -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["other_staff", "employee_b", "principal_b", "outsider"])
def test_an_outsider_gets_404_on_every_task_and_process_url(world, client, persona):
    hazard = report_a(world)
    task = triage_task(hazard)
    urls = [
        node_url(task, action)
        for action in (
            "index",
            "detail",
            "execute",
            "assign",
            "unassign",
            "cancel",
            "undo",
            "revive",
        )
    ]
    urls += [
        reverse("hazard:process_detail", args=[hazard.process_id]),
        reverse("hazard:process_chart", args=[hazard.process_id]),
        assign_to_url(task),
    ]
    client.force_login(getattr(world, persona))
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
    task.refresh_from_db()
    assert (task.owner, task.status) == (None, STATUS.NEW)


def test_a_task_id_must_belong_to_the_process_in_the_url(world, client):
    mine = triage_task(report_a(world))
    foreign = triage_task(report_b(world))
    client.force_login(world.inspector)
    spliced = HazardFlow.triage.reverse("assign", args=[mine.process_id, foreign.pk])
    assert client.post(spliced).status_code == 404
    foreign.refresh_from_db()
    assert foreign.owner is None


def test_in_scope_users_see_the_process_page_and_the_task_detail(world, client):
    hazard = report_a(world)
    task = triage_task(hazard)
    for user in (world.inspector, world.market_staff, world.committee, world.principal):
        client.force_login(user)
        assert ids(client.get(reverse("hazard:process_detail", args=[hazard.process_id]))) >= {
            task.pk
        }
        assert client.get(node_url(task, "detail")).status_code == 200, user
        chart = client.get(reverse("hazard:process_chart", args=[hazard.process_id]))
        assert chart.status_code == 200
        assert chart["Content-Type"] == "image/svg+xml"


# --- every list page, every persona ----------------------------------------------------------------


def test_every_list_shows_only_items_in_the_users_scope(world, client):
    a1, a2, b = report_a(world), report_a(world), report_b(world)
    services.hazard_triage(hazard=a1, user=world.inspector, grade="general")
    services.task_claim(task=triage_task(a2), user=world.colleague)
    services.task_claim(task=triage_task(b), user=world.other_staff)
    a1_rectify = active_task(hazard=a1, node_name="rectify")
    a1_tasks = set(HazardTask.objects.filter(process_id=a1.process_id).values_list("pk", flat=True))
    a2_tasks = set(HazardTask.objects.filter(process_id=a2.process_id).values_list("pk", flat=True))
    b_tasks = set(HazardTask.objects.filter(process_id=b.process_id).values_list("pk", flat=True))
    a_processes, b_processes = {a1.process_id, a2.process_id}, {b.process_id}
    a1_triage = HazardTask.objects.get(process_id=a1.process_id, flow_task=HazardFlow.triage)

    expected = {
        # persona: (queue, inbox, archive, processes)
        "inspector": (set(), set(), {a1_triage.pk}, a_processes),
        "colleague": (set(), {triage_task(a2).pk}, set(), a_processes),
        "head": (set(), set(), set(), a_processes),
        "market_staff": (set(), set(), set(), a_processes),
        "committee": (set(), set(), set(), a_processes),
        "principal": ({a1_rectify.pk}, set(), set(), a_processes),
        "safety_manager": ({a1_rectify.pk}, set(), set(), a_processes),
        "other_staff": (set(), {triage_task(b).pk}, set(), b_processes),
        "employee_b": (set(), set(), set(), b_processes),
        "principal_b": (set(), set(), set(), b_processes),
        "outsider": (set(), set(), set(), set()),
    }
    for name, (queue, inbox, archive, processes) in expected.items():
        user = getattr(world, name)
        assert page(client, user, QUEUE) == queue, name
        assert page(client, user, INBOX) == inbox, name
        assert page(client, user, ARCHIVE) == archive, name
        assert page(client, user, PROCESSES, "data-process") == processes, name
        in_scope = (a1_tasks | a2_tasks if processes == a_processes else set()) | (
            b_tasks if processes == b_processes else set()
        )
        assert page(client, user, TASKS) == in_scope, name
        assert page(client, user, DASHBOARD) <= in_scope, name


def test_the_dashboard_shows_open_tasks_of_the_scope_per_step(world, client):
    a, b = report_a(world), report_b(world)
    client.force_login(world.colleague)
    response = client.get(reverse(DASHBOARD))
    assert ids(response) == {triage_task(a).pk}
    triage_column = next(c for c in response.context["columns"] if c["node"].name == "triage")
    assert triage_column["count"] == 1
    assert triage_task(b).pk not in ids(response)


def test_lists_are_newest_first(world, client):
    first, second, third = (triage_task(report_a(world, title=f"第{i}个")) for i in range(3))
    client.force_login(world.inspector)
    body = client.get(reverse(QUEUE)).content.decode()
    order = [int(pk) for pk in re.findall(r'data-task="(\d+)"', body)]
    assert order == [third.pk, second.pk, first.pk]


def test_search_and_filters_do_not_break_on_odd_input(world, client):
    hazard = report_a(world)
    client.force_login(world.inspector)
    found = client.get(reverse(QUEUE), {"_search": hazard.code})
    assert ids(found) == {triage_task(hazard).pk}
    assert ids(client.get(reverse(QUEUE), {"_search": "不存在"})) == set()
    for params in ({"flow_task": "nonsense"}, {"created": "zzz"}, {"page": "abc"}, {"page": "999"}):
        assert client.get(reverse(QUEUE), params).status_code in (200, 404), params


# --- queries do not grow with the rows -------------------------------------------------------------


QUERY_CEILING = 30


def count_queries(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), len(ids(response, "data-task") | ids(response, "data-process"))


def test_queue_inbox_and_process_list_cost_the_same_for_1_20_and_100_hazards(world, client):
    measured: dict[str, list[int]] = {
        "queue": [],
        "inbox": [],
        "processes": [],
        "tasks": [],
        "dashboard": [],
    }
    hazards = 0
    for size in (1, 20, 100):
        while hazards < size:
            report_a(world)
            hazards += 1
        client.force_login(world.head)
        for name, url in (
            ("queue", QUEUE),
            ("processes", PROCESSES),
            ("tasks", TASKS),
            ("dashboard", DASHBOARD),
        ):
            queries, rows = count_queries(client, reverse(url))
            assert rows == min(
                size * (3 if name == "tasks" else 1), 25 if name != "dashboard" else 10
            )
            measured[name].append(queries)
        tasks = list(HazardTask.objects.filter(status=STATUS.NEW, flow_task=HazardFlow.triage))
        for task in tasks:
            services.task_claim(task=task, user=world.colleague)
        client.force_login(world.colleague)
        queries, rows = count_queries(client, reverse(INBOX))
        assert rows == min(size, 25)
        measured["inbox"].append(queries)
        for task in tasks:
            services.task_release(task=HazardTask.objects.get(pk=task.pk), user=world.colleague)
    for name, counts in measured.items():
        assert len(set(counts)) == 1, (name, counts)
        assert counts[0] <= QUERY_CEILING, (name, counts)


# --- conflicts become 409 ---------------------------------------------------------------------------


def test_a_lock_failure_becomes_a_friendly_409_page_and_json(world, client, monkeypatch):
    task = triage_task(report_a(world))

    def locked(**kwargs):
        raise FlowLockFailed("Lock failed")

    monkeypatch.setattr(services, "task_assign", locked)
    client.force_login(world.head)
    page_response = client.post(
        assign_to_url(task),
        {"assignee": world.colleague.pk},
        HTTP_REFERER="http://testserver/hazard/queue/",
    )
    assert page_response.status_code == 409
    assert page_response["Content-Type"].startswith("text/html")
    assert page_response.templates[0].name == "hazards/conflict.html"
    assert 'href="http://testserver/hazard/queue/"' in page_response.content.decode()

    json_response = client.post(
        assign_to_url(task), {"assignee": world.colleague.pk}, HTTP_ACCEPT="application/json"
    )
    assert json_response.status_code == 409
    body = json.loads(json_response.content)
    assert body["type"] == "conflict"
    assert body["title"]
    assert body["detail"]
    task.refresh_from_db()
    assert task.owner is None


def test_the_middleware_answers_conflicts_only():
    factory = RequestFactory()
    middleware = FlowLockMiddleware(lambda request: HttpResponse())
    api = factory.post("/api/hazards/1/triage/")
    response = middleware.process_exception(api, services.HazardStateError("already done"))
    assert response.status_code == 409
    assert json.loads(response.content) == {
        "type": "conflict",
        "title": json.loads(response.content)["title"],
        "detail": "already done",
    }
    assert middleware.process_exception(api, FlowLockFailed()).status_code == 409
    assert middleware.process_exception(api, ValueError("bug")) is None
    assert middleware.process_exception(api, PermissionDenied()) is None
    html = factory.get("/hazard/", HTTP_ACCEPT="text/html,application/json;q=0.9")
    assert not wants_json(html)
    assert wants_json(factory.get("/hazard/", HTTP_ACCEPT="application/json"))
    assert not wants_json(factory.get("/hazard/", HTTP_ACCEPT="*/*"))


# --- the deferred join -------------------------------------------------------------------------------


def test_the_deferred_join_pages_hold_the_same_rows_in_the_same_order_as_a_plain_paginator(world):
    from django.core.paginator import Paginator

    from workflows.hazards.pagination import DeferredJoinPaginator
    from workflows.hazards.viewsets import queue_tasks, with_task_clock

    for n in range(7):
        report_a(world, title=f"第{n}个")
    tasks = with_task_clock(queue_tasks(world.inspector))
    plain, deferred = Paginator(tasks, 3), DeferredJoinPaginator(tasks, 3)
    assert deferred.num_pages == plain.num_pages == 3
    for number in (1, 2, 3):
        expected = list(plain.page(number))
        with CaptureQueriesContext(connection) as captured:
            got = list(deferred.page(number))
        assert [t.pk for t in got] == [t.pk for t in expected]
        assert [t.clock_due_at for t in got] == [t.clock_due_at for t in expected]
        assert [t.process.hazard.code for t in got] == [t.process.hazard.code for t in expected]
        ids_query, rows_query = (q["sql"] for q in captured.captured_queries)
        assert "accounts_enterprise" not in ids_query  # the page's ids: no joins for display
        assert "accounts_enterprise" in rows_query  # its rows: with their relations


# --- the queue backend is the one authority on queue permissions ------------------------------------


def test_a_permission_row_in_djangos_tables_cannot_open_a_queue(world):
    """Queue strings come from memberships only: a stray Permission row named like one is not
    consulted, and refusing costs no query of Django's permission tables."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from workflows.hazards.models import HazardProcess
    from workflows.hazards.permissions import dept_perm

    perm = dept_perm(world.emergency.pk)
    _app, codename = perm.split(".")
    row = Permission.objects.create(
        codename=codename,
        name="stray",
        content_type=ContentType.objects.get_for_model(HazardProcess, for_concrete_model=False),
    )
    world.market_staff.user_permissions.add(row)
    outsider = type(world.market_staff).objects.get(pk=world.market_staff.pk)
    with CaptureQueriesContext(connection) as captured:
        assert outsider.has_perm(perm) is False
    assert not any("auth_permission" in q["sql"] for q in captured.captured_queries)
    inspector = type(world.inspector).objects.get(pk=world.inspector.pk)
    assert inspector.has_perm(perm) is True
    # Other permissions still go to Django's model backend.
    assert outsider.has_perm("hazards.view_hazardprocess") is False
